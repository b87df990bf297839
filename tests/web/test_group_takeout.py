"""The group page lists a group's 外卖红包 push times beside its daily deals, and the operator adds and
removes them there — the same rows 订阅 外卖 10:30 makes in the group."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.config import Settings
from bot.store import subscriptions
from bot.store.groups import ensure_group
from tests.web.conftest import Console, serve_console


def _settings(tmp_path: Path, *, takeout: bool) -> Settings:
    return Settings.model_validate(
        {
            "bot": {"data_dir": str(tmp_path / "data")},
            "templates": {"dir": str(tmp_path / "operator-templates")},
            "web": {"enabled": True, "listen": "127.0.0.1:0"},
            "leagues": {"eleme": {"enabled": takeout}},
        }
    )


async def _console(tmp_path: Path, store: Engine, *, takeout: bool) -> AsyncIterator[tuple[Console, int]]:
    group = ensure_group(store, "console:外卖群", "外卖群", "console:群主", "console")
    assert group.id is not None
    async for console in serve_console(tmp_path, store, settings=_settings(tmp_path, takeout=takeout)):
        yield console, group.id


@pytest.fixture
async def takeout_on(tmp_path: Path, store: Engine) -> AsyncIterator[tuple[Console, int]]:
    async for pair in _console(tmp_path, store, takeout=True):
        yield pair


@pytest.fixture
async def takeout_off(tmp_path: Path, store: Engine) -> AsyncIterator[tuple[Console, int]]:
    async for pair in _console(tmp_path, store, takeout=False):
        yield pair


def _times(engine: Engine, gid: int) -> list[str]:
    return [s.at_time for s in subscriptions.for_group(engine, gid) if s.kind == "takeout"]


async def test_a_takeout_time_added_shown_and_removed(takeout_on: tuple[Console, int]) -> None:
    console, gid = takeout_on
    client: Any = await console.logged_in()
    page = await client.get(f"/groups/{gid}")
    assert "外卖红包推送" in page.text and "还没有外卖红包推送" in page.text

    added = await client.post(f"/groups/{gid}/takeout", data={"at_time": "10:30"})
    assert added.status_code == 303
    assert _times(console.engine, gid) == ["10:30"]
    shown = await client.get(added.headers["location"])
    assert "每天 10:30 的外卖红包推送加好了" in shown.text
    assert "takeout-slots" in shown.text
    assert "每天 10:30" in shown.text

    again = await client.post(f"/groups/{gid}/takeout", data={"at_time": "上午10点半"})
    assert again.status_code == 303
    assert "没有重复加" in (await client.get(again.headers["location"])).text
    assert _times(console.engine, gid) == ["10:30"]

    bad = await client.post(f"/groups/{gid}/takeout", data={"at_time": "25:99"})
    assert bad.status_code == 400 and "不是一个时间" in bad.text
    assert _times(console.engine, gid) == ["10:30"]

    removed = await client.post(f"/groups/{gid}/takeout/remove", data={"at_time": "10:30"})
    assert removed.status_code == 303 and _times(console.engine, gid) == []
    gone = await client.post(f"/groups/{gid}/takeout/remove", data={"at_time": "10:30"})
    assert gone.status_code == 409 and "没有 10:30 的外卖红包推送" in gone.text
    assert (await client.post("/groups/999999/takeout", data={"at_time": "10:30"})).status_code == 404


async def test_a_daily_deals_time_is_not_touched_by_the_takeout_form(takeout_on: tuple[Console, int]) -> None:
    console, gid = takeout_on
    subscriptions.add_daily_slot(console.engine, gid, "10:30", "")
    client: Any = await console.logged_in()
    await client.post(f"/groups/{gid}/takeout", data={"at_time": "10:30"})
    await client.post(f"/groups/{gid}/takeout/remove", data={"at_time": "10:30"})
    assert subscriptions.daily_times(console.engine, gid) == ["10:30"]


async def test_without_a_takeout_league_the_page_offers_none_but_still_shows_old_times(
    takeout_off: tuple[Console, int],
) -> None:
    console, gid = takeout_off
    client: Any = await console.logged_in()
    assert "外卖红包推送" not in (await client.get(f"/groups/{gid}")).text
    refused = await client.post(f"/groups/{gid}/takeout", data={"at_time": "10:30"})
    assert refused.status_code == 409 and "外卖联盟" in refused.text
    assert _times(console.engine, gid) == []

    subscriptions.subscribe(console.engine, gid, "takeout", "11:00")  # made while the league was on
    page = await client.get(f"/groups/{gid}")
    assert "每天 11:00" in page.text and "外卖联盟没打开" in page.text
    assert f'action="/groups/{gid}/takeout"' not in page.text
