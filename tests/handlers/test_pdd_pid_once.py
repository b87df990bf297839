"""A group's PDD PID is made exactly once, however many requests (and processes) ask at the same time,
and kept across restarts; the JD subUnionId is kept the same way."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.chat.base import Incoming
from bot.config import parse_settings
from bot.leagues.base import LeagueError, Spot
from bot.leagues.jd.build import build_jd, jd_spot
from bot.leagues.jd.league import JdLeague
from bot.leagues.pdd.build import build_pdd, pdd_spot
from bot.leagues.pdd.league import PddLeague
from bot.services.attribution import GroupSpots
from bot.store.groups import ensure_group
from bot.store.models import LeagueSpot, utcnow
from bot.store.spots import CLAIM, claim_spot
from tuike_sandbox.pdd_face import PddFace
from tuike_sandbox.server import SandboxServer

SETTINGS = parse_settings({"leagues": {"pdd": {"enabled": True}, "jd": {"enabled": True}}})
GENERATE = "pdd.ddk.goods.pid.generate"
DEFAULT_PID_FOR_TEST = pdd_spot(SETTINGS).pid


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with SandboxServer() as server:
        yield server


@pytest.fixture
async def pdd(sandbox: SandboxServer, engine: Engine) -> AsyncIterator[PddLeague]:
    league = build_pdd(SETTINGS, sandbox.base_url, engine)
    league.client.backoff = 0.001
    yield league
    await league.aclose()


def _face(sandbox: SandboxServer) -> PddFace:
    face = sandbox.face("/api/router")
    assert isinstance(face, PddFace)
    return face


def _msg(room: str, n: int = 0) -> Incoming:
    return Incoming(
        message_id=f"{room}-{n}", chat_id=room, chat_name=room, sender_id="m", sender_name="M", text="x"
    )


def _resolver(engine: Engine, league: PddLeague | JdLeague, **kw: float) -> GroupSpots:
    defaults = {"pdd": pdd_spot(SETTINGS), "jd": jd_spot(SETTINGS)}
    return GroupSpots(engine, defaults, issuers={league.name: league}, **kw)  # type: ignore[dict-item]


async def test_concurrent_requests_from_two_processes_make_one_pid(
    engine: Engine, pdd: PddLeague, sandbox: SandboxServer
) -> None:
    a, b = _resolver(engine, pdd), _resolver(engine, pdd)  # two processes on one database
    spots = await asyncio.gather(*(r(_msg("room1@chatroom", n), "pdd") for n in range(12) for r in (a, b)))
    assert len(set(spots)) == 1
    assert _face(sandbox).calls[GENERATE] == 1, "one PID made for the group"
    [spot] = set(spots)
    assert spot.pid != pdd_spot(SETTINGS).pid and spot.tag
    with Session(engine) as session:
        rows = session.exec(select(LeagueSpot)).all()
    assert [(r.pid, r.tag) for r in rows] == [(spot.pid, spot.tag)]
    again = await _resolver(engine, pdd)(_msg("room1@chatroom"), "pdd")  # after a restart
    assert again == spot and _face(sandbox).calls[GENERATE] == 1


async def test_many_groups_at_once_each_get_their_own(
    engine: Engine, pdd: PddLeague, sandbox: SandboxServer
) -> None:
    a, b = _resolver(engine, pdd), _resolver(engine, pdd)
    rooms = [f"g{i}@chatroom" for i in range(6)]
    asks = [(room, n, r) for room in rooms for n in range(3) for r in (a, b)]
    spots = await asyncio.gather(*(r(_msg(room, n), "pdd") for room, n, r in asks))
    by_room: dict[str, set[Spot]] = {}
    for (room, _, _), spot in zip(asks, spots, strict=True):
        by_room.setdefault(room, set()).add(spot)
    assert all(len(held) == 1 for held in by_room.values()), "each group always gets the same PID"
    assert len({next(iter(held)).pid for held in by_room.values()}) == 6, "no two groups share one"
    assert _face(sandbox).calls[GENERATE] == 6


async def test_a_failed_choice_leaves_no_claim_behind(
    engine: Engine, pdd: PddLeague, sandbox: SandboxServer
) -> None:
    _face(sandbox).faults.fail_next = ["throttle"] * (pdd.client.max_retries + 1)
    resolver = _resolver(engine, pdd)
    with pytest.raises(LeagueError):
        await resolver(_msg("room9@chatroom"), "pdd")
    spot = await resolver(_msg("room9@chatroom", 1), "pdd")
    assert spot.pid and spot.pid != pdd_spot(SETTINGS).pid


async def test_a_dead_processes_claim_is_taken_over(
    engine: Engine, pdd: PddLeague, sandbox: SandboxServer
) -> None:
    group = ensure_group(engine, "room7@chatroom", "room7@chatroom")
    assert group.id is not None
    assert claim_spot(engine, group.id, "pdd", f"{CLAIM}dead")
    with Session(engine) as session:
        row = session.exec(select(LeagueSpot)).one()
        row.created_at = utcnow() - timedelta(minutes=5)
        session.add(row)
        session.commit()
    spot = await _resolver(engine, pdd)(_msg("room7@chatroom"), "pdd")
    assert spot.pid != pdd_spot(SETTINGS).pid
    assert _face(sandbox).calls[GENERATE] == 1


async def test_a_live_claim_elsewhere_means_the_default_for_now(engine: Engine, pdd: PddLeague) -> None:
    group = ensure_group(engine, "room8@chatroom", "room8@chatroom")
    assert group.id is not None and claim_spot(engine, group.id, "pdd", f"{CLAIM}busy")
    spot = await _resolver(engine, pdd, claim_wait=0.2)(_msg("room8@chatroom"), "pdd")
    assert spot == Spot("pdd", pid=pdd_spot(SETTINGS).pid)


async def test_jd_sub_union_id_is_kept_per_group(engine: Engine, sandbox: SandboxServer) -> None:
    jd = build_jd(SETTINGS, sandbox.base_url, engine)
    try:
        spots = await asyncio.gather(
            *(_resolver(engine, jd)(_msg(room), "jd") for room in ("a@chatroom", "b@chatroom") * 3)
        )
        assert len(set(spots)) == 2
        assert all(s.pid == jd_spot(SETTINGS).pid and s.tag.startswith("tk_") for s in spots)
    finally:
        await jd.aclose()


async def test_orders_map_back_to_the_groups_whose_links_sold(
    engine: Engine, pdd: PddLeague, sandbox: SandboxServer
) -> None:
    from datetime import UTC, datetime

    from bot.leagues.base import SearchQuery
    from bot.store.spots import group_of_identity

    jd = build_jd(SETTINGS, sandbox.base_url, engine)
    try:
        since = datetime.now(UTC) - timedelta(minutes=5)
        for path in ("/routerjson", "/api/router"):  # links made four minutes ago have sold by now
            sandbox.face(path).clock = lambda: (datetime.now(UTC) - timedelta(minutes=4)).timestamp()
        rooms = ["a@chatroom", "b@chatroom"]
        groups = {room: ensure_group(engine, room, room).id for room in rooms}
        for league in (pdd, jd):
            resolver = _resolver(engine, league)
            products = await league.search(SearchQuery(keyword="耳机", limit=4))
            for i, product in enumerate(products):
                room = rooms[i % 2]
                await league.promote(product, await resolver(_msg(room), league.name))
            orders = await league.orders_since(since)
            assert orders
            sold_by = {group_of_identity(engine, league.name, o.pid, o.tag) for o in orders}
            assert sold_by == set(groups.values()), f"{league.name} orders map to both groups"
        assert group_of_identity(engine, "pdd", DEFAULT_PID_FOR_TEST, "") is None
    finally:
        await jd.aclose()
