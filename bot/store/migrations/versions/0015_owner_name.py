"""groups remember how their owner shows in the group (the console lists names, not wxids); filled as
the owner speaks or a channel lists its groups

Revision ID: 0015_owner_name
Revises: 0014_rebate_account
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_owner_name"
down_revision = "0014_rebate_account"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN (no batch copy): other tables refer to groups, and a copy would break them on SQLite
    op.add_column("groups", sa.Column("owner_name", sa.String(256), nullable=False, server_default=""))


def downgrade() -> None:
    op.drop_column("groups", "owner_name")
