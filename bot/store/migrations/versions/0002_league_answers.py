"""league answers: product and coupon details kept across restarts

Revision ID: 0002_league_answers
Revises: 0006_accounts
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_league_answers"
down_revision = "0006_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "league_answers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("league", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("league", "kind", "key", name="uq_league_answer"),
    )
    op.create_index("ix_league_answers_expires_at", "league_answers", ["expires_at"])


def downgrade() -> None:
    op.drop_table("league_answers")
