"""The 订单 page: the operator filters synced orders by league, status, group (or none), day in their
own zone and text, reads totals of everything the filter admits (not just the page), pages through 50
at a time, and opens one order to see its status history and who bound it for a rebate."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from bot.leagues.base import Order
from bot.store import rebate
from bot.store.groups import ensure_group
from bot.store.orders import store_window
from tests.web.conftest import Console, browser_login

NOW = datetime(2026, 5, 20, 4, 0, tzinfo=UTC)


def _order(
    order_id: str,
    paid: int,
    status: str = "pending",
    *,
    commission: int | None = None,
    title: str = "蓝牙耳机",
    at: datetime = NOW,
    sku: str = "1",
    product: str = "p1",
    pid: str = "",
    tag: str = "",
    sharer: str = "",
    updated: datetime | None = None,
) -> Order:
    """An order line as a league reports it; commission a tenth of `paid` unless given."""
    commission = paid // 10 if commission is None else commission
    return Order(order_id, sku, product, title, paid, commission, status, sharer, at, updated or at, pid, tag)


def _store(engine: Engine, league: str, *rows: tuple[Order, int | None]) -> None:
    """Through the store's own upsert, as order sync does."""
    store_window(engine, league, list(rows), NOW)


def around_midnight(engine: Engine) -> None:
    """P-LATE at 16:30 UTC on 1 May is 00:30 on 2 May in Shanghai (a 2 May order for the operator);
    P-EARLY an hour before is still 1 May."""
    late = datetime(2026, 5, 1, 16, 30, tzinfo=UTC)
    _store(
        engine,
        "pdd",
        (_order("P-LATE", 1_000, at=late), None),
        (_order("P-EARLY", 2_000, at=late - timedelta(hours=1)), None),
    )


def listed(html: str) -> list[str]:
    """The order ids of the rows on the page, top to bottom."""
    return re.findall(r'<tr data-order="([^"]+)"', html)


def totals(html: str) -> tuple[int, str, str]:
    def figure(name: str) -> str:
        found = re.search(rf'id="total-{name}">([^<]+)<', html)
        assert found, name
        return found.group(1)

    return int(figure("count")), figure("paid"), figure("commission")


