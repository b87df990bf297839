"""foundation: groups, subscriptions, push log, link cache, league tokens, request log

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "groups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("room_id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("owner_id", sa.String(128), nullable=False),
        sa.Column("channels_sharer_appid", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_groups_room_id", "groups", ["room_id"], unique=True)

    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("group_id", sa.Integer(), sa.ForeignKey("groups.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at_time", sa.String(5), nullable=False),
        sa.Column("categories", sa.String(1024), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("group_id", "kind", name="uq_subscription_group_kind"),
    )
    op.create_index("ix_subscriptions_group_id", "subscriptions", ["group_id"])

    op.create_table(
        "push_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("group_id", sa.Integer(), sa.ForeignKey("groups.id"), nullable=False),
        sa.Column("slot", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("claimed_by", sa.String(128), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.String(2048), nullable=False),
        sa.Column("product_ids", sa.String(2048), nullable=False),
        sa.UniqueConstraint("group_id", "slot", name="uq_push_group_slot"),
    )
    op.create_index("ix_push_log_group_id", "push_log", ["group_id"])
    op.create_index("ix_push_log_status", "push_log", ["status"])

    op.create_table(
        "link_cache",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("league", sa.String(32), nullable=False),
        sa.Column("product_id", sa.String(64), nullable=False),
        sa.Column("spot", sa.String(128), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("league", "product_id", "spot", name="uq_link_league_product_spot"),
    )
    op.create_index("ix_link_cache_expires_at", "link_cache", ["expires_at"])

    op.create_table(
        "league_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("league", sa.String(32), nullable=False),
        sa.Column("appid", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("token", sa.String(1024), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("league", "appid", "mode", name="uq_token_league_appid_mode"),
    )

    op.create_table(
        "request_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("chat_id", sa.String(128), nullable=False),
        sa.Column("sender_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("query", sa.String(512), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("product_id", sa.String(64), nullable=False),
        sa.Column("league_calls", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
    )
    op.create_index("ix_request_log_at", "request_log", ["at"])
    op.create_index("ix_request_log_chat_id", "request_log", ["chat_id"])


def downgrade() -> None:
    for table in ("request_log", "league_tokens", "link_cache", "push_log", "subscriptions", "groups"):
        op.drop_table(table)
