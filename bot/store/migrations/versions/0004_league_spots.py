"""league spots: a group's promotion identity per league (Taobao adzone, PDD PID, JD positionId)

Revision ID: 0004_league_spots
Revises: 0001_foundation
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_league_spots"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "league_spots",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("group_id", sa.Integer(), sa.ForeignKey("groups.id"), nullable=False),
        sa.Column("league", sa.String(32), nullable=False),
        sa.Column("pid", sa.String(128), nullable=False),
        sa.Column("tag", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("group_id", "league", name="uq_league_spot_group_league"),
        sa.UniqueConstraint("league", "pid", "tag", name="uq_league_spot_identity"),
    )
    op.create_index("ix_league_spots_group_id", "league_spots", ["group_id"])


def downgrade() -> None:
    op.drop_table("league_spots")
