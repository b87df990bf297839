"""A send the gate refuses (a group blocked after its push was queued, or outside `[chat]
allowed_groups`) is not recorded as sent: the push's result says it did not go out and why, the
sender does not try again, and the next message still goes."""

from __future__ import annotations

from bot.chat.base import Outgoing, Reply
from bot.chat.gate import gate_sends
from bot.push.sender import PacedSender
from tests.push.test_sender import FakeTime, out


class _Channel:
    name = "fake"

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.tries = 0

    async def send(self, message: Outgoing) -> None:
        self.tries += 1
        self.sent.append(message.chat_id)


async def test_a_refused_push_is_reported_not_sent_and_not_retried() -> None:
    channel = _Channel()
    blocked = {"blocked@chatroom"}

    async def refuses(chat_id: str, is_group: bool) -> str:
        return "运营停用了这个群" if chat_id in blocked else ""

    gate_sends(channel, refuses)  # type: ignore[arg-type]
    t = FakeTime()
    sender = PacedSender(channel.send, rate_per_minute=60, jitter=(0, 0), clock=t.clock, sleep=t.sleep)
    results: list[tuple[bool, str]] = []

    async def done(ok: bool, detail: str) -> None:
        results.append((ok, detail))

    first = sender.push(out("blocked@chatroom"), done=done)
    second = sender.push(out("open@chatroom"), done=done)
    sender.start()
    assert await first is False
    assert await second is True
    await sender.close()
    assert channel.sent == ["open@chatroom"]
    assert channel.tries == 1, "the refused one never reached the channel, and was not tried again"
    assert results == [(False, "没有发出：运营停用了这个群"), (True, "")]
    assert (sender.sent, sender.failed) == (1, 1)


async def test_a_refused_reply_says_it_did_not_go_out() -> None:
    channel = _Channel()

    async def refuses(chat_id: str, is_group: bool) -> str:
        return "不在 allowed_groups 里"

    gate_sends(channel, refuses)  # type: ignore[arg-type]
    sender = PacedSender(channel.send, rate_per_minute=None, jitter=(0, 0))
    sender.start()
    assert await sender.reply(Outgoing("other@chatroom", Reply.text("hi"))) is False
    await sender.close()
    assert channel.sent == []
