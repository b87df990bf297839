"""Fixtures for the WeChat channel: a fake puppet service and the bot running against it.

A test that wants "a member asks in a group, what does the bot answer" needs only `wechat_app` and `ask`:

    async def test_keyword(wechat_app, fake_puppet):
        (reply,) = await ask(fake_puppet, "找 蓝牙耳机")
        assert "蓝牙耳机" in reply.text
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app import App
from bot.chat.base import Incoming
from bot.chat.wechaty import WechatyChannel
from bot.config import load_config
from tests.chat.fake_puppet import FakePuppet, Sent, serve_fake_puppet, wait_until

BOT, BOT_NAME = "bot_wxid", "推客小助手"
ALICE, ALICE_NAME = "alice_wxid", "小红"
BOB, BOB_NAME = "bob_wxid", "小明"
OWNER, OWNER_NAME = "owner_wxid", "群主老王"
ROOM, ROOM_TOPIC = "room1@chatroom", "省钱群"
TOKEN = "puppet-token-7f3a9c"

_ids = itertools.count(1)


def say(
    fake: FakePuppet,
    text: str = "",
    *,
    talker: str = ALICE,
    room: str = ROOM,
    mention: bool = True,
    message_id: str | None = None,
    kind: str = "text",
) -> str:
    """A member sends a message (in `room`, or privately with room=""); returns its id."""
    message_id = message_id or f"msg-{next(_ids)}"
    if room and mention and kind == "text":
        text = f"@{BOT_NAME}\u2005{text}"
    fake.add_message(
        message_id,
        talker=talker,
        text=text,
        room=room,
        to="" if room else BOT,
        mentions=[BOT] if room and mention and kind == "text" else [],
        kind=kind,
    )
    fake.emit_message(message_id)
    return message_id


async def ask(fake: FakePuppet, text: str, *, replies: int = 1, **kw: Any) -> list[Sent]:
    """`say` and wait for the bot's next `replies` sends."""
    before = len(fake.sent)
    say(fake, text, **kw)
    await fake.wait_sent(before + replies)
    return fake.sent[before : before + replies]


@pytest.fixture
def fake_puppet() -> FakePuppet:
    fake = FakePuppet(BOT, BOT_NAME)
    fake.add_contact(ALICE, ALICE_NAME)
    fake.add_contact(BOB, BOB_NAME)
    fake.add_contact(OWNER, OWNER_NAME)
    fake.add_room(ROOM, ROOM_TOPIC, [BOT, ALICE, OWNER], owner_id=OWNER)
    return fake


@pytest.fixture
async def puppet_endpoint(fake_puppet: FakePuppet) -> AsyncIterator[str]:
    async with serve_fake_puppet(fake_puppet) as endpoint:
        yield endpoint


@pytest.fixture(autouse=True)
def _no_wechaty_litter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run in an empty folder and check wechaty left nothing there (it defaults to ./.wechaty)."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    yield
    assert not (cwd / ".wechaty").exists()
    assert list(cwd.iterdir()) == []


class Recorder:
    """A channel-level handler that records what arrives."""

    def __init__(self) -> None:
        self.messages: list[Incoming] = []

    async def __call__(self, message: Incoming) -> None:
        self.messages.append(message)

    async def wait(self, count: int, fake: FakePuppet) -> list[Incoming]:
        await fake.wait_until(lambda: len(self.messages) >= count)
        return self.messages[:count]


@contextlib.asynccontextmanager
async def running_channel(
    endpoint: str, data_dir: Path, handler: Callable[[Incoming], Any], **options: Any
) -> AsyncIterator[WechatyChannel]:
    channel = WechatyChannel(endpoint=endpoint, token=TOKEN, data_dir=data_dir, **options)
    task = asyncio.create_task(channel.run(handler))
    try:
        await wait_until(lambda: channel.logged_in or task.done(), within=10)
        assert channel.logged_in, "the channel never logged in"
        yield channel
    finally:
        await asyncio.wait_for(channel.stop(), 10)
        await asyncio.wait_for(task, 10)


def write_config(tmp_path: Path, endpoint: str, extra: str = "", *, chat: str = "") -> Path:
    """A config for `[chat] kind = "wechaty"` at `endpoint`; `extra` lines go in `[chat.wechaty]`,
    `chat` lines in `[chat]`."""
    path = tmp_path / "config.toml"
    path.write_text(
        textwrap.dedent(
            f"""\
            [bot]
            name = "{BOT_NAME}"
            data_dir = "{(tmp_path / "data").as_posix()}"

            [push]
            # a real account is paced (3 s a message); the fake needs no protecting
            rate_per_minute = 600
            jitter_min_seconds = 0
            jitter_max_seconds = 0

            [chat]
            kind = "wechaty"
            # the sandbox league behind a (fake) real chat: allowed on purpose here
            allow_sandbox_with_real_chat = true
            {chat}

            [chat.wechaty]
            endpoint = "{endpoint}"
            token = "{TOKEN}"
            """
        )
        + textwrap.dedent(extra),
        encoding="utf-8",
    )
    return path


@contextlib.asynccontextmanager
async def running_app(
    tmp_path: Path, endpoint: str, extra_config: str = "", *, chat: str = ""
) -> AsyncIterator[App]:
    """The bot as `tuike run` starts it, with `[chat] kind = "wechaty"` pointing at the fake."""
    app = App(load_config(write_config(tmp_path, endpoint, extra_config, chat=chat)))
    task = asyncio.create_task(app.run())
    try:
        await wait_until(lambda: task.done() or getattr(app.channel, "logged_in", False), within=10)
        if task.done():
            task.result()
        yield app
    finally:
        await asyncio.wait_for(app.stop(), 10)
        await asyncio.wait_for(task, 10)


@pytest.fixture
async def wechat_app(tmp_path: Path, puppet_endpoint: str) -> AsyncIterator[App]:
    async with running_app(tmp_path, puppet_endpoint) as app:
        yield app
