"""sharer history: when each group held an owner's Channels 推客, so an order is credited to the group
that held its sharer when it was placed (not to whoever holds it when the order syncs, nor to nobody
after 解绑推客)

Groups holding a sharer today get a binding open since 2000-01-01: their past orders stay theirs, as
they were credited before this table existed.

Revision ID: 0013_sharer_history
Revises: 0012_one_group_per_sharer
Create Date: 2026-11-30
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0013_sharer_history"
down_revision = "0012_one_group_per_sharer"
branch_labels = None
depends_on = None

SINCE_EVER = datetime(2000, 1, 1, tzinfo=UTC)


def upgrade() -> None:
    op.create_table(
        "sharer_bindings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sharer_appid", sa.String(64), nullable=False),
        sa.Column("group_id", sa.Integer(), sa.ForeignKey("groups.id"), nullable=False),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unbound_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_sharer_bindings_sharer_appid", "sharer_bindings", ["sharer_appid"])
    op.create_index("ix_sharer_bindings_group_id", "sharer_bindings", ["group_id"])
    op.get_bind().execute(
        sa.text(
            "INSERT INTO sharer_bindings (sharer_appid, group_id, bound_at)"
            " SELECT channels_sharer_appid, id, :since FROM groups WHERE channels_sharer_appid <> ''"
        ).bindparams(sa.bindparam("since", type_=sa.DateTime(timezone=True))),
        {"since": SINCE_EVER},
    )


def downgrade() -> None:
    op.drop_index("ix_sharer_bindings_group_id", table_name="sharer_bindings")
    op.drop_index("ix_sharer_bindings_sharer_appid", table_name="sharer_bindings")
    op.drop_table("sharer_bindings")
