"""iLink members' context tokens kept in the store, so a restart or a replica taking the bot over can
still answer them (issue 31)

Revision ID: 0018_replica_state
Revises: 0015_owner_name
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_replica_state"
down_revision = "0019_console_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ilink_contexts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account", sa.String(128), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("account", "user_id", name="uq_ilink_context_user"),
    )
    op.create_index("ix_ilink_contexts_account_received", "ilink_contexts", ["account", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_ilink_contexts_account_received", table_name="ilink_contexts")
    op.drop_table("ilink_contexts")
