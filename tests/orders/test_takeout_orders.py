"""Takeout orders through order sync against the sandbox's Ele.me and Meituan faces over HTTP, on SQLite
and PostgreSQL: two groups get links made for their own sids, members order through them, and each
order is stored once, credited to the group whose link it came through (by `sid`) and shown under its
league's own name; a cancelled order counts no commission."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.config import parse_settings
from bot.leagues.base import League
from bot.leagues.registry import BY_NAME
from bot.leagues.setup import default_spots, spot_issuers
from bot.orders.dashboard import league_label, overview
from bot.orders.sync import OrderSync
from bot.services.attribution import GroupSpots
from bot.services.takeout import TakeoutLinks
from bot.store.groups import ensure_group
from bot.store.models import Group, LeagueSpot, OrderRow
from tuike_sandbox.eleme_face import ElemeFace
from tuike_sandbox.meituan_face import MeituanFace
from tuike_sandbox.server import SandboxServer

SETTINGS = parse_settings({"leagues": {"eleme": {"enabled": True}, "meituan": {"enabled": True}}})
ROOMS = ("a@chatroom", "b@chatroom")
PAST = timedelta(minutes=6)


@pytest.fixture
async def takeout_shop(
    store: Engine,
) -> AsyncIterator[tuple[SandboxServer, dict[str, League], GroupSpots, dict[str, Group]]]:
    async with SandboxServer() as sandbox:
        leagues = {
            name: BY_NAME[name].make(SETTINGS, sandbox.base_url, store) for name in ("eleme", "meituan")
        }
        groups = {room: ensure_group(store, room, f"群{room[0].upper()}") for room in ROOMS}
        spots = GroupSpots(store, default_spots(SETTINGS), issuers=spot_issuers(leagues))
        try:
            yield sandbox, leagues, spots, groups
        finally:
            for league in leagues.values():
                await league.aclose()


async def test_each_takeout_order_is_credited_to_the_group_whose_link_sold_it(
    store: Engine, takeout_shop: tuple[SandboxServer, dict[str, League], GroupSpots, dict[str, Group]]
) -> None:
    sandbox, leagues, spots, groups = takeout_shop
    service = TakeoutLinks(leagues, spots.for_group)
    for group in groups.values():
        answer = await service.for_group(group)
        assert {link.platform for link in answer.links} == {"eleme", "meituan"}
    eleme: ElemeFace = sandbox.face("/router/rest").extensions["eleme"]
    meituan: MeituanFace = sandbox.face("/cps_open/common/api/v1/query_order")
    assert len(eleme.orders) == len(meituan.orders) == 2, "the sandbox sells one order per group's link"
    a_sid = eleme.orders[0].sid
    eleme.add_order(a_sid, pay_fen=4200, order_state=0)  # one member cancelled
    for order in eleme.orders:  # the orders were placed a few minutes ago
        order.created = order.modified = order.created - PAST
    for mt in meituan.orders:
        mt.paid = mt.updated = mt.paid - PAST

    options = {"overlap": timedelta(minutes=3), "lookback": timedelta(minutes=20)}
    results = await OrderSync(store, leagues, **options).run()  # type: ignore[arg-type]
    assert [(r.league, r.ok, r.new) for r in results] == [("eleme", True, 3), ("meituan", True, 2)], results
    with Session(store) as session:
        rows = session.exec(select(OrderRow).where(OrderRow.league.in_(("eleme", "meituan")))).all()  # type: ignore[attr-defined]
        kept = {(s.league, s.group_id): s.tag for s in session.exec(select(LeagueSpot)).all()}
    for row in rows:
        assert row.group_id is not None, row
        assert kept[(row.league, row.group_id)] == row.tag, "credited to the group whose sid the link carried"
    assert {r.group_id for r in rows if r.league == "meituan"} == {g.id for g in groups.values()}
    cancelled = [r for r in rows if r.status == "cancelled"]
    assert len(cancelled) == 1 and cancelled[0].commission_fen == 0 and cancelled[0].paid_fen == 4200
    assert all(r.commission_fen > 0 for r in rows if r.status != "cancelled")

    figures = overview(store, datetime.now(UTC), ZoneInfo("Asia/Shanghai"))
    shown = {league_label(name) for period in figures.periods for name, _totals in period.by_league}
    assert {"饿了么", "美团"} <= shown

    again = await OrderSync(store, leagues, overlap=timedelta(minutes=15)).run()  # type: ignore[arg-type]
    assert all(r.ok and r.new == 0 for r in again), again
