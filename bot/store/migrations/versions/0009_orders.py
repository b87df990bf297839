"""orders: synced league orders (one row per league order line), their status history, sync cursors,
the lock that lets one process sync, and the member rebate ledger (bindings, append-only entries)

Revision ID: 0009_orders
Revises: 0002_league_answers
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_orders"
down_revision = "0002_league_answers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("league", sa.String(32), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("sku_id", sa.String(64), nullable=False),
        sa.Column("product_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(256), nullable=False),
        sa.Column("paid_fen", sa.BigInteger(), nullable=False),
        sa.Column("commission_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pid", sa.String(128), nullable=False),
        sa.Column("tag", sa.String(128), nullable=False),
        sa.Column("sharer_appid", sa.String(64), nullable=False),
        sa.Column("group_id", sa.Integer(), sa.ForeignKey("groups.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("league", "order_id", "sku_id", name="uq_order_league_order_sku"),
    )
    op.create_index("ix_orders_group_id", "orders", ["group_id"])
    op.create_index("ix_orders_created_at", "orders", ["created_at"])
    op.create_table(
        "order_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_row_id", sa.Integer(), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("paid_fen", sa.BigInteger(), nullable=False),
        sa.Column("commission_fen", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_order_events_order_row_id", "order_events", ["order_row_id"])
    op.create_table(
        "sync_cursors",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("league", sa.String(32), nullable=False),
        sa.Column("cursor", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("league", name="uq_sync_cursor_league"),
    )
    op.create_table(
        "job_locks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("name", name="uq_job_lock_name"),
    )
    op.create_table(
        "rebate_bindings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("league", sa.String(32), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("member_id", sa.String(128), nullable=False),
        sa.Column("share_percent", sa.Integer(), nullable=False),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("league", "order_id", name="uq_rebate_binding_order"),
    )
    op.create_index("ix_rebate_bindings_member_id", "rebate_bindings", ["member_id"])
    op.create_table(
        "rebate_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("member_id", sa.String(128), nullable=False),
        sa.Column("binding_id", sa.Integer(), sa.ForeignKey("rebate_bindings.id"), nullable=True),
        sa.Column("withdrawal_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("bucket", sa.String(16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_rebate_entries_member_id", "rebate_entries", ["member_id"])
    op.create_index("ix_rebate_entries_binding_id", "rebate_entries", ["binding_id"])


def downgrade() -> None:
    op.drop_index("ix_rebate_entries_binding_id", "rebate_entries")
    op.drop_index("ix_rebate_entries_member_id", "rebate_entries")
    op.drop_table("rebate_entries")
    op.drop_index("ix_rebate_bindings_member_id", "rebate_bindings")
    op.drop_table("rebate_bindings")
    op.drop_table("job_locks")
    op.drop_table("sync_cursors")
    op.drop_index("ix_order_events_order_row_id", "order_events")
    op.drop_table("order_events")
    op.drop_index("ix_orders_created_at", "orders")
    op.drop_index("ix_orders_group_id", "orders")
    op.drop_table("orders")
