"""replicas of one cluster and the chat accounts' leases (`[cluster] enabled`: several `tuike run` on one
PostgreSQL; every time in them comes from the database's clock)

Revision ID: 0017_cluster
Revises: 0018_replica_state
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_cluster"
down_revision = "0016_forward"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cluster_replicas",
        sa.Column("replica_id", sa.String(64), primary_key=True),
        sa.Column("host", sa.String(256), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("incarnation", sa.String(64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "account_leases",
        sa.Column("account", sa.String(128), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("account_leases")
    op.drop_table("cluster_replicas")
