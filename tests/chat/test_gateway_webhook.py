"""The gateway's webhook under load and under attack, over real HTTP on 127.0.0.1: a busy account's
requests are taken (not answered 503) while others are handled, chatter never queues, what cannot be
kept is logged with a count, and connections that never finish a request cannot starve the real
callback."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.chat.asgi import AsgiServer, RepeatedErrors
from bot.chat.base import Incoming
from bot.chat.gateway import GatewayChannel
from bot.chat.gateway_inbox import Inbox
from bot.handlers.parse import may_be_request
from tests.chat.fake_gateway import FakeGateway
from tests.chat.fake_http import serve_asgi, wait_until

BOT, BOT_NAME = "wxid_bot01", "推客小助手"
ALICE, BOB, CAROL = "wxid_alice", "wxid_bob", "wxid_carol"
ROOM = "20870958924@chatroom"
TOKEN, APP_ID = "gewe-token-5c1d9e", "wx_app_7f3a"


@pytest.fixture
def gateway() -> FakeGateway:
    fake = FakeGateway(token=TOKEN, app_id=APP_ID, bot_wxid=BOT, bot_name=BOT_NAME)
    fake.add_room(ROOM, "省钱群", "wxid_owner", {ALICE: "小红", BOB: "小明", CAROL: "小刚"})
    return fake


@pytest.fixture
async def gateway_base(gateway: FakeGateway) -> AsyncIterator[str]:
    async with serve_asgi(gateway.app) as url:
        yield f"{url}/v2/api"


@contextlib.asynccontextmanager
async def serving(channel: GatewayChannel, handler: Any) -> AsyncIterator[GatewayChannel]:
    task = asyncio.create_task(channel.run(handler))
    try:
        await wait_until(lambda: channel.logged_in or task.done(), within=15)
        if task.done():
            task.result()
        yield channel
    finally:
        await channel.stop()
        await asyncio.wait_for(task, 10)


class Held:
    """A handler that records what it got and holds a chosen member's messages until released."""

    def __init__(self, hold: str) -> None:
        self.hold = hold
        self.got: list[tuple[str, str]] = []
        self.release = asyncio.Event()

    async def __call__(self, message: Incoming) -> None:
        self.got.append((message.sender_id, message.text))
        if message.sender_id == self.hold:
            await self.release.wait()


async def test_while_one_members_request_waits_others_are_answered_and_each_members_order_kept(
    gateway_base: str, gateway: FakeGateway
) -> None:
    """One message at a time, a request waiting for the leagues (or the pace) held every member of every
    group; the webhook's queue filled and the gateway got 503s: lost requests."""
    handler = Held(ALICE)
    channel = GatewayChannel(base_url=gateway_base, token=TOKEN, app_id=APP_ID, listen_port=0)
    async with serving(channel, handler):
        for sender, text in ((ALICE, "找 保温杯"), (ALICE, "找 牙刷"), (BOB, "找 耳机"), (CAROL, "帮助")):
            assert (await gateway.deliver(gateway.text(text, sender=sender, room=ROOM))).status_code == 200
        await wait_until(lambda: len(handler.got) == 3)
        assert handler.got == [(ALICE, "找 保温杯"), (BOB, "找 耳机"), (CAROL, "帮助")]
        handler.release.set()
        await wait_until(lambda: len(handler.got) == 4)
        assert handler.got[-1] == (ALICE, "找 牙刷"), "a member's second message waits for the first"


async def test_more_requests_than_the_old_queue_held_are_all_taken_while_the_bot_is_busy(
    gateway_base: str, gateway: FakeGateway
) -> None:
    handler = Held(ALICE)
    channel = GatewayChannel(base_url=gateway_base, token=TOKEN, app_id=APP_ID, listen_port=0)
    async with serving(channel, handler):
        gate = asyncio.Semaphore(20)  # a gateway posts a few at a time, as the probe did

        async def deliver(n: int) -> int:
            async with gate:
                body = gateway.text(f"找 第{n}件", sender=ALICE, room=ROOM, new_msg_id=10_000 + n)
                return (await gateway.deliver(body)).status_code

        statuses = await asyncio.gather(*(deliver(n) for n in range(1_050)))
        assert set(statuses) == {200}, "over the old queue's 1,000: none answered 503"
        assert channel.inbox.backlog == 1_050
        handler.release.set()
        await wait_until(lambda: len(handler.got) == 1_050, within=60)
        assert sorted(text for _sender, text in handler.got) == sorted(f"找 第{n}件" for n in range(1_050))


