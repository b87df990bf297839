"""web console state in the database, so that any replica serves the console: sessions (by the hash of
their cookie), wrong-password counts and one-time setup links

Revision ID: 0019_console_sessions
Revises: 0015_owner_name
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0019_console_sessions"
down_revision = "0015_owner_name"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("stamp", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_web_sessions_last_seen", "web_sessions", ["last_seen"])
    op.create_table(
        "web_login_failures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("forgiven", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_web_login_failures_client", "web_login_failures", ["client"])
    op.create_index("ix_web_login_failures_at", "web_login_failures", ["at"])
    op.create_table(
        "web_setup_links",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed", sa.Integer(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("claimed", name="uq_web_setup_link_claimed"),
    )


def downgrade() -> None:
    op.drop_table("web_setup_links")
    op.drop_index("ix_web_login_failures_at", table_name="web_login_failures")
    op.drop_index("ix_web_login_failures_client", table_name="web_login_failures")
    op.drop_table("web_login_failures")
    op.drop_index("ix_web_sessions_last_seen", table_name="web_sessions")
    op.drop_table("web_sessions")
