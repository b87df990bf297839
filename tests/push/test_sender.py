"""The paced sender with a fake clock: order, rate, jitter, retries, and a clean stop."""

from __future__ import annotations

import asyncio
import itertools
import random

from bot.chat.base import Outgoing, Reply
from bot.push.sender import PacedSender
from tests.helpers import wait_until


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0)
        await asyncio.sleep(0)


def out(chat: str, text: str = "hi") -> Outgoing:
    return Outgoing(chat, Reply.text(text))


async def test_interactive_replies_jump_the_push_queue_and_rate_is_kept() -> None:
    t = FakeTime()
    sent: list[tuple[float, str]] = []

    async def send(o: Outgoing) -> None:
        sent.append((t.now, o.reply.parts[0].text))  # type: ignore[union-attr]

    sender = PacedSender(
        send, rate_per_minute=20, jitter=(3, 8), clock=t.clock, sleep=t.sleep, rng=random.Random(1)
    )
    pushes = [sender.push(out(f"g{i}", f"push{i}")) for i in range(5)]
    reply = asyncio.ensure_future(sender.reply(out("g9", "reply")))
    sender.start()
    await asyncio.gather(*pushes, reply)
    await sender.close()
    texts = [s[1] for s in sent]
    assert texts[0] == "reply", "the interactive reply goes first"
    assert texts[1:] == [f"push{i}" for i in range(5)]
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(sent)]
    assert all(gap >= 3.0 for gap in gaps), "20/min and 3–8 s between different groups"
    assert all(gap <= 8.0 + 1e-9 for gap in gaps)
    assert len(set(round(g, 3) for g in gaps)) > 1, "jitter varies"


async def test_same_group_is_paced_by_rate_only() -> None:
    t = FakeTime()
    times: list[float] = []

    async def send(o: Outgoing) -> None:
        times.append(t.now)

    sender = PacedSender(send, rate_per_minute=60, jitter=(3, 8), clock=t.clock, sleep=t.sleep)
    futures = [sender.push(out("g1")) for _ in range(4)]
    sender.start()
    await asyncio.gather(*futures)
    await sender.close()
    assert [round(b - a, 6) for a, b in itertools.pairwise(times)] == [1.0, 1.0, 1.0]


async def test_a_failing_send_is_retried_then_recorded_and_the_rest_goes_on() -> None:
    t = FakeTime()
    attempts: dict[str, int] = {}
    results: list[tuple[str, bool, str]] = []

    async def send(o: Outgoing) -> None:
        attempts[o.chat_id] = attempts.get(o.chat_id, 0) + 1
        if o.chat_id == "bad" or (o.chat_id == "flaky" and attempts[o.chat_id] == 1):
            raise ConnectionError("puppet gone")

    sender = PacedSender(
        send, rate_per_minute=600, jitter=(0, 0), max_attempts=3, clock=t.clock, sleep=t.sleep
    )

    def done_for(chat: str):  # type: ignore[no-untyped-def]
        async def done(ok: bool, detail: str) -> None:
            results.append((chat, ok, detail))

        return done

    futures = [sender.push(out(c), done=done_for(c)) for c in ("a", "bad", "flaky", "b")]
    sender.start()
    outcome = await asyncio.gather(*futures)
    await sender.close()
    assert outcome == [True, False, True, True]
    assert attempts == {"a": 1, "bad": 3, "flaky": 2, "b": 1}
    assert ("bad", False, "ConnectionError: puppet gone") in results
    assert sender.failed == 1


async def test_a_push_not_claimed_is_skipped() -> None:
    sent: list[str] = []

    async def send(o: Outgoing) -> None:
        sent.append(o.chat_id)

    async def lose() -> bool:
        return False

    sender = PacedSender(send, rate_per_minute=None, jitter=(0, 0))
    sender.start()
    assert await sender.push(out("g1"), start=lose) is False
    await sender.close()
    assert sent == []


async def test_close_without_drain_leaves_queued_pushes_unclaimed() -> None:
    claimed: list[str] = []
    gate = asyncio.Event()

    async def send(o: Outgoing) -> None:
        await gate.wait()

    def claim_for(chat: str):  # type: ignore[no-untyped-def]
        async def start() -> bool:
            claimed.append(chat)
            return True

        return start

    sender = PacedSender(send, rate_per_minute=None, jitter=(0, 0))
    futures = [sender.push(out(f"g{i}"), start=claim_for(f"g{i}")) for i in range(5)]
    sender.start()
    await wait_until(lambda: claimed == ["g0"])  # g0 is in flight, held at the gate
    closing = asyncio.ensure_future(sender.close(drain=False))
    await wait_until(lambda: sender.pending == 0)  # the queued pushes are dropped
    gate.set()
    await closing
    assert claimed == ["g0"], "only the message in flight was claimed"
    assert await futures[0] is True
    assert [await f for f in futures[1:]] == [False] * 4