def _yuan(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


def seed(engine: Engine) -> dict[str, Any]:
    tea = ensure_group(engine, "tea@chatroom", "喝茶群")
    run = ensure_group(engine, "run@chatroom", "跑步群")
    assert tea.id is not None and run.id is not None
    _store(
        engine,
        "taobao",
        (_order("T1", 10_000, pid="mm_1_2_3", at=NOW - timedelta(days=1)), tea.id),
        (_order("T2", 20_000, "settled", title="保温杯", at=NOW - timedelta(days=2)), run.id),
        (_order("T3", 5_000, "cancelled", title="手机壳 100%棉", at=NOW - timedelta(days=3)), None),
    )
    _store(
        engine,
        "jd",
        (_order("J1", 30_000, tag="g7", at=NOW - timedelta(hours=5)), tea.id),
        (_order("J2", 7_700, "settled", title="蓝牙音箱", at=NOW - timedelta(days=4)), None),
    )
    return {"tea": tea.id, "run": run.id}


async def get(client: httpx.AsyncClient, path: str, **params: str) -> str:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.text


async def test_filters_show_only_the_matching_orders_with_their_totals(console: Console) -> None:
    groups = seed(console.engine)
    client = await console.logged_in()

    everything = await get(client, "/orders")
    assert listed(everything) == ["J1", "T1", "T2", "T3", "J2"]  # newest first
    assert totals(everything) == (5, _yuan(72_700), _yuan(7_270))
    assert "喝茶群" in everything and "未归属" in everything and "PID mm_1_2_3" in everything

    jd = await get(client, "/orders", league="jd")
    assert listed(jd) == ["J1", "J2"]
    assert totals(jd) == (2, _yuan(37_700), _yuan(3_770))

    settled = await get(client, "/orders", status="settled")
    assert listed(settled) == ["T2", "J2"]
    assert "已结算" in settled

    cancelled = await get(client, "/orders", status="cancelled")
    assert listed(cancelled) == ["T3"] and "已取消" in cancelled

    nobody = await get(client, "/orders", group="none")
    assert listed(nobody) == ["T3", "J2"]
    assert totals(nobody) == (2, _yuan(12_700), _yuan(1_270))

    tea = await get(client, "/orders", group=str(groups["tea"]))
    assert listed(tea) == ["J1", "T1"]
    assert f'href="/groups/{groups["tea"]}"' in tea

    both = await get(client, "/orders", league="taobao", group=str(groups["run"]), status="settled")
    assert listed(both) == ["T2"] and totals(both)[0] == 1

    by_title = await get(client, "/orders", q="蓝牙")
    assert listed(by_title) == ["J1", "T1", "J2"]
    by_number = await get(client, "/orders", q="T2")
    assert listed(by_number) == ["T2"]
    literal_percent = await get(client, "/orders", q="100%")
    assert listed(literal_percent) == ["T3"]
    assert listed(await get(client, "/orders", q="%")) == ["T3"]  # a % is a character, not "anything"

    none = await get(client, "/orders", league="pdd")
    assert listed(none) == [] and totals(none)[0] == 0 and "没有符合筛选的订单" in none


async def test_the_title_search_ignores_case(console: Console) -> None:
    _store(
        console.engine,
        "taobao",
        (_order("A1", 100, title="Apple AirPods Pro 耳机"), None),
        (_order("A2", 100, title="小米 Redmi Buds"), None),
    )
    client = await console.logged_in()
    assert listed(await get(client, "/orders", q="airpods")) == ["A1"]
    assert listed(await get(client, "/orders", q="REDMI buds")) == ["A2"]
    assert listed(await get(client, "/orders", q="耳机")) == ["A1"]


async def test_the_date_range_is_in_the_operators_zone(console: Console) -> None:
    around_midnight(console.engine)
    client = await console.logged_in()
    second = await get(client, "/orders", **{"from": "2026-05-02", "to": "2026-05-02"})
    assert listed(second) == ["P-LATE"]
    assert "2026-05-02 00:30" in second
    first = await get(client, "/orders", **{"from": "2026-05-01", "to": "2026-05-01"})
    assert listed(first) == ["P-EARLY"]
    since = await get(client, "/orders", **{"from": "2026-05-01"})
    assert listed(since) == ["P-LATE", "P-EARLY"]
    swapped = await get(client, "/orders", **{"from": "2026-05-02", "to": "2026-05-01"})
    assert listed(swapped) == ["P-LATE", "P-EARLY"] and "对调" in swapped
    nonsense = await get(client, "/orders", **{"from": "May first"})
    assert listed(nonsense) == ["P-LATE", "P-EARLY"] and "开始日期看不懂" in nonsense


async def test_fifty_a_page_and_the_totals_cover_every_page(console: Console) -> None:
    rows = [(_order(f"N{n:03d}", 100 + n, at=NOW - timedelta(minutes=n)), None) for n in range(120)]
    _store(console.engine, "taobao", *rows)
    _store(console.engine, "jd", (_order("OTHER", 1, at=NOW), None))
    client = await console.logged_in()
    seen: list[str] = []
    path = "/orders?league=taobao"
    pages = 0
    while path:
        html = (await client.get(path)).text
        pages += 1
        assert totals(html) == (
            120,
            _yuan(sum(100 + n for n in range(120))),
            _yuan(sum((100 + n) // 10 for n in range(120))),
        )
        seen += listed(html)
        following = re.search(r'href="([^"]+)" rel="next"', html)
        path = following.group(1).replace("&amp;", "&") if following else ""
        assert not path or "league=taobao" in path  # the filter rides along
    assert pages == 3
    assert seen == [f"N{n:03d}" for n in range(120)]  # each once, in order, nothing from jd
    last = await get(client, "/orders", league="taobao", page="3")
    assert len(listed(last)) == 20 and "第 3 / 3 页" in last
    beyond = await get(client, "/orders", league="taobao", page="9")
    assert listed(beyond) == [] and "回到第一页" in beyond


async def test_an_order_shows_its_history_and_its_rebate_binding(console: Console) -> None:
    engine = console.engine
    tea = ensure_group(engine, "tea@chatroom", "喝茶群")
    paid_at = NOW - timedelta(days=3)
    _store(engine, "jd", (_order("280175066411", 10_000, at=paid_at, tag="g1"), tea.id))
    _store(
        engine,
        "jd",
        (_order("280175066411", 10_000, "settled", at=paid_at, tag="g1", updated=NOW), tea.id),
        (
            _order("280175066411", 3_000, "cancelled", sku="2", title="耳机套", at=paid_at, updated=NOW),
            tea.id,
        ),
    )
    client = await console.logged_in()
    listing = await get(client, "/orders", q="280175066411")
    first = re.search(r'<a href="(/orders/\d+)">280175066411</a><span class="muted sku"> · 1<', listing)
    assert first
    unbound = await get(client, first.group(1))
    assert "还没有成员绑定这笔订单" in unbound

    assert rebate.bind(engine, "wxid_buyer", "280175066411", 50).outcome == "bound"
    html = await get(client, first.group(1))
    history = html[html.index("状态变化") : html.index("返利</h2>")]
    assert history.index("已付款") < history.index("已结算")  # oldest first
    assert "喝茶群" in html and "群标记" in html and "g1" in html
    assert "耳机套" in html  # the order's other line
    assert 'href="/rebates/member/wxid_buyer"' in html and "50%" in html
    assert "可提现 ¥5.00" in html  # 50% of the settled line's ¥10.00 commission

    missing = await client.get("/orders/999999")
    assert missing.status_code == 404 and "没有这条订单" in missing.text


async def test_filter_by_league_and_open_an_order_in_a_browser(console: Console, browser_page: Any) -> None:
    seed(console.engine)
    page = browser_page
    await browser_login(page, console)
    await page.click("header nav >> text=订单")
    await page.wait_for_selector("table.orders")
    await page.select_option("select[name=league]", "jd")
    await page.click("#order-filters button[type=submit]")
    await page.wait_for_url("**/orders?*league=jd*")
    assert await page.locator("table.orders tbody tr").count() == 2
    assert await page.locator("#total-count").inner_text() == "2"
    await page.screenshot(path=str(console.shots / "orders.png"), full_page=True)
    await page.click("text=J1")
    await page.wait_for_selector("text=状态变化")
    assert "喝茶群" in await page.locator("dl.facts").inner_text()
    await page.screenshot(path=str(console.shots / "order.png"), full_page=True)
    await page.click("text=← 返回订单列表")
    await page.wait_for_url("**/orders?*league=jd*")


@pytest.fixture
async def operator(console: Console) -> httpx.AsyncClient:
    """A logged-in client, made before a test's loop watchdog starts (making one loads CA files)."""
    return await console.logged_in()


async def test_the_pages_never_query_the_store_on_the_event_loop(
    console: Console, operator: httpx.AsyncClient, loop_watchdog: Any
) -> None:
    groups = await asyncio.to_thread(seed, console.engine)
    client = operator
    listing = await get(client, "/orders", group=str(groups["tea"]), q="J", **{"from": "2026-01-01"})
    assert listed(listing) == ["J1"]
    row = re.search(r'<a href="(/orders/\d+)">J1</a>', listing)
    assert row
    await get(client, row.group(1))


async def test_an_unattributed_order_says_why_in_the_list_and_on_its_page(
    console: Console, browser_page: Any
) -> None:
    """微信小店 orders through the operator's default sharer (`wx_sharer_demo01` in the embedded default)
    cannot be told apart by group; one through a sharer no group held can; a JD order's tag is no
    group's: each 未归属 line says which, and its page says why in full."""
    engine = console.engine
    _store(
        engine,
        "channels",
        (_order("C-DEFAULT", 9_900, sharer="wx_sharer_demo01"), None),
        (_order("C-STRAY", 5_000, sharer="wx_sharer_demo04"), None),
    )
    _store(engine, "jd", (_order("J-UNKNOWN", 3_000, tag="not-a-group"), None))
    page = browser_page
    await browser_login(page, console)
    await page.goto(console.url + "/orders?group=none")
    rows = {
        order: await page.locator(f'tr[data-order="{order}"]').inner_text()
        for order in ("C-DEFAULT", "C-STRAY", "J-UNKNOWN")
    }
    assert "默认推客带来的，分不出是哪个群" in rows["C-DEFAULT"]
    assert "下单时这个推客没绑定在哪个群" in rows["C-STRAY"]
    assert "推广位不是哪个群的" in rows["J-UNKNOWN"]
    await page.screenshot(path=str(console.shots / "orders-unattributed.png"), full_page=True)
    await page.click("text=C-DEFAULT")
    await page.wait_for_selector("text=状态变化")
    facts = await page.locator("dl.facts").inner_text()
    assert "未归属" in facts and "运营的默认推客" in facts and "绑定推客" in facts
    assert "不带群标记，也不带链接编号" in facts
