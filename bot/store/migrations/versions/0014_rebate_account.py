"""rebate bindings remember the chat account the member bound through: their paid-order notice goes out
through it (a member id means nothing on another account's platform). Bindings made before say ''
and are told through the first account that may write first, as before.

Revision ID: 0014_rebate_account
Revises: 0013_sharer_history
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_rebate_account"
down_revision = "0013_sharer_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN (no batch copy), as 0011 adds groups.blocked
    op.add_column("rebate_bindings", sa.Column("account", sa.String(128), nullable=False, server_default=""))


def downgrade() -> None:
    op.drop_column("rebate_bindings", "account")
