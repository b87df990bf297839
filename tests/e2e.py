"""What the end-to-end tests share: the bot run in-process on the console channel, and the config that
points the Channels league at a sandbox already running (with the real API's settings: sandbox = false,
base_url pointing at it)."""

from __future__ import annotations

import io
from pathlib import Path


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
