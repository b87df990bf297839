"""several daily slots per group: a subscription is unique per (group, kind, time), not per kind

Revision ID: 0010_daily_slots
Revises: 0009_orders
Create Date: 2026-11-30
"""

from alembic import op

revision = "0010_daily_slots"
down_revision = "0009_orders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a batch copy on SQLite: nothing refers to subscriptions, so the copy is safe
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_constraint("uq_subscription_group_kind", type_="unique")
        batch.create_unique_constraint("uq_subscription_group_kind_time", ["group_id", "kind", "at_time"])


def downgrade() -> None:
    # several slots of a group cannot fit one row per kind: keep the earliest active one
    op.execute(
        "DELETE FROM subscriptions WHERE id NOT IN ("
        " SELECT MIN(id) FROM subscriptions GROUP BY group_id, kind)"
    )
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_constraint("uq_subscription_group_kind_time", type_="unique")
        batch.create_unique_constraint("uq_subscription_group_kind", ["group_id", "kind"])
