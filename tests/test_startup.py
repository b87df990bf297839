"""`tuike run` on the console answers 帮助 at once: it waits neither for the leagues nor for the store."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

import bot.app
import bot.leagues.setup
from bot.config import Settings, load_config
from bot.store.groups import ensure_group, set_blocked
from tests.e2e import channels_section, running_console
from tests.helpers import wait_until
from tuike_sandbox.server import SandboxServer

pytestmark = pytest.mark.usefixtures("loop_watchdog")


async def test_help_is_answered_while_the_leagues_are_still_starting_and_a_search_waits_for_them(
    sandbox: SandboxServer, write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    leagues_may_open = asyncio.Event()
    opening = bot.leagues.setup.open_leagues

    async def open_when_allowed(*args: Any, **kwargs: Any) -> Any:
        await leagues_may_open.wait()
        return await opening(*args, **kwargs)

    monkeypatch.setattr(bot.leagues.setup, "open_leagues", open_when_allowed)
    async with running_console(write_config(channels_section(sandbox.base_url))) as console:
        out = console.out
        try:
            console.type("帮助\n找 蓝牙耳机\n")
            await wait_until(lambda: "找商品" in out.getvalue(), 20)
            assert not leagues_may_open.is_set()
            assert out.getvalue().count("@小明 ") == 1, "the search waits for the leagues"

            leagues_may_open.set()
            await wait_until(lambda: out.getvalue().count("@小明 ") == 2, 20)
        finally:
            leagues_may_open.set()  # else the run could not end
    search = out.getvalue().split("@小明 ")[2]
    assert "耳机" in search, search


async def test_the_console_answers_before_the_store_opens_and_a_blocked_group_stays_silent(
    sandbox: SandboxServer, write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store already at the newest schema opens in the background (SQLAlchemy is a third of a second
    of imports); meanwhile the blocked list is read from the file, so a blocked group is not answered
    even then."""
    config = write_config(channels_section(sandbox.base_url))
    await asyncio.to_thread(_block_the_console_room, config)

    loop = asyncio.get_running_loop()
    store_may_open = asyncio.Event()
    opening = bot.app.prepare_database

    def open_when_allowed(settings: Settings) -> Engine:  # a worker thread runs it
        asyncio.run_coroutine_threadsafe(store_may_open.wait(), loop).result(30)
        return opening(settings)

    monkeypatch.setattr(bot.app, "prepare_database", open_when_allowed)
    async with running_console(config) as console:
        out = console.out
        try:
            console.type("帮助\n/room 二群\n帮助\n")
            await wait_until(lambda: "找商品" in out.getvalue(), 20)
            assert console.app.engine is None, "answered before the store opened"
            assert out.getvalue().count("@小明 ") == 1, "only 二群: 测试群 is blocked"
            assert out.getvalue().index("找商品") > out.getvalue().index("二群")
        finally:
            store_may_open.set()
        await wait_until(lambda: console.app.engine is not None, 20)


def _block_the_console_room(config: Path) -> None:
    """The store as a first start leaves it, with the console's room blocked in the web console."""
    engine = bot.app.prepare_database(load_config(config).settings)
    blocked = ensure_group(engine, "console:测试群", "测试群")
    set_blocked(engine, blocked.id or 0, True)
    engine.dispose()


async def test_a_console_whose_input_ends_after_its_answer_stops_without_waiting_for_the_rest(
    sandbox: SandboxServer, write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`printf '帮助\\n' | tuike run` answered at once but exited only once the leagues, SQLAlchemy and
    the web console were imported and built, which nobody would use any more."""
    imports_may_finish = threading.Event()

    def imports_that_never_finish() -> None:  # the start-up work beyond 帮助, stuck
        imports_may_finish.wait(60)

    monkeypatch.setattr(bot.app, "_import_serving_modules", imports_that_never_finish)
    try:
        async with running_console(write_config(channels_section(sandbox.base_url))) as console:
            console.type("帮助\n")
            await wait_until(lambda: "找商品" in console.out.getvalue(), 20)
        # the input closed as the block ended, and the run has ended with it
        assert console.app.jobs is None and not console.app.leagues, "nothing more was built"
    finally:
        imports_may_finish.set()
