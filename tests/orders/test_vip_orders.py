"""Vipshop orders through order sync against the sandbox's vop face over HTTP, on SQLite and PostgreSQL:
two groups each get their own PID, members buy through each group's links, and every order line is
stored once and credited to the group whose link sold it (by `channelTag` / `statParam`); refunds stop
counting."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.chat.base import Incoming
from bot.config import parse_settings
from bot.leagues.base import SearchQuery
from bot.leagues.registry import BY_NAME
from bot.leagues.setup import default_spots, spot_issuers
from bot.leagues.vip.league import VipLeague
from bot.orders.sync import OrderSync
from bot.services.attribution import GroupSpots
from bot.store.groups import ensure_group
from bot.store.models import LeagueSpot, OrderRow
from tuike_sandbox.server import SandboxServer
from tuike_sandbox.vip_face import VipFace

SETTINGS = parse_settings({"leagues": {"vip": {"enabled": True}}})
ROOMS = ("a@chatroom", "b@chatroom")
PAST = timedelta(minutes=6)


@pytest.fixture
async def vip_shop(store: Engine) -> AsyncIterator[tuple[VipFace, VipLeague, GroupSpots, dict[str, int]]]:
    async with SandboxServer() as sandbox:
        face = sandbox.face("/vop")
        assert isinstance(face, VipFace)
        face.clock = lambda: time.time() - PAST.total_seconds()  # links issued a while ago: orders exist
        league = BY_NAME["vip"].make(SETTINGS, sandbox.base_url, store)
        assert isinstance(league, VipLeague)
        league.client.backoff = 0.001
        groups = {}
        for room in ROOMS:
            group = ensure_group(store, room, f"群{room[0].upper()}")
            assert group.id is not None
            groups[room] = group.id
        spots = GroupSpots(store, default_spots(SETTINGS), issuers=spot_issuers({"vip": league}))
        try:
            yield face, league, spots, groups
        finally:
            await league.aclose()


async def test_each_vip_order_is_credited_to_the_group_whose_link_sold_it(
    store: Engine, vip_shop: tuple[VipFace, VipLeague, GroupSpots, dict[str, int]]
) -> None:
    face, league, spots, groups = vip_shop
    for room, keyword in zip(ROOMS, ("运动鞋", "连衣裙"), strict=True):
        message = Incoming(
            message_id="m", chat_id=room, chat_name=room, sender_id="u", sender_name="U", text=""
        )
        for product in await league.search(SearchQuery(keyword=keyword, limit=3)):
            await league.promote(product, await spots(message, "vip"))
    with Session(store) as session:
        kept = {row.group_id: row for row in session.exec(select(LeagueSpot)).all()}
    assert len({row.pid for row in kept.values()}) == 2, "two groups, two PIDs"
    assert face.calls["UnionPidService.genPid"] == 2

    options = {"overlap": timedelta(minutes=3), "lookback": timedelta(minutes=20)}
    [result] = await OrderSync(store, {"vip": league}, **options).run()  # type: ignore[arg-type]
    assert result.ok and result.new > 0, result
    with Session(store) as session:
        rows = session.exec(select(OrderRow).where(OrderRow.league == "vip")).all()
    sold = face.orders(face.apps[next(iter(face.apps))])
    assert {(r.order_id, r.sku_id) for r in rows} == {
        (o["orderSn"], o["detailList"][0]["sizeId"]) for o in sold
    }, "every line once"
    for row in rows:
        spot = kept[row.group_id]
        assert (row.pid, row.tag) == (spot.pid, spot.tag), "credited to the group whose link sold it"
    assert {r.group_id for r in rows} == set(groups.values())
    assert all(r.commission_fen == 0 for r in rows if r.status == "cancelled")

    again = await OrderSync(store, {"vip": league}, overlap=timedelta(minutes=15)).run()
    assert all(r.ok and r.new == 0 for r in again), again