async def test_a_claim_that_fails_skips_that_push_and_the_queue_goes_on() -> None:
    sent: list[str] = []

    async def send(o: Outgoing) -> None:
        sent.append(o.chat_id)

    async def broken() -> bool:
        raise OSError("database is unreachable")

    sender = PacedSender(send, rate_per_minute=None, jitter=(0, 0))
    sender.start()
    first = sender.push(out("g1"), start=broken)
    second = sender.push(out("g2"))
    assert await first is False
    assert await second is True
    await sender.close()
    assert sent == ["g2"]


class OversleepingTime(FakeTime):
    """Every sleep wakes 1.5 ms late, as asyncio.sleep does on a busy machine."""

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds + 0.0015)


async def test_sleep_overshoots_do_not_add_up_over_a_long_push() -> None:
    t = OversleepingTime()
    times: list[float] = []

    async def send(o: Outgoing) -> None:
        times.append(t.now)

    sender = PacedSender(send, rate_per_minute=60_000, jitter=(0, 0), clock=t.clock, sleep=t.sleep)
    futures = [sender.push(out(f"g{i}")) for i in range(200)]
    sender.start()
    await asyncio.gather(*futures)
    await sender.close()
    assert times[-1] < 0.199 + 0.002, "200 messages at 1,000/s end on schedule (not 200 × 2.5 ms)"
    sent_by = [sum(1 for x in times if x <= k * 0.01) for k in range(1, 20)]
    assert all(n <= k * 10 + 2 for k, n in enumerate(sent_by, start=1)), "never ahead of the rate"


async def test_after_a_stall_the_schedule_restarts_instead_of_bursting() -> None:
    t = FakeTime()
    times: list[float] = []

    async def send(o: Outgoing) -> None:
        times.append(t.now)
        if len(times) == 3:
            t.now += 30  # the chat platform hung for 30 s on this one

    sender = PacedSender(send, rate_per_minute=60, jitter=(0, 0), clock=t.clock, sleep=t.sleep)
    futures = [sender.push(out("g1")) for _ in range(6)]
    sender.start()
    await asyncio.gather(*futures)
    await sender.close()
    gaps = [round(b - a, 6) for a, b in itertools.pairwise(times)]
    assert gaps[3:] == [1.0, 1.0], "after the stall, one a second again: no catch-up burst"


async def test_a_flood_of_replies_cannot_starve_a_push() -> None:
    """100 replies queued behind one push at 20/min used to hold it back ~27 minutes; now it goes out
    within the first four sends, and pushes keep a quarter of the sends while both wait."""
    t = FakeTime()
    sent: list[tuple[float, str]] = []

    async def send(o: Outgoing) -> None:
        sent.append((t.now, o.reply.parts[0].text))  # type: ignore[union-attr]

    sender = PacedSender(
        send, rate_per_minute=20, jitter=(3, 8), clock=t.clock, sleep=t.sleep, push_share=0.25
    )
    replies = [asyncio.ensure_future(sender.reply(out("g1", f"reply{i}"))) for i in range(100)]
    await asyncio.sleep(0)
    pushes = [sender.push(out(f"p{i}", f"push{i}")) for i in range(10)]
    sender.start()
    await asyncio.gather(*replies, *pushes)
    await sender.close()
    texts = [text for _, text in sent]
    assert texts[:4] == ["reply0", "reply1", "reply2", "push0"]
    first = texts.index("push0")
    assert sent[first][0] < 60, "the push goes out within a minute, not after every reply"
    assert sum(text.startswith("push") for text in texts[:40]) == 10
    assert [text for text in texts if text.startswith("reply")] == [f"reply{i}" for i in range(100)]


async def test_replies_sent_while_no_push_waited_do_not_count_against_the_next_push() -> None:
    """The share is taken only from replies sent while a push waited: after a quiet hour of answers, a
    member's question still goes ahead of a push that has just been queued."""
    sender = PacedSender(lambda o: asyncio.sleep(0), rate_per_minute=None, jitter=(0, 0))
    waiting = [asyncio.ensure_future(sender.reply(out("g1", f"reply{i}"))) for i in range(10)]
    await asyncio.sleep(0)  # queued (the sender is not started: we take items ourselves)
    for _ in range(10):
        sender._next()
    sender.push(out("p", "push"))
    waiting.append(asyncio.ensure_future(sender.reply(out("g1", "question"))))
    await asyncio.sleep(0)
    assert sender._next().outgoing.reply.parts[0].text == "question"  # type: ignore[union-attr]
    assert sender._next().outgoing.reply.parts[0].text == "push"  # type: ignore[union-attr]
    for future in waiting:
        future.cancel()
