"""Numbers in the console's addresses are typed, pasted and guessed: one too large for the database's
integers is an ordinary "not found" or the last page, never a 500."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from bot.leagues.base import Order
from bot.push import broadcast, claims
from bot.store.groups import ensure_group
from bot.store.orders import store_window
from tests.web.conftest import Console

HUGE = "99999999999999999999999"
JUST_TOO_BIG = str(2**31)  # one past PostgreSQL's 32-bit ids


@pytest.mark.parametrize(
    "path",
    ["/orders", "/groups", "/pushes", "/broadcasts", "/rebates"],
)
async def test_a_huge_page_number_is_a_page_past_the_end(console: Console, path: str) -> None:
    client = await console.logged_in()
    queries = ({"page": HUGE}, {"page": "-1"}, {"page": "１２"}, {"up": HUGE}, {"group": HUGE})
    for query in (*queries, {"group": JUST_TOO_BIG}, {"page": JUST_TOO_BIG}):
        response = await client.get(path, params=query)
        assert response.status_code == 200, (path, query, response.text[:300])


@pytest.mark.parametrize(
    "path",
    [
        f"/orders/{HUGE}",
        f"/groups/{HUGE}",
        f"/broadcasts/{HUGE}",
        f"/broadcasts/{HUGE}/results",
        f"/rebates/member/{HUGE}",
    ],
)
async def test_a_huge_id_is_not_found(console: Console, path: str) -> None:
    client = await console.logged_in()
    for number in (HUGE, JUST_TOO_BIG):
        response = await client.get(path.replace(HUGE, number))
        assert response.status_code == 404, (path, number, response.text[:300])


@pytest.mark.parametrize(
    "path",
    [
        f"/groups/{HUGE}/live",
        f"/groups/{HUGE}/blocked",
        f"/pushes/{HUGE}/send",
        f"/pushes/{HUGE}/dry-run",
        f"/rebates/withdrawals/{HUGE}/pay",
    ],
)
async def test_a_huge_id_in_an_action_changes_nothing_and_says_so(console: Console, path: str) -> None:
    client = await console.logged_in()
    for number in (HUGE, JUST_TOO_BIG):
        response = await client.post(path.replace(HUGE, number), data={"blocked": "1", "on": "1"})
        assert response.status_code in (400, 404), (path, number, response.status_code, response.text[:300])


async def test_a_page_past_the_end_says_so_and_offers_the_first(seeded_lists: Console) -> None:
    client = await seeded_lists.logged_in()
    for path, what in (
        ("/groups", "群"),
        ("/broadcasts", "群发"),
        ("/pushes", "推送记录"),
        ("/orders", "订单"),
    ):
        page = (await client.get(path, params={"page": "99"})).text
        assert f"这一页没有{what}了（一共 1 页）" in page and "回到第一页" in page, path


def _one_of_each(engine: Engine) -> None:
    """One group, one broadcast, one push result and one order: every list has a first page."""
    group = ensure_group(engine, "r1@chatroom", "宝妈群")
    assert group.id is not None
    broadcast.create(engine, "周末福利", [group.id])
    claims.claim(engine, group.id, "daily:2026-11-20T08:30", "me", claims.SENT)
    at = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    order = Order("T1", "1", "p1", "蓝牙耳机", 10_000, 1_000, "pending", "", at, at)
    store_window(engine, "taobao", [(order, group.id)], at)


@pytest.fixture
async def seeded_lists(console: Console) -> Console:
    await asyncio.to_thread(_one_of_each, console.engine)
    return console
