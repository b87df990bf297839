"""Every league against the sandbox on loopback, two groups with their own identities, and a way to
have members buy through the groups' links (the sandbox places orders for the links it issued)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from bot.chat.base import Incoming
from bot.config import Settings, parse_settings
from bot.leagues.base import League, SearchQuery
from bot.leagues.registry import BY_NAME
from bot.leagues.setup import default_spots, spot_issuers
from bot.services.attribution import GroupSpots
from bot.store.groups import ensure_group
from tuike_sandbox.server import SandboxServer

LEAGUES = ("channels", "union", "taobao", "jd", "pdd")
SETTINGS = parse_settings({"leagues": {name: {"enabled": True} for name in LEAGUES}})
ROOMS = ("a@chatroom", "b@chatroom")
FACES = ("/router/rest", "/routerjson", "/api/router")
PAST = timedelta(minutes=6)
"""Links are issued this long ago (the sandbox's clocks run behind), so their orders exist by now."""


@dataclass
class Shop:
    sandbox: SandboxServer
    engine: Engine
    settings: Settings
    leagues: dict[str, League]
    spots: GroupSpots
    groups: dict[str, int]

    async def sell(self, league: str, room: str, keyword: str = "耳机", count: int = 2) -> None:
        """Members of `room` ask for `count` products on `league` and buy through the links."""
        target = self.leagues[league]
        products = await target.search(SearchQuery(keyword=keyword, limit=count))
        assert products, f"{league} found nothing for {keyword}"
        message = Incoming(
            message_id="m", chat_id=room, chat_name=room, sender_id="u", sender_name="U", text=""
        )
        for product in products[:count]:
            await target.promote(product, await self.spots(message, league))


@pytest.fixture
def store_engine(store: Engine) -> Engine:
    """The orders tests' name for the shared two-database `store` fixture."""
    return store


@pytest.fixture
async def shop(store_engine: Engine) -> AsyncIterator[Shop]:
    engine = store_engine
    behind = lambda: time.time() - PAST.total_seconds()  # noqa: E731
    async with SandboxServer() as sandbox:
        sandbox.state.clock = behind
        for path in FACES:
            sandbox.face(path).clock = behind
        leagues: dict[str, League] = {}
        for name in LEAGUES:
            league = BY_NAME[name].make(SETTINGS, sandbox.base_url, engine)
            if hasattr(league, "client") and hasattr(league.client, "backoff"):
                league.client.backoff = 0.001
            leagues[name] = league
        groups = {}
        for room in ROOMS:
            group = ensure_group(engine, room, f"群{room[0].upper()}")
            assert group.id is not None
            groups[room] = group.id
        spots = GroupSpots(engine, default_spots(SETTINGS), issuers=spot_issuers(leagues))
        try:
            yield Shop(sandbox, engine, SETTINGS, leagues, spots, groups)
        finally:
            for league in leagues.values():
                await league.aclose()


def now() -> datetime:
    return datetime.now(UTC)
