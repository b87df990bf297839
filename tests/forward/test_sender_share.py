"""Forwards take their own share of an account's paced sender: they never starve members' answers or
the daily pushes, and a flood of those never starves them."""

from __future__ import annotations

import asyncio

from bot.chat.base import Outgoing, Reply
from bot.push.sender import PacedSender
from tests.push.test_sender import FakeTime


def out(chat: str, text: str) -> Outgoing:
    return Outgoing(chat, Reply.text(text))


def _sender(sent: list[str], t: FakeTime) -> PacedSender:
    async def send(o: Outgoing) -> None:
        sent.append(o.reply.parts[0].text)  # type: ignore[union-attr]

    return PacedSender(
        send,
        rate_per_minute=20,
        jitter=(3, 8),
        clock=t.clock,
        sleep=t.sleep,
        push_share=0.25,
        forward_share=0.2,
    )


async def test_forwards_wait_behind_replies_and_pushes_but_get_one_send_in_five() -> None:
    t, sent = FakeTime(), []
    sender = _sender(sent, t)
    forwards = [sender.forward(out(f"f{i}", f"forward{i}")) for i in range(20)]
    pushes = [sender.push(out(f"p{i}", f"push{i}")) for i in range(20)]
    replies = [sender.reply(out(f"r{i}", f"reply{i}")) for i in range(20)]
    tasks = [asyncio.ensure_future(r) for r in replies]
    sender.start()
    await asyncio.gather(*forwards, *pushes, *tasks)
    await sender.close()
    first_twenty = sent[:20]
    kinds = [s.rstrip("0123456789") for s in first_twenty]
    assert kinds.count("forward") == 4, f"a fifth of the sends while others wait: {first_twenty}"
    assert kinds.count("reply") + kinds.count("push") == 16
    assert kinds[:3] == ["reply"] * 3, "replies still go first (then a push: its quarter)"
    assert kinds[4] == "forward", "a forward after four others"
    assert [s for s in sent if s.startswith("forward")] == [f"forward{i}" for i in range(20)], "in order"


async def test_forwards_alone_take_the_whole_budget() -> None:
    t, sent = FakeTime(), []
    sender = _sender(sent, t)
    forwards = [sender.forward(out("f", f"forward{i}")) for i in range(6)]
    sender.start()
    assert all(await asyncio.gather(*forwards))
    await sender.close()
    assert sent == [f"forward{i}" for i in range(6)]
    assert t.now <= 5 * 3.0 + 1e-9, "same group: paced by the rate only (3 s at 20/min)"


async def test_a_forward_not_claimed_is_not_sent_and_close_leaves_the_rest() -> None:
    t, sent = FakeTime(), []
    sender = _sender(sent, t)

    async def lost() -> bool:
        return False

    first = sender.forward(out("f", "mine-not"), start=lost)
    sender.start()
    assert await first is False
    queued = [sender.forward(out(f"g{i}", f"forward{i}")) for i in range(3)]
    await sender.close(drain=False)
    assert sent == [] or sent == ["forward0"]
    assert all(f.done() for f in queued)