async def test_group_chatter_that_gets_no_answer_is_dropped_before_it_is_queued(
    gateway_base: str, gateway: FakeGateway
) -> None:
    handler = Held(ALICE)
    channel = GatewayChannel(
        base_url=gateway_base, token=TOKEN, app_id=APP_ID, listen_port=0, may_be_request=may_be_request
    )
    async with serving(channel, handler):
        await gateway.deliver(gateway.text("找 保温杯", sender=ALICE, room=ROOM))  # holds the pool's lane
        await wait_until(lambda: len(handler.got) == 1)
        chatter = ["今天天气不错", "哈哈哈", "晚上吃什么", "[捂脸]"]
        dropped = channel.chatter_dropped  # the gateway's own test call at registration is one
        for line in chatter:
            answer = await gateway.deliver(gateway.text(line, sender=BOB, room=ROOM, mention=False))
            assert answer.status_code == 200, "chatter is acknowledged, so the gateway does not resend it"
        kept = [
            gateway.text("找 耳机", sender=BOB, room=ROOM, mention=False),  # a command: answered unmentioned
            gateway.text("在吗", sender=CAROL, room=ROOM),  # said to the bot (@ in the at-list)
            gateway.text("在吗", sender=CAROL, room=""),  # a private chat: always for the bot
        ]
        for body in kept:
            assert (await gateway.deliver(body)).status_code == 200
        assert channel.chatter_dropped - dropped == len(chatter)
        await wait_until(lambda: len(handler.got) == 4)
        assert [text for _sender, text in handler.got[1:]] == ["找 耳机", "在吗", "在吗"]
        handler.release.set()


