"""Members find what they mean — end to end through the console channel, the app and the sandbox
league over HTTP on 127.0.0.1: any spelling of a model, a brand by another name, brand first."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.app import App
from bot.chat.console import ConsoleChannel
from bot.config import load_config
from tuike_sandbox.server import SandboxServer

pytestmark = pytest.mark.usefixtures("loop_watchdog")


async def _ask(write_config: Callable[..., Path], sandbox: SandboxServer, lines: str) -> list[str]:
    config = write_config(
        f"""
[leagues.channels]
sandbox = false
base_url = "{sandbox.base_url}"
appid = "wx_e2e_org"
secret = "e2e-secret"
sharer_appid = "wx_sharer_demo02"
max_retries = 1

[deals]
member_requests = 30
"""
    )
    out = io.StringIO()
    channel = ConsoleChannel(
        bot_name="推客小助手",
        room="测试群",
        member="小明",
        owner="群主",
        stdin=io.StringIO(lines),
        stdout=out,
        interactive=False,
    )
    await App(load_config(config), channel=channel).run()
    return out.getvalue().split("@小明 ")[1:]


async def test_iphone_15_however_it_is_typed(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    asks = ["找 iphone 15", "找 IPHONE 15", "找 iphone15", "找 苹果手机"]
    replies = await _ask(write_config, sandbox, "".join(f"{a}\n" for a in asks))
    assert len(replies) == len(asks)
    for ask, reply in zip(asks, replies, strict=True):
        assert "iPhone" in reply, (ask, reply)


async def test_huawei_products_come_before_a_cable_that_fits_huawei(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    (reply,) = await _ask(write_config, sandbox, "找 华为\n")
    assert "华为" in reply
    assert "Anker" not in reply and "适用苹果华为" not in reply.split("\n", 3)[1], reply
