"""Every league against the sandbox on loopback, two groups with their own identities, and a way to
have members buy through the groups' links (the sandbox places orders for the links it issued)."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.chat.base import Incoming
from bot.config import Settings, parse_settings
from bot.handlers.spots import GroupSpots
from bot.leagues.base import League, SearchQuery
from bot.leagues.sandbox.server import SandboxServer
from bot.leagues.setup import BUILDERS, default_spots, spot_issuers
from bot.store import db
from bot.store.groups import ensure_group
from tests.conftest import PG_ENV
from tests.helpers import postgres_schema

SETTINGS = parse_settings(
    {"leagues": {name: {"enabled": True} for name in ("channels", "taobao", "jd", "pdd")}}
)
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


@pytest.fixture(params=["sqlite", "postgresql"])
def store_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated store: SQLite, and PostgreSQL too when $TUIKE_TEST_DATABASE_URL names a server."""
    if request.param == "sqlite":
        engine = db.make_engine(f"sqlite:///{tmp_path / 'orders.db'}")
        db.upgrade(engine)
        yield engine
        engine.dispose()
        return
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests need {PG_ENV}")
    with postgres_schema(url) as schema_url:
        engine = db.make_engine(schema_url)
        db.upgrade(engine)
        yield engine
        engine.dispose()


@pytest.fixture
async def shop(store_engine: Engine) -> AsyncIterator[Shop]:
    engine = store_engine
    behind = lambda: time.time() - PAST.total_seconds()  # noqa: E731
    async with SandboxServer() as sandbox:
        sandbox.state.clock = behind
        for path in FACES:
            sandbox.face(path).clock = behind
        leagues: dict[str, League] = {}
        for name in ("channels", "taobao", "jd", "pdd"):
            league = BUILDERS[name][0](SETTINGS, sandbox.base_url, engine)
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
