"""The 概览: figures per period and league from a seeded store (SQLite and PostgreSQL), the chart, the
top groups, and what needs attention — failed pushes of the last 24 hours, a template falling back,
an iLink bot without a login. One browser test: log in, see the numbers, screenshots."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, update

from bot.leagues.base import Order
from bot.leagues.metering import LEDGER, forget_quota
from bot.push.claims import FAILED, INTERRUPTED, SENT, claim
from bot.render.samples import SAMPLES
from bot.store import chat_state
from bot.store.groups import ensure_group
from bot.store.models import PushLog
from bot.store.orders import store_window
from bot.store.requests import write_requests
from tests.web.conftest import Console, browser_login, console_settings, serve_console
from tests.web.seed import seed

NOW = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)
"""12:00 in Shanghai: local today began at 2026-03-09 16:00 UTC."""


@pytest.fixture(autouse=True)
def _fresh_ledger() -> None:
    LEDGER.reset()
    forget_quota()


@asynccontextmanager
async def _console(tmp_path: Path, engine: Engine, **parts: Any) -> AsyncIterator[Console]:
    """`serve_console` as a context manager: the server stops even when the test fails inside."""
    serving = serve_console(tmp_path, engine, **parts)
    console = await anext(serving)
    try:
        yield console
    finally:
        await serving.aclose()


def _order(n: int, at: datetime, paid: int, commission: int, status: str = "pending") -> Order:
    return Order(f"O{n}", "1", f"p{n}", f"商品{n}", paid, commission, status, "", at, at)


def _cell(html: str, attribute: str, key: str) -> str:
    found = re.search(rf'{attribute}="{re.escape(key)}">([^<]*)<', html)
    assert found, key
    return found.group(1).strip()


def seed_by_hand(engine: Engine) -> tuple[int, int]:
    """Two groups, orders on two leagues around the local day boundary, requests with outcomes."""
    a = ensure_group(engine, "1001@chatroom", "数码好物群", account="gateway:wx_a").id
    b = ensure_group(engine, "1002@chatroom", "宝妈团购群", account="gateway:wx_a").id
    assert a is not None and b is not None
    hour = timedelta(hours=1)
    store_window(
        engine,
        "channels",
        [
            (_order(1, NOW - hour, 10_000, 1_000), a),  # today
            (
                _order(2, NOW - timedelta(hours=12, minutes=30), 20_000, 2_500, "settled"),
                a,
            ),  # 23:30 yesterday
            (_order(3, NOW - timedelta(days=3), 5_000, 400, "cancelled"), b),  # counts nowhere
            (_order(4, NOW - timedelta(days=20), 30_000, 3_000, "settled"), b),  # 30 days only
            (_order(5, NOW - timedelta(days=40), 99_900, 9_990, "settled"), b),  # too old
        ],
        NOW,
    )
    store_window(
        engine,
        "taobao",
        [
            (_order(6, NOW - 2 * hour, 8_800, 880), b),  # today
            (_order(7, NOW - timedelta(days=6), 1_200, 120), None),  # 7 days, unattributed
        ],
        NOW,
    )
    rows = []
    for at, outcome in [
        (NOW - hour, "ok"),
        (NOW - hour, "late_sent"),
        (NOW - hour, "empty"),
        (NOW - timedelta(hours=13), "ok"),  # yesterday, local
        (NOW - timedelta(days=10), "not_found"),
        (NOW - timedelta(days=45), "ok"),  # too old
    ]:
        rows.append(
            {
                "at": at,
                "chat_id": "1001@chatroom",
                "sender_id": "wxid_m",
                "kind": "keyword",
                "query": "耳机",
                "platform": "",
                "product_id": "",
                "league_calls": 1,
                "outcome": outcome,
            }
        )
    write_requests(engine, rows)
    return a, b


async def test_figures_per_period_and_per_league(tmp_path: Path, store: Engine) -> None:
    a, b = seed_by_hand(store)
    async with _console(tmp_path, store, clock=lambda: NOW) as console:
        client = await console.logged_in()
        response = await client.get("/")
        assert response.status_code == 200
        html = response.text
        # requests / links issued: today, 7 days, 30 days (local days in Asia/Shanghai)
        assert [_cell(html, "id", f"requests-{i}") for i in range(3)] == ["3", "4", "5"]
        assert [_cell(html, "id", f"links-{i}") for i in range(3)] == ["2", "3", "3"]
        assert _cell(html, "id", "today-links") == "2"
        # orders not cancelled, paid amount, estimated and settled commission
        assert [_cell(html, "id", f"orders-{i}") for i in range(3)] == ["2", "4", "5"]
        assert [_cell(html, "id", f"paid-{i}") for i in range(3)] == ["¥188.00", "¥400.00", "¥700.00"]
        assert [_cell(html, "id", f"estimated-{i}") for i in range(3)] == ["¥18.80", "¥45.00", "¥75.00"]
        assert [_cell(html, "id", f"settled-{i}") for i in range(3)] == ["¥0.00", "¥25.00", "¥55.00"]
        # the per-league split
        assert [_cell(html, "data-k", f"channels-orders-{i}") for i in range(3)] == ["1", "2", "3"]
        assert [_cell(html, "data-k", f"taobao-orders-{i}") for i in range(3)] == ["1", "2", "2"]
        assert [_cell(html, "data-k", f"channels-estimated-{i}") for i in range(3)] == [
            "¥10.00",
            "¥35.00",
            "¥65.00",
        ]
        assert [_cell(html, "data-k", f"taobao-paid-{i}") for i in range(3)] == [
            "¥88.00",
            "¥100.00",
            "¥100.00",
        ]
        assert "微信小店" in html and "淘宝" in html
        # top groups of 30 days link to the group's page, most commission first
        top = re.findall(r'<a href="/groups/(\d+)">([^<]+)</a>', html)
        assert top == [(str(b), "宝妈团购群"), (str(a), "数码好物群")]  # ¥38.80 before ¥35.00
        # the chart: inline SVG, legend in Chinese, today's bars with their amounts
        assert "<svg" in html and "近 30 天每日预估佣金" in html
        assert "今天 微信小店 ¥10.00" in html and "今天 淘宝 ¥8.80" in html
        assert "一切正常" in html


async def test_an_empty_store_shows_zeros_and_says_so(console: Console) -> None:
    client = await console.logged_in()
    html = (await client.get("/")).text
    assert _cell(html, "id", "today-orders") == "0"
    assert "近 30 天还没有订单" in html and "近 30 天还没有佣金" in html
    assert "一切正常" in html


async def test_failed_and_interrupted_pushes_of_the_last_day_need_attention(console: Console) -> None:
    engine = console.engine
    gid = ensure_group(engine, "2001@chatroom", "推送群", account="gateway:wx_a").id
    assert gid is not None
    claim(engine, gid, "daily:today-08:00", "gateway:wx_a", status=FAILED, detail="网关返回 ret=500")
    claim(engine, gid, "daily:today-20:00", "gateway:wx_a", status=INTERRUPTED)
    claim(engine, gid, "daily:today-21:00", "gateway:wx_a", status=SENT)
    claim(engine, gid, "daily:old", "gateway:wx_a", status=FAILED)
    with engine.begin() as connection:  # a failure two days ago is no longer news
        connection.execute(
            update(PushLog)
            .where(PushLog.slot == "daily:old")  # type: ignore[arg-type]
            .values(claimed_at=datetime.now(UTC) - timedelta(days=2))
        )
    client = await console.logged_in()
    html = (await client.get("/")).text
    assert "最近 24 小时的推送有 1 次失败、1 次中断。" in html
    assert 'href="/pushes"' in html and "一切正常" not in html


async def test_a_template_falling_back_needs_attention_until_it_is_fixed(console: Console) -> None:
    renderer = console.services.renderer
    assert renderer.operator_dir is not None
    renderer.operator_dir.mkdir(parents=True, exist_ok=True)
    broken = renderer.operator_dir / "deal.j2"
    broken.write_text("{{ product.title }\n", encoding="utf-8")
    renderer.render("deal", SAMPLES["deal"][0])  # a member's answer: the built-in one stands in
    client = await console.logged_in()
    html = (await client.get("/")).text
    assert "deal.j2 第 1 行 出错，正在用上一个能用的版本" in html and 'href="/templates"' in html
    broken.write_text("{{ product.title }}\n", encoding="utf-8")
    html = (await client.get("/")).text
    assert "deal.j2" not in html and "一切正常" in html


async def test_an_ilink_bot_without_a_login_needs_attention(tmp_path: Path, engine: Engine) -> None:
    settings = console_settings(tmp_path)
    settings = settings.model_copy(update={"chat": settings.chat.model_copy(update={"kind": "ilink"})})
    async with _console(tmp_path, engine, settings=settings) as console:
        client = await console.logged_in()
        assert "iLink 机器人没有登录" in (await client.get("/")).text
        chat_state.put(engine, "ilink:default", "bot_token", "kept-after-a-qr-login")
        html = (await client.get("/")).text
        assert "iLink 机器人没有登录" not in html and "kept-after-a-qr-login" not in html


async def test_seeded_at_small_size_the_figures_match_the_rows(tmp_path: Path, store: Engine) -> None:
    seeded = seed(store, groups=12, orders=400, requests=300, days=40, now=NOW)
    start30 = datetime(2026, 2, 8, 16, 0, tzinfo=UTC)  # local 2026-02-09 00:00, 30 local days to today
    live = [o for o in seeded.orders if o["status"] != "cancelled" and o["created_at"] >= start30]
    links = [r for r in seeded.requests if r["at"] >= start30 and r["outcome"] in ("ok", "late_sent")]
    async with _console(tmp_path, store, clock=lambda: NOW) as console:
        client = await console.logged_in()
        html = (await client.get("/")).text
        assert _cell(html, "id", "orders-2") == str(len(live))
        estimated = sum(o["commission_fen"] for o in live)
        assert _cell(html, "id", "estimated-2") == f"¥{estimated // 100}.{estimated % 100:02d}"
        assert _cell(html, "id", "links-2") == str(len(links))
        for league in ("channels", "taobao", "jd", "pdd"):
            mine = [o for o in live if o["league"] == league]
            assert _cell(html, "data-k", f"{league}-orders-2") == str(len(mine))
        assert len(re.findall(r'<a href="/groups/\d+">', html)) == 10


async def test_the_dashboard_in_a_browser(tmp_path: Path, engine: Engine, browser_page: Any) -> None:
    seed(engine, groups=20, orders=600, requests=400, days=35)
    async with _console(tmp_path, engine) as console:
        client = await console.logged_in()
        expected = _cell((await client.get("/")).text, "id", "orders-2")
        await browser_login(browser_page, console)
        await browser_page.wait_for_selector("#orders-2")
        assert (await browser_page.inner_text("#orders-2")).strip() == expected != "0"
        assert await browser_page.locator("figure.chart-box svg rect").count() > 10
        await browser_page.screenshot(path=str(console.shots / "dashboard.png"), full_page=True)
        await browser_page.set_viewport_size({"width": 375, "height": 800})
        await browser_page.reload()
        width = await browser_page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375  # nothing wider than a phone: tables scroll in their own box
        await browser_page.screenshot(path=str(console.shots / "dashboard-phone.png"), full_page=True)
        await browser_page.set_viewport_size({"width": 1280, "height": 900})
        await browser_page.click('nav a[href="/leagues"]')
        await browser_page.wait_for_selector("h1:has-text('联盟')")
        await browser_page.screenshot(path=str(console.shots / "leagues.png"), full_page=True)
        assert (console.shots / "dashboard.png").stat().st_size > 0


async def test_days_follow_a_zone_whose_offset_is_not_whole_hours(store: Engine) -> None:
    """Asia/Kolkata is UTC+5:30: local midnight falls at 18:30 UTC, not on an hour."""
    from zoneinfo import ZoneInfo

    from bot.orders.dashboard import overview

    gid = ensure_group(store, "3001@chatroom", "印度群").id
    midnight = datetime(2026, 3, 9, 18, 30, tzinfo=UTC)  # 2026-03-10 00:00 in Kolkata
    store_window(
        store,
        "jd",
        [
            (_order(1, midnight - timedelta(minutes=10), 1_000, 100), gid),  # 23:50 yesterday
            (_order(2, midnight + timedelta(minutes=10), 2_000, 200), gid),  # 00:10 today
        ],
        midnight,
    )
    figures = overview(store, midnight + timedelta(hours=6), ZoneInfo("Asia/Kolkata"))
    today, week, _ = figures.periods
    assert (today.total.orders, today.total.estimated_fen) == (1, 200)
    assert (week.total.orders, week.total.estimated_fen) == (2, 300)
    assert figures.commission_by_day["jd"][-2:] == [100, 200]


async def test_a_gateway_account_its_channel_saw_logged_out_needs_attention(
    tmp_path: Path, engine: Engine
) -> None:
    """The channel runs in `tuike run`, the console may run alone: the store carries the news."""
    settings = console_settings(tmp_path)
    settings = settings.model_copy(update={"chat": settings.chat.model_copy(update={"kind": "gateway"})})
    account = f"gateway:{settings.chat.gateway.app_id}"
    async with _console(tmp_path, engine, settings=settings) as console:
        client = await console.logged_in()
        assert "微信网关账号" not in (await client.get("/")).text, "nothing recorded: nothing to say"
        since = datetime(2026, 11, 30, 1, 5, tzinfo=UTC)  # 09:05 in Shanghai
        await asyncio.to_thread(
            chat_state.put_status, engine, account, chat_state.AccountStatus(False, since, "账号掉线了")
        )
        html = (await client.get("/")).text
        assert "从 11-30 09:05 起不在线（账号掉线了）" in html and "扫码重新登录" in html
        await asyncio.to_thread(
            chat_state.put_status, engine, account, chat_state.AccountStatus(True, since, "")
        )
        assert "微信网关账号" not in (await client.get("/")).text


async def test_each_of_several_gateway_accounts_is_watched_on_its_own(tmp_path: Path, engine: Engine) -> None:
    """`[[chat.gateway.accounts]]`: the account that dropped is named; the one still online is not."""
    from bot.config import Settings

    settings = Settings.model_validate(
        {
            "bot": {"data_dir": str(tmp_path / "data")},
            "templates": {"dir": str(tmp_path / "operator-templates")},
            "web": {"enabled": True, "listen": "127.0.0.1:0"},
            "chat": {
                "kind": "gateway",
                "gateway": {
                    "base_url": "http://gw.example/api",
                    "token": "shared-token-5d1",
                    "accounts": [
                        {"name": "sales", "app_id": "wx_sales"},
                        {"name": "support", "app_id": "wx_support"},
                    ],
                },
            },
        }
    )
    async with _console(tmp_path, engine, settings=settings) as console:
        client = await console.logged_in()
        since = datetime(2026, 11, 30, 1, 5, tzinfo=UTC)
        await asyncio.to_thread(
            chat_state.put_status,
            engine,
            "gateway:wx_support",
            chat_state.AccountStatus(False, since, "账号掉线了"),
        )
        await asyncio.to_thread(
            chat_state.put_status, engine, "gateway:wx_sales", chat_state.AccountStatus(True, since, "")
        )
        html = (await client.get("/")).text
        assert "微信网关账号 wx_support「support」" in html and "账号掉线了" in html
        assert "wx_sales" not in html
