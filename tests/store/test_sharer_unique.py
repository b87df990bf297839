"""One 推客 (Channels sharer) per group, kept by the database: orders are attributed to a group by their
sharer, so a sharer bound to two groups would credit one owner with the other's orders. Owners binding
the same sharer at the same moment (several requests, several processes) end with one group holding it
and the others told it is taken; upgrading a database that already has such duplicates keeps the sharer
on one group, chosen the same way every time. On SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, event, inspect
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from bot.chat.base import Incoming, Reply, Text
from bot.handlers.sharer import SharerHandler
from bot.leagues.base import Spot
from bot.leagues.wechat.league import ChannelsLeague
from bot.render.engine import Renderer
from bot.services.attribution import GroupSpots
from bot.store import db
from bot.store.groups import ensure_group, find_group, set_sharer
from bot.store.models import Group
from tests.helpers import postgres_schema, race

RACERS = 8
SHARER = "wx3f9a1c2b7d5e8f60"
BEFORE = "0011_web"
INDEX = "uq_groups_channels_sharer_appid"
LONG_AGO = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def _groups(engine: Engine, count: int) -> list[int]:
    ids = []
    for n in range(count):
        group = ensure_group(engine, f"room{n}@chatroom", f"群{n}", owner_id=f"owner{n}")
        assert group.id is not None
        ids.append(group.id)
    return ids


def _holders(engine: Engine, appid: str) -> list[int]:
    with Session(engine) as session:
        found = session.exec(
            select(Group.id).where(Group.channels_sharer_appid == appid).order_by(col(Group.id))
        ).all()
    return [int(i) for i in found if i is not None]


def _other_process(engine: Engine) -> Engine:
    """A second engine on the same database: its own connections, as another bot process has."""
    return db.make_engine(engine.url.render_as_string(hide_password=False))


# -- binding at the same moment --------------------------------------------------------------------------


CHECK = "WHERE groups.channels_sharer_appid ="
"""The statement with which `set_sharer` looks for another group holding the sharer."""


def test_eight_groups_binding_one_sharer_at_once_end_with_one_holder(store: Engine) -> None:
    """Released together, and held at the worst moment: every racer has found the sharer free before
    any of them writes, so the code check lets all eight through and only the database can decide."""
    ids = _groups(store, RACERS)
    checked = threading.Barrier(RACERS)
    local = threading.local()

    def all_checked(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if CHECK in statement and not getattr(local, "waited", False):
            local.waited = True  # the second look after a refused write goes on
            checked.wait(timeout=60)  # a guard against a hang, not a timing assumption

    event.listen(store, "after_cursor_execute", all_checked)
    try:
        results = race(RACERS, lambda n: set_sharer(store, ids[n], SHARER))
    finally:
        event.remove(store, "after_cursor_execute", all_checked)

    assert sorted(r.outcome for r in results) == ["set"] + ["taken"] * (RACERS - 1)
    [winner] = [ids[n] for n, r in enumerate(results) if r.outcome == "set"]
    assert _holders(store, SHARER) == [winner]
    for n, result in enumerate(results):
        assert result.group is not None and result.group.id == ids[n]
        assert result.group.channels_sharer_appid == (SHARER if ids[n] == winner else "")


def test_a_bind_that_passed_the_check_while_another_group_took_the_sharer_is_told_taken(
    store: Engine,
) -> None:
    """The interleaving the code check alone let through: another process binds the sharer to its group
    right after this request found it free. The database refuses the second write."""
    mine, theirs = _groups(store, 2)

    with _BindMeanwhile(store, theirs) as meanwhile:
        done = set_sharer(store, mine, SHARER)

    assert meanwhile.fired
    assert done.outcome == "taken"
    assert done.group is not None and done.group.channels_sharer_appid == ""
    assert _holders(store, SHARER) == [theirs]
    # the session was rolled back cleanly: the group can still bind a sharer of its own
    assert set_sharer(store, mine, "wx0a1b2c3d4e5f6a7b").outcome == "set"
    assert _holders(store, "wx0a1b2c3d4e5f6a7b") == [mine]


class _BindMeanwhile:
    """While active: the first time `engine` looks for another group holding a sharer, another process
    binds `appid` to `group_id` — right between that look and the request's own write."""

    def __init__(self, engine: Engine, group_id: int, appid: str = SHARER) -> None:
        self.engine, self.group_id, self.appid = engine, group_id, appid
        self.other = _other_process(engine)
        self.fired = False

    def __enter__(self) -> _BindMeanwhile:
        event.listen(self.engine, "after_cursor_execute", self._hook)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "after_cursor_execute", self._hook)
        self.other.dispose()

    def _hook(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not self.fired and CHECK in statement:
            self.fired = True
            assert set_sharer(self.other, self.group_id, self.appid).outcome == "set"


async def test_the_owner_who_lost_the_race_hears_the_usual_answer(
    store: Engine, channels_league: ChannelsLeague
) -> None:
    """Group 甲's owner sends 「绑定推客」 while the same sharer is being bound to group 乙: 甲's owner is
    told the sharer belongs to another group, as when 乙 had bound it long before."""
    handler = SharerHandler(
        engine=store,
        renderer=Renderer(None),
        groups=GroupSpots(store, {"channels": Spot("channels", sharer_appid="wx_sharer_demo02")}),
        league=channels_league,
        operators=["op_wxid"],
    )
    theirs = ensure_group(store, "b@chatroom", "乙群")
    assert theirs.id is not None
    message = Incoming(
        "1",
        "a@chatroom",
        "甲群",
        "owner_a",
        "甲群主",
        "绑定推客 wx_sharer_demo03",
        is_group=True,
        sender_is_owner=True,
    )

    # the league says this sharer is bound to the organisation: only the store can refuse it
    with _BindMeanwhile(store, theirs.id, "wx_sharer_demo03") as meanwhile:
        reply = await handler(message)

    assert meanwhile.fired
    assert "这个推客已经绑在另一个群上了" in _text(reply)
    mine = find_group(store, "a@chatroom")
    assert mine is not None and mine.channels_sharer_appid == ""
    assert _holders(store, "wx_sharer_demo03") == [theirs.id]


def _text(reply: Reply | None) -> str:
    assert reply is not None
    first = reply.parts[0]
    assert isinstance(first, Text)
    return first.text


# -- upgrading a database that already has duplicates --------------------------------------------------

OLD_GROUPS = sa.table(
    "groups",
    sa.column("id", sa.Integer()),
    sa.column("room_id", sa.String()),
    sa.column("name", sa.String()),
    sa.column("owner_id", sa.String()),
    sa.column("channels_sharer_appid", sa.String()),
    sa.column("account", sa.String()),
    sa.column("blocked", sa.Boolean()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
"""The groups table as revision 0011 has it (the test writes rows the way that version of the bot did)."""


@pytest.fixture(params=["sqlite", "postgresql"])
def empty(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Engine]:
    """An empty database: an SQLite file, or a fresh schema when $TUIKE_TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        engine = db.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    with postgres_schema(request.getfixturevalue("pg_url")) as url:
        engine = db.make_engine(url)
        yield engine
        engine.dispose()


def _upgrade_to(engine: Engine, revision: str) -> None:
    config = AlembicConfig()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    config.attributes["engine"] = engine
    command.upgrade(config, revision)


def _insert(engine: Engine, room: str, sharer: str, updated: datetime) -> int:
    with engine.begin() as connection:
        connection.execute(
            OLD_GROUPS.insert().values(
                room_id=room,
                name=room,
                owner_id="",
                channels_sharer_appid=sharer,
                account="console",
                blocked=False,
                created_at=LONG_AGO,
                updated_at=updated,
            )
        )
        found = connection.execute(sa.select(OLD_GROUPS.c.id).where(OLD_GROUPS.c.room_id == room)).scalar()
    assert found is not None
    return int(found)


def _rows(engine: Engine) -> dict[int, tuple[str, datetime]]:
    """Each group's sharer and last update (as aware UTC: SQLite gives the stored UTC back naive)."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(OLD_GROUPS.c.id, OLD_GROUPS.c.channels_sharer_appid, OLD_GROUPS.c.updated_at)
        ).all()
    return {int(i): (s, u if u.tzinfo else u.replace(tzinfo=UTC)) for i, s, u in rows}


def test_upgrading_keeps_each_duplicated_sharer_on_the_most_recently_updated_group(empty: Engine) -> None:
    _upgrade_to(empty, BEFORE)
    day = timedelta(days=1)
    a_old = _insert(empty, "a_old@chatroom", "wx_sharer_a", LONG_AGO)
    a_new = _insert(empty, "a_new@chatroom", "wx_sharer_a", LONG_AGO + 2 * day)
    a_mid = _insert(empty, "a_mid@chatroom", "wx_sharer_a", LONG_AGO + day)
    b_first = _insert(empty, "b_first@chatroom", "wx_sharer_b", LONG_AGO + 5 * day)
    b_second = _insert(empty, "b_second@chatroom", "wx_sharer_b", LONG_AGO + 5 * day)  # same moment
    c_only = _insert(empty, "c@chatroom", "wx_sharer_c", LONG_AGO)
    defaults = [_insert(empty, f"d{n}@chatroom", "", LONG_AGO) for n in range(2)]
    before = _rows(empty)
    started = datetime.now(UTC)

    assert db.upgrade(empty) == (BEFORE, db.head_revision())

    after = _rows(empty)
    assert _holders(empty, "wx_sharer_a") == [a_new]
    assert _holders(empty, "wx_sharer_b") == [b_second]  # a tie goes to the newer group
    assert _holders(empty, "wx_sharer_c") == [c_only]
    for moved in (a_old, a_mid, b_first):  # back on the operator's default, marked as changed now
        assert after[moved][0] == ""
        assert after[moved][1] >= started - timedelta(seconds=1)
    for kept in (a_new, b_second, c_only, *defaults):
        assert after[kept] == before[kept]
    # from now on the database refuses a second group for a sharer; the default stays shared by many
    with pytest.raises(IntegrityError), empty.begin() as connection:
        connection.execute(
            OLD_GROUPS.update().where(OLD_GROUPS.c.id == a_old).values(channels_sharer_appid="wx_sharer_c")
        )
    assert len(_holders(empty, "")) == 5
    assert set_sharer(empty, a_old, "wx_sharer_a").outcome == "taken"


def test_downgrading_drops_the_rule_and_upgrading_again_resolves_anew(empty: Engine) -> None:
    _upgrade_to(empty, BEFORE)
    first = _insert(empty, "first@chatroom", "wx_sharer_a", LONG_AGO)
    second = _insert(empty, "second@chatroom", "", LONG_AGO)
    db.upgrade(empty)
    assert INDEX in {i["name"] for i in inspect(empty).get_indexes("groups")}

    db.downgrade(empty, BEFORE)

    assert db.current_revision(empty) == BEFORE
    assert INDEX not in {i["name"] for i in inspect(empty).get_indexes("groups")}
    with empty.begin() as connection:  # the old schema lets a second group have it again
        connection.execute(
            OLD_GROUPS.update()
            .where(OLD_GROUPS.c.id == second)
            .values(channels_sharer_appid="wx_sharer_a", updated_at=datetime.now(UTC))
        )
    assert _holders(empty, "wx_sharer_a") == [first, second]
    db.upgrade(empty)
    assert _holders(empty, "wx_sharer_a") == [second]  # the later binding wins


def test_the_models_declare_the_same_rule(empty: Engine) -> None:
    """A database built from the models (not the migrations) refuses a shared sharer the same way, and
    lets any number of groups use the default."""
    SQLModel.metadata.create_all(empty)
    ids = _groups(empty, 3)
    assert set_sharer(empty, ids[0], SHARER).outcome == "set"
    with pytest.raises(IntegrityError), empty.begin() as connection:
        connection.execute(
            sa.update(Group).where(col(Group.id) == ids[1]).values(channels_sharer_appid=SHARER)
        )
    assert _holders(empty, SHARER) == [ids[0]]
    assert _holders(empty, "") == ids[1:]
