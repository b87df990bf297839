"""web console: the operator's password hash, broadcasts (群发) and their target groups, a group's
blocked flag, and covering indexes for the console's sums over orders and requests

Revision ID: 0011_web
Revises: 0010_daily_slots
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_web"
down_revision = "0010_daily_slots"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_auth",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("products", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "broadcast_targets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("broadcast_id", sa.Integer(), sa.ForeignKey("broadcasts.id"), nullable=False),
        sa.Column("group_id", sa.Integer(), sa.ForeignKey("groups.id"), nullable=False),
        sa.UniqueConstraint("broadcast_id", "group_id", name="uq_broadcast_target"),
    )
    op.create_index("ix_broadcast_targets_group_id", "broadcast_targets", ["group_id"])
    # plain ADD COLUMN (no batch copy): other tables refer to groups, and a copy would break them on SQLite
    op.add_column("groups", sa.Column("blocked", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index(
        "ix_orders_dashboard",
        "orders",
        ["created_at", "league", "status", "group_id", "paid_fen", "commission_fen"],
    )
    op.create_index("ix_request_log_at_outcome_chat", "request_log", ["at", "outcome", "chat_id"])


def downgrade() -> None:
    op.drop_index("ix_request_log_at_outcome_chat", table_name="request_log")
    op.drop_index("ix_orders_dashboard", table_name="orders")
    op.drop_column("groups", "blocked")
    op.drop_index("ix_broadcast_targets_group_id", table_name="broadcast_targets")
    op.drop_table("broadcast_targets")
    op.drop_table("broadcasts")
    op.drop_table("web_auth")
