"""The 联盟 page's organisation part for Channels, against the sandbox over loopback: the funds
reconciled against the synced orders (a difference beyond the tolerance shows under 需要处理 on the
概览, with the order behind it), the talents' windows, the clues, and the missing funds permission.
One test drives it in Debian's Chromium."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.config import Settings
from bot.leagues.base import Spot
from bot.leagues.metering import LEDGER, forget_quota
from bot.leagues.wechat.client import ChannelsClient
from bot.leagues.wechat.league import ChannelsLeague
from bot.orders.funds import forget
from bot.store.groups import ensure_group
from bot.store.orders import store_window
from bot.web.pages.leagues import forget_org
from tests.web.conftest import Console, browser_login, serve_console
from tuike_sandbox.server import SandboxServer

SHARER = Spot("channels", sharer_appid="wx_sharer_demo01")


@pytest.fixture(autouse=True)
def _fresh() -> None:
    LEDGER.reset()
    forget_quota()
    forget()
    forget_org()


@pytest.fixture
async def behind() -> AsyncIterator[SandboxServer]:
    """The sandbox with its clock ten minutes behind: the orders of links issued now are settled by now."""
    async with SandboxServer(clock=lambda: time.time() - 600) as server:
        yield server


def _settings(tmp_path: Path, tolerance: int) -> Settings:
    return Settings.model_validate(
        {
            "bot": {"data_dir": str(tmp_path / "data")},
            "templates": {"dir": str(tmp_path / "operator-templates")},
            "web": {"enabled": True, "listen": "127.0.0.1:0"},
            "orders": {"funds_tolerance_fen": tolerance},
        }
    )


@asynccontextmanager
async def _setup(
    tmp_path: Path, engine: Engine, sandbox: SandboxServer, tolerance: int = 0
) -> AsyncIterator[tuple[Console, ChannelsLeague]]:
    talents = sandbox.state.catalogue.talents
    client = ChannelsClient(
        sandbox.base_url, "wx_test_org", "sandbox", engine=engine, backoff=0.001, timeout=5
    )
    league = ChannelsLeague(
        client,
        mini_program_appid="wx_sandbox_mp",
        talent_names={t.talent_appid: t.nickname for t in talents},
        talent_finders={t.talent_appid: t.openfinderid for t in talents[:2] + talents[-1:]},
    )
    serving = serve_console(
        tmp_path, engine, settings=_settings(tmp_path, tolerance), leagues={"channels": league}
    )
    console = await anext(serving)
    try:
        yield console, league
    finally:
        await serving.aclose()
        await client.aclose()


async def _sell(sandbox: SandboxServer, league: ChannelsLeague, engine: Engine) -> list[str]:
    """Three orders through the group's links, all settled and synced."""
    for p in [p for p in sandbox.state.catalogue.products if p.status == 1 and p.plan_type == 2][:3]:
        await league.promote(await league.product(str(p.product_id), p.shop_appid), SHARER)
    for order in sandbox.state.orders():
        sandbox.state.order_status[order["order_id"]] = 100
    synced = await league.orders_since(datetime.now(UTC) - timedelta(days=1))
    group = await asyncio.to_thread(ensure_group, engine, "a@chatroom", "宝妈福利群")
    await asyncio.to_thread(
        store_window, engine, "channels", [(o, group.id) for o in synced], datetime.now(UTC)
    )
    return sorted({o.order_id for o in synced})


async def test_reconciled_funds_windows_and_clues_on_the_page(
    tmp_path: Path, store: Engine, behind: SandboxServer
) -> None:
    async with _setup(tmp_path, store, behind) as (console, league):
        await _sell(behind, league, store)
        client = await console.logged_in()
        html = (await client.get("/leagues")).text
        assert "资金对账" in html and "可提现余额" in html and "订单同步算作已结算" in html
        assert 'data-k="difference">¥0.00<' in html
        assert "没有分账流水" not in html
        assert "达人橱窗" in html and "读不了橱窗（达人还没有授权橱窗给机构）" in html
        talent = behind.state.catalogue.talents[0]
        assert f"{talent.nickname}：160 件商品" in html
        assert "线索（自营" in html and "宝妈互助群-小鹿" in html
        dashboard = (await client.get("/")).text
        assert "一切正常" in dashboard and "对账差额" not in dashboard


async def test_no_funds_permission_is_said_on_the_page_not_as_a_failure(
    tmp_path: Path, engine: Engine, behind: SandboxServer
) -> None:
    behind.state.funds_permitted = False
    async with _setup(tmp_path, engine, behind) as (console, _league):
        client = await console.logged_in()
        html = (await client.get("/leagues")).text
        assert 'data-k="funds-permission"' in html and "48001" in html and "机构资金" in html
        dashboard = (await client.get("/")).text
        assert "一切正常" in dashboard


async def test_a_difference_shows_under_attention_in_a_browser(
    tmp_path: Path, engine: Engine, behind: SandboxServer, browser_page: Any
) -> None:
    async with _setup(tmp_path, engine, behind, tolerance=0) as (console, league):
        orders = await _sell(behind, league, engine)
        behind.state.withheld_flows.add(orders[0])
        await browser_login(browser_page, console)
        attention = browser_page.locator("ul.alerts li", has_text="对账差额")
        await attention.wait_for()
        text = await attention.inner_text()
        assert "「微信小店」对账差额 -¥" in text and orders[0] in text and "没有分账流水" in text
        await browser_page.screenshot(path=str(console.shots / "attention-funds.png"), full_page=True)
        await attention.locator("a").click()
        await browser_page.wait_for_selector("#funds-channels")
        missing = browser_page.locator("table.funds-missing tbody tr")
        assert await missing.count() == 1
        row = await missing.first.inner_text()
        assert orders[0] in row and "宝妈福利群" in row
        difference = await browser_page.inner_text('[data-k="difference"]')
        assert difference.startswith("-¥")
        await browser_page.screenshot(path=str(console.shots / "leagues-funds.png"), full_page=True)
