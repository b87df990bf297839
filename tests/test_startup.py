"""`tuike run` on the console answers 帮助 at once: it does not wait for the leagues to start."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import bot.leagues.setup
from bot.leagues.sandbox.server import SandboxServer
from tests.e2e import channels_section, running_console
from tests.helpers import wait_until

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
