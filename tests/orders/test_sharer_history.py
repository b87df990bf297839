"""A Channels order is credited to the group that held its sharer when the order was placed: an owner
who unbinds (解绑推客) keeps the orders their links already made, and a sharer bound to another group
later credits that group only from then on. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text
from sqlmodel import Session

from bot.leagues.base import Order
from bot.services.attribution import Attributor
from bot.store import db
from bot.store.groups import ensure_group, set_sharer
from bot.store.models import Group
from bot.store.orders import sharer_spans

SHARER = "wx_sharer_owner01"


def _order(n: int, at: datetime, sharer: str = SHARER) -> Order:
    return Order(f"o{n}", "s", "p", "商品", 10_000, 1_000, "pending", sharer, at, at)


def _set_on_the_row(engine: Engine, group_id: int | None) -> None:
    """The sharer written on the group's row directly, as before `set_sharer` kept a history."""
    with Session(engine) as session:
        row = session.get(Group, group_id)
        assert row is not None
        row.channels_sharer_appid = SHARER
        session.add(row)
        session.commit()


def _credited(engine: Engine, *orders: Order) -> list[int | None]:
    attributor = Attributor(engine)  # a new one per sync, as OrderSync makes
    return [attributor.group_of("channels", order) for order in orders]


def test_orders_stay_with_the_group_that_held_the_sharer_when_they_were_placed(store: Engine) -> None:
    first = ensure_group(store, "a@chatroom", "一群")
    second = ensure_group(store, "b@chatroom", "二群")
    assert first.id and second.id
    assert set_sharer(store, first.id, SHARER).outcome == "set"
    assert set_sharer(store, first.id, "").outcome == "set"  # 解绑推客
    assert set_sharer(store, second.id, SHARER).outcome == "set"  # the sharer moves on
    [held, holds] = sharer_spans(store, SHARER)
    assert (held.group_id, holds.group_id, holds.unbound_at) == (first.id, second.id, None)
    assert held.unbound_at is not None and held.bound_at < held.unbound_at <= holds.bound_at

    before = _order(1, held.bound_at - timedelta(days=1))
    while_first = _order(2, held.bound_at + (held.unbound_at - held.bound_at) / 2)
    while_second = _order(3, holds.bound_at + timedelta(seconds=1))
    default = _order(4, holds.bound_at + timedelta(seconds=1), sharer="")
    assert _credited(store, before, while_first, while_second, default) == [None, first.id, second.id, None]


def test_an_order_placed_after_an_unbind_is_nobodys_and_a_rebind_credits_again(store: Engine) -> None:
    group = ensure_group(store, "a@chatroom", "一群")
    assert group.id
    set_sharer(store, group.id, SHARER)
    set_sharer(store, group.id, "")
    [span] = sharer_spans(store, SHARER)
    assert span.unbound_at is not None
    gap = _order(1, span.unbound_at + timedelta(microseconds=1))
    assert _credited(store, gap) == [None], "the operator's default sharer was this group's after the unbind"
    set_sharer(store, group.id, SHARER)
    later = _order(2, sharer_spans(store, SHARER)[-1].bound_at + timedelta(seconds=1))
    assert _credited(store, gap, later) == [None, group.id]


def test_a_sharer_set_without_history_still_credits_its_holder(store: Engine) -> None:
    """A row changed outside `set_sharer` (an operator's SQL, an old tool) has no history: its holder."""
    group = ensure_group(store, "a@chatroom", "一群")
    _set_on_the_row(store, group.id)
    assert _credited(store, _order(1, datetime(2024, 1, 1, tzinfo=UTC))) == [group.id]


def test_upgrading_keeps_the_past_orders_of_groups_that_hold_a_sharer_today(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    from alembic import command

    from bot.store.db import _alembic_config

    command.upgrade(_alembic_config(engine), "0012_one_group_per_sharer")
    with engine.begin() as connection:  # plain SQL: the models are the newest schema's
        connection.execute(
            text(
                "INSERT INTO groups (room_id, name, owner_id, channels_sharer_appid, account, blocked,"
                " created_at, updated_at) VALUES ('a@chatroom', '一群', '', :sharer, '', 0, :at, :at)"
            ),
            {"sharer": SHARER, "at": "2025-01-01 00:00:00.000000"},
        )
    db.upgrade(engine)
    group = ensure_group(engine, "a@chatroom", "一群")
    [span] = sharer_spans(engine, SHARER)
    assert (span.group_id, span.bound_at.year, span.unbound_at) == (group.id, 2000, None)
    assert _credited(engine, _order(1, datetime(2025, 6, 1, tzinfo=UTC))) == [group.id]
    engine.dispose()
