"""iLink members' context tokens survive a restart (issue 31): a member who wrote before the bot
restarted (or before another replica took the bot over) is still answered, within their day and their
budget, and the tokens never show in a log line. Against the fake iLink server over real HTTP, on
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.chat.base import ChatUnavailable, Incoming, Outgoing, Reply
from bot.chat.ilink import IlinkChannel
from bot.store import ilink_contexts
from tests.chat.fake_http import serve_asgi, wait_until
from tests.chat.fake_ilink import FakeIlink

ALICE, BOB = "o9cq80_alice@im.wechat", "o9cq80_bob@im.wechat"
BOT_TOKEN = "bot-token-ctx-test"


@pytest.fixture
def ilink() -> FakeIlink:
    fake = FakeIlink(hold_seconds=0.3)
    fake.tokens.add(BOT_TOKEN)
    return fake


@pytest.fixture
async def ilink_url(ilink: FakeIlink) -> AsyncIterator[str]:
    async with serve_asgi(ilink.app) as url:
        yield url


class Clock:
    """The wall clock the channel stores token times by; the test moves it."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@contextlib.asynccontextmanager
async def running(
    ilink_url: str, store: Engine, handler: Callable[[Incoming], Any], wall: Clock, **options: Any
) -> AsyncIterator[IlinkChannel]:
    channel = IlinkChannel(base_url=ilink_url, token=BOT_TOKEN, engine=store, wall_clock=wall, **options)
    task = asyncio.create_task(channel.run(handler))
    try:
        await wait_until(lambda: channel.logged_in or task.done(), within=15)
        if task.done():
            task.result()
        yield channel
    finally:
        await channel.stop()
        await asyncio.wait_for(task, 15)


async def test_a_member_who_wrote_before_a_restart_is_still_answered(
    ilink: FakeIlink, ilink_url: str, store: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wall, got = Clock(), []

    async def record(message: Incoming) -> None:
        got.append(message.text)

    async with running(ilink_url, store, record, wall, sends_per_user=2) as first:
        ilink.say(ALICE, "找 保温杯")
        await wait_until(lambda: got == ["找 保温杯"])
        await first.send(Outgoing(ALICE, Reply.text("在找了，稍等")))
    token = ilink.sent[0].context_token

    wall.now += timedelta(hours=2)
    async with running(ilink_url, store, record, wall, sends_per_user=2) as again:
        # the answer the first run owed, sent after the restart with the member's token
        await again.send(Outgoing(ALICE, Reply.text("找到了：保温杯 ¥39")))
        assert [(s.to, s.context_token) for s in ilink.sent] == [(ALICE, token), (ALICE, token)]
        with pytest.raises(ChatUnavailable, match="budget"):
            await again.send(Outgoing(ALICE, Reply.text("第三条")))  # the budget counted across runs
        with pytest.raises(ChatUnavailable, match="last day"):
            await again.send(Outgoing(BOB, Reply.text("你好")))  # Bob never wrote
    assert ilink.refused == [], "nothing was sent iLink would refuse"
    assert token not in caplog.text, "context tokens never show in a log line"


async def test_a_token_past_its_day_is_not_used_after_a_restart(
    ilink: FakeIlink, ilink_url: str, store: Engine
) -> None:
    wall, got = Clock(), []

    async def record(message: Incoming) -> None:
        got.append(message.text)

    async with running(ilink_url, store, record, wall):
        ilink.say(ALICE, "帮助")
        await wait_until(lambda: got == ["帮助"])
    wall.now += timedelta(hours=25)
    async with running(ilink_url, store, record, wall) as again:
        with pytest.raises(ChatUnavailable, match="last day"):
            await again.send(Outgoing(ALICE, Reply.text("晚了")))
    assert ilink.sent == []
    stale = await asyncio.to_thread(
        ilink_contexts.load, store, "ilink:default", wall.now - timedelta(days=30)
    )
    assert stale == [], "a token past its window is forgotten at the start"


async def test_a_refused_token_stays_refused_after_a_restart(
    ilink: FakeIlink, ilink_url: str, store: Engine
) -> None:
    wall, got = Clock(), []

    async def record(message: Incoming) -> None:
        got.append(message.text)

    ilink.budget = 0
    async with running(ilink_url, store, record, wall) as first:
        ilink.say(ALICE, "帮助")
        await wait_until(lambda: got == ["帮助"])
        with pytest.raises(ChatUnavailable):
            await first.send(Outgoing(ALICE, Reply.text("你好")))
    assert ilink.refused == [ALICE]
    ilink.budget = 10
    async with running(ilink_url, store, record, wall) as again:
        with pytest.raises(ChatUnavailable, match="until they write again"):
            await again.send(Outgoing(ALICE, Reply.text("再试")))
        ilink.say(ALICE, "在吗")  # a new message: a new token, a new window
        await wait_until(lambda: got[-1:] == ["在吗"])
        await again.send(Outgoing(ALICE, Reply.text("在的")))
    assert ilink.refused == [ALICE] and [s.text for s in ilink.sent] == ["在的"]


def test_the_newest_token_of_a_member_wins_and_counts_are_kept_per_token(store: Engine) -> None:
    at = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    account = "ilink:default"
    ilink_contexts.keep(store, account, [ilink_contexts.Context(ALICE, "tok-1", at)])
    ilink_contexts.note_sent(store, account, ALICE, "tok-1", sent=3, refused=False)
    ilink_contexts.keep(store, account, [ilink_contexts.Context(ALICE, "tok-2", at + timedelta(minutes=5))])
    ilink_contexts.note_sent(store, account, ALICE, "tok-1", sent=9, refused=True)  # late news of the old one
    (kept,) = ilink_contexts.load(store, account, at - timedelta(days=1))
    assert (kept.token, kept.sent, kept.refused) == ("tok-2", 0, False)
    assert kept.received_at == at + timedelta(minutes=5)
    assert ilink_contexts.load(store, "ilink:other", at - timedelta(days=1)) == [], "per account"
    assert ilink_contexts.prune(store, account, at + timedelta(hours=1)) == 1
