"""accounts own groups: an account column on groups and subscriptions; chat channel state

Revision ID: 0006_accounts
Revises: 0004_league_spots
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_accounts"
down_revision = "0004_league_spots"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # '' = a row from before accounts: served as before until an account hears from the group
    # plain ADD COLUMN (not a batch copy): SQLite cannot drop `groups` while push_log refers to it
    for table in ("groups", "subscriptions"):
        op.add_column(table, sa.Column("account", sa.String(128), nullable=False, server_default=""))
        op.create_index(f"ix_{table}_account", table, ["account"])
    op.create_table(
        "chat_state",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account", sa.String(128), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("account", "key", name="uq_chat_state_account_key"),
    )


def downgrade() -> None:
    op.drop_table("chat_state")
    for table in ("subscriptions", "groups"):
        op.drop_index(f"ix_{table}_account", table)
        op.drop_column(table, "account")
