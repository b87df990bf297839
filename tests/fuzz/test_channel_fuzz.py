"""Property tests of the chat channels' edges. In: whatever shape a poll answer has, the channel logs
and skips what it cannot read, answers what it can, moves its cursor past the batch and goes on
(issue 33 #13: `"msgs": 5`, `"item_list": 7` ended `tuike run`). Out: whatever sends it, a message
to a group passes the router's gate (issue 33 #5: welcomes went round the allow-list and blocks).
Again: a message redelivered after any number of restarts is handled once (issue 33 #12)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from bot.chat.base import Incoming, Outgoing, Reply, SendRefused
from bot.chat.gate import gate_sends
from bot.chat.ilink import IlinkChannel
from bot.handlers.router import BlockedRooms, GroupGate
from bot.store import chat_state

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
"""Any JSON value, as a server that went wrong may send it anywhere."""


@st.composite
def ilink_messages(draw: st.DrawFn) -> Any:
    """A message close to a real one, with any field swapped for any JSON — or no message at all."""
    message: dict[str, Any] = {
        "message_id": draw(st.integers(1, 10**6)),
        "from_user_id": "o9cq80_m@im.wechat",
        "message_type": 1,
        "item_list": [{"type": 1, "text_item": {"text": draw(st.sampled_from(["帮助", "找 耳机", ""]))}}],
        "context_token": "ctx",
    }
    for key in draw(st.lists(st.sampled_from([*message, "text_item"]), max_size=3)):
        if key == "text_item":
            message["item_list"] = [{"type": 1, "text_item": draw(JSON)}, draw(JSON)]
        else:
            message[key] = draw(JSON)
    return draw(st.one_of(st.just(message), JSON))


@st.composite
def poll_answers(draw: st.DrawFn) -> dict[str, Any]:
    answer: dict[str, Any] = {"ret": 0, "get_updates_buf": draw(st.text(min_size=1, max_size=6))}
    answer["msgs"] = draw(st.one_of(st.lists(ilink_messages(), max_size=4), JSON))
    for key in draw(st.lists(st.sampled_from(["get_updates_buf", "longpolling_timeout_ms"]), max_size=2)):
        answer[key] = draw(JSON)
    return answer


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answer=poll_answers())
@example(answer={"ret": 0, "msgs": 5, "get_updates_buf": "c1"})
@example(
    answer={"ret": 0, "msgs": [{"message_type": 1, "from_user_id": "u", "message_id": 1, "item_list": 7}]}
)
def test_any_ilink_poll_answer_is_handled_or_skipped_and_the_cursor_moves(answer: dict[str, Any]) -> None:
    async def go() -> tuple[list[Incoming], str]:
        channel = IlinkChannel(base_url="http://127.0.0.1:9", token="t")
        got: list[Incoming] = []

        async def handler(message: Incoming) -> None:
            got.append(message)

        try:
            await channel._handle_batch(answer, handler)
        finally:
            await channel.client.aclose()
        return got, channel._cursor

    got, cursor = asyncio.run(go())
    moved = answer.get("get_updates_buf")
    if isinstance(moved, str) and moved:
        assert cursor == moved, "the cursor moves past every batch, readable or not"
    assert all(m.text.strip() and not m.is_group for m in got)


ALLOWED, OUTSIDE, BLOCKED = "1001@chatroom", "2002@chatroom", "3003@chatroom"
ADMIN, PRIVATE = "9009@chatroom", "wxid_member"


class _Recording:
    name = account = "fuzz"

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, message: Outgoing) -> None:
        self.sent.append(message.chat_id)


@settings(max_examples=200, deadline=None)
@given(
    sends=st.lists(
        st.tuples(
            st.sampled_from([ALLOWED, OUTSIDE, BLOCKED, ADMIN, PRIVATE, "console:省钱群", "console:别的群"]),
            st.sampled_from([None, True, False]),
        ),
        max_size=12,
    ),
    allowed=st.booleans(),
)
def test_every_send_to_a_group_passes_the_gate_whatever_sends_it(
    sends: list[tuple[str, bool | None]], allowed: bool
) -> None:
    """Issue 33 #5 as a kind: welcomes, notices, broadcasts and answers alike reach a group only when
    the router's gate would let that group's messages in (the admin chat excepted)."""
    gate = GroupGate(
        [ALLOWED, BLOCKED, "console:省钱群"] if allowed else [], BlockedRooms(lambda: frozenset({BLOCKED}))
    )
    channel = _Recording()
    gate_sends(channel, gate.refuses, exempt={ADMIN})  # type: ignore[arg-type]

    def may(chat_id: str, asked_in_group: bool | None) -> bool:
        """The oracle, written out: a group is known by the message it answers, else by its id."""
        in_group = asked_in_group if asked_in_group is not None else chat_id != PRIVATE
        if chat_id == ADMIN or not in_group:
            return True
        if chat_id == BLOCKED:
            return False
        return not allowed or chat_id in (ALLOWED, "console:省钱群")

    async def go() -> None:
        for chat_id, asked_in_group in sends:
            asker = None
            if asked_in_group is not None:
                asker = Incoming("m", chat_id, "", "u", "", "帮助", is_group=asked_in_group)
            try:
                await channel.send(Outgoing(chat_id, Reply.text("hi"), reply_to=asker))
            except SendRefused:  # the sender records it as not sent
                refused.append(chat_id)

    refused: list[str] = []
    asyncio.run(go())
    assert channel.sent == [chat_id for chat_id, asked in sends if may(chat_id, asked)]
    assert refused == [chat_id for chat_id, asked in sends if not may(chat_id, asked)]


_accounts = itertools.count()


@pytest.fixture(scope="module")
def seen_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    from bot.store import db

    engine = db.make_engine(f"sqlite:///{tmp_path_factory.mktemp('seen') / 'seen.db'}")
    db.upgrade(engine)
    yield engine
    engine.dispose()


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    deliveries=st.lists(st.tuples(st.text(min_size=1, max_size=140), st.booleans()), min_size=1, max_size=20),
)
def test_any_redelivery_across_restarts_is_answered_once(
    seen_store: Engine, deliveries: list[tuple[str, bool]]
) -> None:
    """Issue 33 #12 as a kind: whatever ids a gateway sends (long, odd, repeated) and however often the
    bot restarts between them (nothing kept in memory), each message is claimed exactly once."""
    account = f"gateway:fuzz{next(_accounts)}"  # a fresh account each example: none saw these ids
    claimed: list[str] = []
    for message_id, restart in deliveries:
        if restart:
            chat_state.prune_seen(seen_store, account)  # what a fresh start does first
        if chat_state.claim_message(seen_store, account, message_id):
            claimed.append(message_id[:123])
    assert sorted(claimed) == sorted({m[:123] for m, _ in deliveries})