async def test_a_full_backlog_answers_503_and_the_log_counts_what_was_shed(
    gateway_base: str, gateway: FakeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    handler = Held(ALICE)
    channel = GatewayChannel(base_url=gateway_base, token=TOKEN, app_id=APP_ID, listen_port=0)
    channel.inbox.max_messages = 3
    async with serving(channel, handler):
        with caplog.at_level(logging.WARNING, logger="bot.chat.gateway_inbox"):
            statuses = []
            for n in range(8):
                body = gateway.text(f"找 第{n}件", sender=ALICE, room=ROOM)
                statuses.append((await gateway.deliver(body)).status_code)
        await wait_until(lambda: len(handler.got) == 1)
        # the first is in flight, three wait: the rest are shed, and said so once with a count
        assert statuses == [200] * 4 + [503] * 4 or statuses == [200] * 3 + [503] * 5
        assert channel.inbox.shed == statuses.count(503)
        lines = [r.getMessage() for r in caplog.records if "backlog full" in r.getMessage()]
        assert len(lines) == 1 and "1 message(s) answered 503" in lines[0]
        handler.release.set()


def test_shedding_is_reported_once_per_period_with_the_count_since_the_last_report(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]

    async def handle(_payload: dict[str, Any]) -> None:
        return None

    inbox = Inbox(handle, max_messages=1, report_seconds=60, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="bot.chat.gateway_inbox"):
        assert inbox.offer({"n": 0}, ("room", "a"))
        assert not any(inbox.offer({"n": n}, ("room", "b")) for n in range(1, 101))
        now[0] = 61.0
        assert not inbox.offer({"n": 101}, ("room", "c"))
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert "1 message(s) answered 503" in lines[0] and "100 message(s) answered 503" in lines[1]
    assert "101 in all" in lines[1]


# -- starving the webhook ---------------------------------------------------------------------------


async def _half_open(port: int, path: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection that starts a request and never finishes its head."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n".encode())
    await writer.drain()
    return reader, writer


async def test_half_open_connections_past_the_cap_never_keep_the_real_callback_out(
    gateway_base: str, gateway: FakeGateway
) -> None:
    """Without the secret: 1,100 half-open requests once held every file descriptor of the process, and
    the real callback timed out."""
    got: list[str] = []

    async def record(message: Incoming) -> None:
        got.append(message.text)

    channel = GatewayChannel(
        base_url=gateway_base, token=TOKEN, app_id=APP_ID, listen_port=0, max_connections=8, header_seconds=60
    )
    async with serving(channel, record):
        held = [await _half_open(channel.listen_port, "/gateway/callback") for _ in range(30)]
        try:
            assert channel.webhooks.server is not None
            guard = channel.webhooks.server.guard
            await wait_until(lambda: guard.evicted >= 30 - 8)
            assert len(guard.open) <= 8, "never more connections than the cap"
            answer = await gateway.deliver(gateway.text("帮助", sender=ALICE, room=ROOM))
            assert answer.status_code == 200
            await wait_until(lambda: got == ["帮助"])
        finally:
            for _reader, writer in held:
                writer.close()


async def test_a_request_head_that_never_ends_is_cut_off_at_the_deadline() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise AssertionError("no request ever reaches the app")

    server = AsgiServer(app, "127.0.0.1", 0, name="test-server", max_connections=8, header_seconds=0.2)
    port = await server.start()
    try:
        reader, writer = await _half_open(port, "/")
        silent_reader, silent_writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(reader.read(), 30) == b"", "the server closed the connection"
        assert await asyncio.wait_for(silent_reader.read(), 30) == b"", "so it does one that says nothing"
        assert server.guard.timed_out == 2
        writer.close()
        silent_writer.close()
    finally:
        await server.stop()


def test_out_of_file_descriptors_is_logged_once_a_minute_with_a_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """81,385 "Too many open files" lines in 20 s once: the event loop logs each refused accept."""
    now = [0.0]
    quiet = RepeatedErrors(("socket.accept() out of system resource",), clock=lambda: now[0])
    logger = logging.getLogger("asyncio")
    installed = [f for f in logger.filters if isinstance(f, RepeatedErrors)]
    for f in installed:
        logger.removeFilter(f)
    logger.addFilter(quiet)
    loop = asyncio.new_event_loop()
    try:
        with caplog.at_level(logging.ERROR, logger="asyncio"):
            for n in range(1_001):
                if n == 1_000:
                    now[0] = 61.0
                loop.call_exception_handler(
                    {
                        "message": "socket.accept() out of system resource",
                        "exception": OSError(errno.EMFILE, "Too many open files"),
                    }
                )
            loop.call_exception_handler({"message": "something else went wrong"})
    finally:
        loop.close()
        logger.removeFilter(quiet)
        for f in installed:
            logger.addFilter(f)
    lines = [r.getMessage() for r in caplog.records if r.name == "asyncio"]
    assert len(lines) == 3
    assert "Too many open files" in lines[0] and "(1 time(s)" in lines[0]
    assert "(1000 time(s)" in lines[1]
    assert lines[2].startswith("something else went wrong")


async def test_a_flooded_console_never_starves_the_webhook_nor_the_reverse(
    gateway_base: str, gateway: FakeGateway
) -> None:
    """The webhook has its own server, with its own cap: half-open connections to the web console's
    port use up the console's share of the process's file descriptors, never the webhook's."""
    got: list[str] = []

    async def record(message: Incoming) -> None:
        got.append(message.text)

    async def console_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    console = AsgiServer(
        console_app, "127.0.0.1", 0, name="web-console", max_connections=8, header_seconds=60
    )
    console_port = await console.start()
    channel = GatewayChannel(
        base_url=gateway_base, token=TOKEN, app_id=APP_ID, listen_port=0, max_connections=8, header_seconds=60
    )
    held: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        async with serving(channel, record):
            assert channel.webhooks.server is not None
            webhook = channel.webhooks.server.guard
            held += [await _half_open(console_port, "/login") for _ in range(40)]
            await wait_until(lambda: console.guard.evicted >= 40 - 8)
            assert len(console.guard.open) <= 8 and not webhook.open, "the flood stays on the console's port"
            assert (await gateway.deliver(gateway.text("帮助", sender=ALICE, room=ROOM))).status_code == 200
            await wait_until(lambda: got == ["帮助"])

            held += [await _half_open(channel.listen_port, "/gateway/callback") for _ in range(40)]
            await wait_until(lambda: webhook.evicted >= 40 - 8)
            reader, writer = await asyncio.open_connection("127.0.0.1", console_port)
            writer.write(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert (await asyncio.wait_for(reader.readline(), 30)).startswith(b"HTTP/1.1 200")
            writer.close()
    finally:
        for _reader, writer in held:
            writer.close()
        await console.stop()
