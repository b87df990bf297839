"""What the end-to-end tests share: the bot run in-process on the console channel, and the config that
points the Channels league at a sandbox already running (with the real API's settings: sandbox = false,
base_url pointing at it)."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def channels_section(base_url: str) -> str:
    return f"""
[leagues.channels]
sandbox = false
base_url = "{base_url}"
appid = "wx_e2e_org"
secret = "e2e-secret"
sharer_appid = "wx_sharer_demo02"
max_retries = 1
"""


async def run_console(config: Path, lines: str, room: str = "测试群") -> str:
    """`tuike run` with `config`, 小明 typing `lines` in `room` (群主 owns it); all the bot printed."""
    from bot.app import App
    from bot.chat.console import ConsoleChannel
    from bot.config import load_config

    out = io.StringIO()
    channel = ConsoleChannel(
        bot_name="推客小助手",
        room=room,
        member="小明",
        owner="群主",
        stdin=io.StringIO(lines),
        stdout=out,
        interactive=False,
    )
    await App(load_config(config), channel=channel).run()
    return out.getvalue()


@dataclass
class RunningConsole:
    app: Any
    out: io.StringIO
    type: Callable[[str], None]
    """Write lines to the console's input, as 小明 typing them."""


@asynccontextmanager
async def running_console(config: Path) -> AsyncIterator[RunningConsole]:
    """`tuike run` with `config` on a console whose input stays open (a pipe) until the block ends; then
    the input closes, the console ends, and so does the run."""
    from bot.app import App
    from bot.chat.console import ConsoleChannel
    from bot.config import load_config

    read_end, write_end = os.pipe()
    stdin = os.fdopen(read_end, "r", encoding="utf-8")
    out = io.StringIO()
    channel = ConsoleChannel(
        bot_name="推客小助手",
        room="测试群",
        member="小明",
        owner="群主",
        stdin=stdin,
        stdout=out,
        interactive=False,
    )
    app = App(load_config(config), channel=channel)
    run = asyncio.create_task(app.run())

    def type_lines(text: str) -> None:
        os.write(write_end, text.encode())

    try:
        yield RunningConsole(app, out, type_lines)
    finally:
        os.close(write_end)
        await asyncio.wait_for(run, 20)
        stdin.close()
