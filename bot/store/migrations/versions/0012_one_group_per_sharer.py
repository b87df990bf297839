"""one group per 推客: a bound Channels sharer appid is unique among the groups (a partial unique index
over the non-empty values; '' is the operator's default sharer, which any number of groups use)

Orders are attributed to a group by their sharer, so two groups holding one sharer would have their
orders credited to one owner. Until now only the code checked it, and two requests at once could both
pass the check; the index makes the database refuse the second.

Existing duplicates are resolved first, so that upgrading a real database never fails: of the groups
holding one sharer, the one whose row was updated most recently keeps it (binding a sharer updates the
row, so that is the owner's latest binding; on a tie, the newer group, the higher id); the others go back
to the operator's default sharer ('') and their `updated_at` is set to now. Their owners may bind another
sharer of their own. Only the number of groups changed is logged, never a sharer or a group.

Revision ID: 0012_one_group_per_sharer
Revises: 0011_web
Create Date: 2026-12-01
"""

import logging
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0012_one_group_per_sharer"
down_revision = "0011_web"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)

INDEX = "uq_groups_channels_sharer_appid"
BOUND = "channels_sharer_appid <> ''"

# A group loses its sharer when another group holding the same one was updated later (or at the same
# moment and has the higher id). The row kept is the same whichever order the database visits them in.
_RESOLVE = sa.text(
    "UPDATE groups SET channels_sharer_appid = '', updated_at = :now"
    " WHERE channels_sharer_appid <> '' AND EXISTS ("
    "  SELECT 1 FROM groups AS newer"
    "  WHERE newer.channels_sharer_appid = groups.channels_sharer_appid"
    "   AND (newer.updated_at > groups.updated_at"
    "    OR (newer.updated_at = groups.updated_at AND newer.id > groups.id)))"
).bindparams(sa.bindparam("now", type_=sa.DateTime(timezone=True)))


def upgrade() -> None:
    reset = op.get_bind().execute(_RESOLVE, {"now": datetime.now(UTC)}).rowcount
    if reset:
        log.warning("%d group(s) shared a 推客 with another group and went back to the default sharer", reset)
    op.create_index(
        INDEX,
        "groups",
        ["channels_sharer_appid"],
        unique=True,
        sqlite_where=sa.text(BOUND),
        postgresql_where=sa.text(BOUND),
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="groups")
