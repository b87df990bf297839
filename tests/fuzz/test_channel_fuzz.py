"""Property tests of what a chat platform sends the bot: whatever shape a poll answer has, the channel
logs and skips what it cannot read, answers what it can, moves its cursor past the batch and goes on.
Issue 33 #13 (`"msgs": 5`, `"item_list": 7` ended `tuike run`) is here as a kind."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.chat.base import Incoming
from bot.chat.ilink import IlinkChannel

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
