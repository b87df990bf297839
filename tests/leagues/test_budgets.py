"""League clients obey the caller's time budget and refuse oversized answers, whatever the server does."""

from __future__ import annotations

import asyncio
import gzip
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from bot.leagues.base import LeagueUnavailable
from bot.leagues.budget import budget
from bot.leagues.http import MAX_RESPONSE_BYTES, ResponseTooLarge
from bot.leagues.jd.client import JdClient
from bot.leagues.pdd.client import PddClient
from bot.leagues.taobao.client import TopClient
from bot.leagues.wechat.client import ChannelsClient
from tests.leagues.faulty_league import FaultyLeague, gzip_bomb

BUDGET = 0.5
BOUND = 10 * BUDGET  # generous: a slow shared machine must not make this flaky; the faults cost minutes


@pytest.fixture
async def faulty() -> AsyncIterator[FaultyLeague]:
    async with FaultyLeague() as server:
        yield server


async def _top(client: TopClient) -> object:
    return await client.call("taobao.tbk.dg.material.optional.upgrade", {"q": "耳机"})


def _clients(base: str) -> list[tuple[Any, Callable[[Any], Awaitable[object]]]]:
    """Every league client with its shipped retry policy (8 s a try, 3 retries), and one call each."""
    return [
        (
            ChannelsClient(base, "wx_b", "s", timeout=8.0, max_retries=3, backoff=0.3),
            lambda c: c.tokens.token(),
        ),
        (TopClient(base + "/router/rest", "k", "s", timeout=8.0, max_retries=3, backoff=0.5), _top),
        (
            JdClient(base + "/routerjson", "k", "s", timeout=8.0, max_retries=3),
            lambda c: c.call("jd.union.open.goods.query", {}, "queryResult"),
        ),
        (
            PddClient(base + "/api/router", "id", "s", timeout=8.0, max_retries=3),
            lambda c: c.call("pdd.ddk.goods.search", {}),
        ),
    ]


@pytest.mark.parametrize("mode", ["hang", "trickle", "5xx", "malformed"])
async def test_retries_stay_inside_the_budget(faulty: FaultyLeague, mode: str) -> None:
    faulty.mode = mode
    loop = asyncio.get_running_loop()
    for client, call in _clients(faulty.base_url):
        started = loop.time()
        with budget(BUDGET), pytest.raises(LeagueUnavailable):
            await call(client)
        assert loop.time() - started < BOUND, type(client).__name__
        await client.aclose()


async def test_without_a_budget_one_try_is_bounded_as_a_whole(faulty: FaultyLeague) -> None:
    """httpx's timeouts are per read: a server trickling a byte a second never tripped them."""
    faulty.mode = "trickle"
    client = ChannelsClient(faulty.base_url, "wx_b", "s", timeout=BUDGET, max_retries=0)
    with pytest.raises(LeagueUnavailable, match="1 tries"):
        await client.tokens.token()
    await client.aclose()


@pytest.mark.parametrize("mode", ["huge", "huge_unannounced"])
async def test_every_client_refuses_a_huge_answer(faulty: FaultyLeague, mode: str) -> None:
    faulty.mode = mode
    for client, call in _clients(faulty.base_url):
        with pytest.raises(ResponseTooLarge):
            await call(client)
        await client.aclose()
    assert faulty.bytes_sent < 4 * (64 << 20)  # of 4 × 400 MB offered


async def test_every_client_refuses_a_gzip_bomb_without_inflating_it(faulty: FaultyLeague) -> None:
    """Issue 33 #17: 400 MB of zeros in 400 KB of gzip got past the 4 MB cap, each chunk inflated
    whole before it was counted (peak RSS 232 MB for one member, 617 MB for 16). Decoded bytes are
    counted as they are inflated: the most any client holds stays near the cap."""
    assert len(gzip.decompress(gzip_bomb(8))) == 8 << 20  # the bomb is a real gzip file
    faulty.mode = "gzip_bomb"
    for client, call in _clients(faulty.base_url):
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLarge, match="inflated"):
                await call(client)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        await client.aclose()
        assert peak < 3 * MAX_RESPONSE_BYTES, f"{type(client).__name__} held {peak >> 20} MB"
    assert faulty.accept_encodings and all(
        set(asked.replace(" ", "").split(",")) <= {"gzip", "deflate", "identity"}
        for asked in faulty.accept_encodings
    ), "a league client asks only for encodings it counts as it inflates"
