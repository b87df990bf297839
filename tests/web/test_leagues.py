"""The 联盟 page: health from the calls the league clients made (real calls to the sandbox league over
loopback), the daily quota, settings without secrets, and "测试凭据" against a league that accepts the
credentials and one that refuses them — which the 概览 then lists under 需要处理."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from sqlalchemy import Engine

from bot.config import Settings
from bot.leagues.metering import LEDGER, CallLedger, forget_quota
from bot.leagues.wechat.client import ChannelsClient
from bot.leagues.wechat.league import ChannelsLeague
from tests.web.conftest import Console, serve_console

SECRET = "s3cret-never-on-a-page"


@pytest.fixture(autouse=True)
def _fresh_ledger() -> None:
    LEDGER.reset()
    forget_quota()


def _settings(tmp_path: Path) -> Settings:
    return Settings.model_validate(
        {
            "bot": {"data_dir": str(tmp_path / "data")},
            "templates": {"dir": str(tmp_path / "operator-templates")},
            "web": {"enabled": True, "listen": "127.0.0.1:0"},
            "leagues": {"channels": {"appid": "wx_test_org", "secret": SECRET, "sharer_appid": "wx_me"}},
        }
    )


@asynccontextmanager
async def _console(tmp_path: Path, engine: Engine, **parts: Any) -> AsyncIterator[Console]:
    serving = serve_console(tmp_path, engine, settings=_settings(tmp_path), **parts)
    console = await anext(serving)
    try:
        yield console
    finally:
        await serving.aclose()


@asynccontextmanager
async def _league(sandbox: Any, engine: Engine, secret: str) -> AsyncIterator[ChannelsLeague]:
    client = ChannelsClient(sandbox.base_url, "wx_test_org", secret, engine=engine, backoff=0.001, timeout=2)
    try:
        yield ChannelsLeague(client, mini_program_appid="wx_sandbox_mp")
    finally:
        await client.aclose()


def _figure(html: str, key: str) -> str:
    found = re.search(rf'data-k="{key}">([^<]*)<', html)
    assert found, key
    return found.group(1).strip()


async def test_credentials_accepted_and_the_health_the_calls_leave(
    tmp_path: Path, engine: Engine, sandbox: Any
) -> None:
    async with (
        _league(sandbox, engine, "sandbox") as league,
        _console(tmp_path, engine, leagues={"channels": league}) as console,
    ):
        client = await console.logged_in()
        before = (await client.get("/leagues")).text
        assert "微信小店" in before and "测试凭据" in before
        assert 'action="/leagues/channels/test"' in before
        assert "今日额度" in before and "get_promote_product_list" in before  # read from the sandbox
        assert SECRET not in before and "wx_me" in before  # settings shown, the secret never
        tested = await client.post("/leagues/channels/test")
        assert tested.status_code == 303
        assert "凭据可用" in unquote(tested.headers["location"])
        after = await client.get(tested.headers["location"])
        assert "凭据可用" in after.text
        calls = int(_figure(after.text, "calls-today"))
        assert calls >= 2  # the token and the search (and the quota reads before)
        assert _figure(after.text, "errors-today") == "0"
        assert _figure(after.text, "last-call") == "刚刚"
        again = await client.post("/leagues/channels/test")  # the league's short cache answers
        assert "缓存" in unquote(again.headers["location"])
        dashboard = (await client.get("/")).text
        assert "一切正常" in dashboard


async def test_refused_credentials_are_said_in_chinese_and_need_attention(
    tmp_path: Path, engine: Engine, sandbox: Any
) -> None:
    async with (
        _league(sandbox, engine, "wrong") as league,
        _console(tmp_path, engine, leagues={"channels": league}) as console,
    ):
        client = await console.logged_in()
        tested = await client.post("/leagues/channels/test")
        assert tested.status_code == 200
        assert "「微信小店」拒绝了凭据或接口没有授权" in tested.text
        assert "40125" in tested.text and SECRET not in tested.text and "wrong" not in tested.text
        assert int(_figure(tested.text, "errors-today")) >= 1
        assert _figure(tested.text, "error-rate") != "0.0%"
        dashboard = (await client.get("/")).text
        assert "「微信小店」拒绝了凭据或接口没有授权" in dashboard and 'href="/leagues"' in dashboard
        assert "一切正常" not in dashboard


async def test_a_quota_nearly_used_shows_on_both_pages(tmp_path: Path, engine: Engine, sandbox: Any) -> None:
    sandbox.state.reset_faults(quota_exhausted=True)
    async with (
        _league(sandbox, engine, "sandbox") as league,
        _console(tmp_path, engine, leagues={"channels": league}) as console,
    ):
        client = await console.logged_in()
        html = (await client.get("/leagues")).text
        assert "快用完了" in html
        dashboard = (await client.get("/")).text
        assert "「微信小店」今天的额度快用完了" in dashboard


async def test_no_league_and_an_unknown_one(tmp_path: Path, engine: Engine) -> None:
    async with _console(tmp_path, engine) as console:
        client = await console.logged_in()
        html = (await client.get("/leagues")).text
        assert "没有启用的联盟" in html and "tuike web" in html
        missing = await client.post("/leagues/jd/test")
        assert missing.status_code == 404 and "没有这个联盟" in missing.text


def test_the_ledger_counts_calls_and_errors_per_hour() -> None:
    now = [datetime(2026, 3, 10, 15, 59, tzinfo=UTC)]
    ledger = CallLedger(clock=lambda: now[0])
    ledger.called("jd")
    ledger.failed("jd", TimeoutError())
    now[0] += timedelta(minutes=2)  # the next hour
    ledger.called("jd")
    ledger.succeeded("jd")
    health = ledger.health("jd")
    assert health.failing == 0 and health.last_error == "TimeoutError"
    assert health.calls_since(datetime(2026, 3, 10, 15, 0, tzinfo=UTC)) == (2, 1)
    assert health.calls_since(datetime(2026, 3, 10, 16, 0, tzinfo=UTC)) == (1, 0)
    now[0] += timedelta(hours=60)  # two days later the old hours are gone
    ledger.called("jd")
    assert ledger.health("jd").calls_since(datetime(2026, 3, 1, tzinfo=UTC)) == (1, 0)
    assert ledger.health("pdd").last_call_at is None
