"""线报 forwarding: the forward log (one row per source message and what became of it) and the dedupe
memory (a product's key → when it was first forwarded, from which message)

Revision ID: 0016_forward
Revises: 0018_replica_state
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_forward"
down_revision = "0018_replica_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "forward_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account", sa.String(128), nullable=False),
        sa.Column("source_room", sa.String(128), nullable=False),
        sa.Column("source_name", sa.String(256), nullable=False),
        sa.Column("sender_id", sa.String(128), nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("excerpt", sa.String(120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(512), nullable=False),
        sa.Column("groups", sa.Integer(), nullable=False),
        sa.Column("keys", sa.String(1024), nullable=False),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_forward_log_account", "forward_log", ["account"])
    op.create_index("ix_forward_log_received_at", "forward_log", ["received_at"])
    op.create_index("ix_forward_log_status", "forward_log", ["status"])
    op.create_index(
        "uq_forward_log_message",
        "forward_log",
        ["account", "source_room", "message_id"],
        unique=True,
        sqlite_where=sa.text("message_id <> ''"),
        postgresql_where=sa.text("message_id <> ''"),
    )
    op.create_table(
        "forward_seen",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("forward_id", sa.Integer(), sa.ForeignKey("forward_log.id"), nullable=False),
        sa.UniqueConstraint("key", name="uq_forward_seen_key"),
    )
    op.create_index("ix_forward_seen_first_at", "forward_seen", ["first_at"])


def downgrade() -> None:
    op.drop_table("forward_seen")
    op.drop_index("uq_forward_log_message", table_name="forward_log")
    op.drop_table("forward_log")
