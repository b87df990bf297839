"""The paced sender: one queue per chat account, so the account is never banned for sending too fast.

At most `rate_per_minute` messages a minute, a random pause between sends to different groups, and
interactive replies ahead of pushes — but never all of the budget: while pushes wait, at least one
send in every `1 / push_share` goes to the oldest push, so a flood of replies delays a push by a few
sends, not by half an hour. A push delivery is claimed (its `start` hook) only when it
reaches the front of the queue, so a process killed mid-push leaves the groups it had not reached
unclaimed and a restart sends them. A failed send is retried a bounded number of times, then
reported as failed; the queue goes on.

线报 forwards (bot/forward/pipeline.py) queue behind both, in a third line with a share of their own:
while replies or pushes wait, a waiting forward goes after `others_in_a_row` of their sends (one send
in five for the default `forward_share` of 0.2), so forwards can neither starve members' answers and
the daily pushes (they never take more than their share while those wait) nor be starved by them
(they always get it). With nothing else waiting, forwards take the whole budget; the per-minute rate
and the jitter between groups hold for every send alike.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.chat.base import NotHeld, NotInChat, Outgoing, SendRefused
from bot.reasons import reason

log = logging.getLogger(__name__)

INTERACTIVE, PUSH, FORWARD = 0, 1, 2
NOT_IN_CHAT = "\x00not-in-chat\x00"
"""Marks `_deliver`'s detail of a send the platform refused because the account is not in the group."""
NOT_HELD = "\x00not-held\x00"
"""`_deliver`'s detail of a send left out because this replica no longer holds the account's lease."""

Send = Callable[[Outgoing], Awaitable[None]]
Start = Callable[[], Awaitable[bool]]
"""Called when a push reaches the front of the queue; False means "not ours to send" (skip it)."""
Done = Callable[[bool, str], Awaitable[None]]
"""Called after a push: (sent, detail)."""
HandOver = Callable[[str], Awaitable[None]]
"""Called instead of `Done` when the account is not in the group (`NotInChat`): (detail). Not retried."""


@dataclass
class _Item:
    priority: int
    seq: int
    outgoing: Outgoing = field(compare=False)
    start: Start | None = field(compare=False, default=None)
    done: Done | None = field(compare=False, default=None)
    result: asyncio.Future[bool] | None = field(compare=False, default=None)
    hand_over: HandOver | None = field(compare=False, default=None)


class PacedSender:
    def __init__(
        self,
        send: Send,
        *,
        rate_per_minute: float | None = 20,
        jitter: tuple[float, float] = (3.0, 8.0),
        max_attempts: int = 3,
        retry_pause: float = 2.0,
        stall: float = 0.1,
        push_share: float = 0.25,
        forward_share: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        may_send: Callable[[], bool] | None = None,
    ) -> None:
        """`may_send`: asked before a push is claimed and before each try of every send (a cluster
        replica's lease on the account, `bot.cluster`); False drops the message unsent and unclaimed
        here, for the replica that holds the account. None: always."""
        self._send = send
        self.may_send = may_send
        self.interval = 60.0 / rate_per_minute if rate_per_minute else 0.0
        self.jitter = jitter
        self.max_attempts = max_attempts
        self.retry_pause = retry_pause
        self.stall = stall
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self._replies: deque[_Item] = deque()
        self._pushes: deque[_Item] = deque()
        self._forwards: deque[_Item] = deque()
        self.replies_in_a_row = math.ceil((1 - push_share) / push_share) if push_share > 0 else math.inf
        """How many replies may go out in a row while a push waits (3 for a quarter of the budget)."""
        self._streak = 0
        self.others_in_a_row = (
            math.ceil((1 - forward_share) / forward_share) if forward_share > 0 else math.inf
        )
        """How many replies and pushes may go out in a row while a forward waits (4 for a fifth)."""
        self._forward_streak = 0
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._last_at: float | None = None
        self._last_chat = ""
        self.sent = 0
        self.failed = 0
        self.left_out = 0
        """Messages not sent because this replica did not hold the account (`may_send`)."""

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="paced-sender")

    @property
    def shortest_gap(self) -> float:
        """The least time between two pushes to different groups (seconds)."""
        return max(self.interval, self.jitter[0]) if self.jitter[1] > 0 else self.interval

    @property
    def pending(self) -> int:
        return len(self._replies) + len(self._pushes) + len(self._forwards)

    @property
    def forwards_pending(self) -> int:
        """Forwards queued and not yet sent (the forward pipeline's back-pressure reads it)."""
        return len(self._forwards)

    def _put(self, item: _Item) -> None:
        if self._closing:
            raise RuntimeError("sender is closed")
        queues = {INTERACTIVE: self._replies, PUSH: self._pushes, FORWARD: self._forwards}
        queues[item.priority].append(item)
        self._wake.set()

    def _next(self) -> _Item:
        """Replies, then pushes, then forwards; a waiting forward gets its turn after
        `others_in_a_row` replies and pushes sent while it waited (`_next_of_others`)."""
        if self._forwards:
            if (not self._replies and not self._pushes) or self._forward_streak >= self.others_in_a_row:
                self._forward_streak = 0
                return self._forwards.popleft()
            self._forward_streak += 1
        else:
            self._forward_streak = 0
        return self._next_of_others()

    def _next_of_others(self) -> _Item:
        """Replies first, except that a waiting push gets its turn after `replies_in_a_row` replies
        sent while it waited."""
        if not self._pushes:
            self._streak = 0
            return self._replies.popleft()
        if self._replies and self._streak < self.replies_in_a_row:
            self._streak += 1
            return self._replies.popleft()
        self._streak = 0
        return self._pushes.popleft()

    async def reply(self, outgoing: Outgoing) -> bool:
        """Send an interactive reply ahead of any queued push; returns whether it went out."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._put(_Item(INTERACTIVE, next(self._seq), outgoing, result=future))
        return await future

    def push(
        self,
        outgoing: Outgoing,
        *,
        start: Start | None = None,
        done: Done | None = None,
        hand_over: HandOver | None = None,
    ) -> asyncio.Future[bool]:
        return self._queue(PUSH, outgoing, start, done, hand_over)

    def forward(
        self,
        outgoing: Outgoing,
        *,
        start: Start | None = None,
        done: Done | None = None,
        hand_over: HandOver | None = None,
    ) -> asyncio.Future[bool]:
        """Queue a 线报 forward: like `push` (claimed by `start` when it reaches the front), in the
        forwards' own line with its own share of the budget (the module docstring says how)."""
        return self._queue(FORWARD, outgoing, start, done, hand_over)

    def _queue(
        self,
        priority: int,
        outgoing: Outgoing,
        start: Start | None,
        done: Done | None,
        hand_over: HandOver | None,
    ) -> asyncio.Future[bool]:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._put(_Item(priority, next(self._seq), outgoing, start, done, future, hand_over))
        return future

    async def _pace(self, chat_id: str, parts: int) -> None:
        gap = self.interval * max(parts, 1)
        if self._last_chat and chat_id != self._last_chat and self.jitter[1] > 0:
            gap = max(gap, self.rng.uniform(*self.jitter))
        if self._last_at is None:
            target = self.clock()
        else:
            target = self._last_at + gap
            wait = target - self.clock()
            if wait > 0:
                await self.sleep(wait)
        # An absolute schedule: each send is due one gap after the previous one was *due*, so the
        # ~1 ms every sleep oversleeps is made up by the next send instead of adding up. Only a real
        # stall (an idle queue, a retry pause, a slow claim) restarts the schedule from now, so a
        # stall is never followed by a burst of more than `stall` seconds' worth of messages.
        now = self.clock()
        self._last_at = target if now - target <= self.stall else now
        self._last_chat = chat_id

    def _not_held(self) -> bool:
        return self.may_send is not None and not self.may_send()

    async def _deliver(self, item: _Item) -> tuple[bool, str]:
        error = ""
        for attempt in range(1, self.max_attempts + 1):
            await self._pace(item.outgoing.chat_id, len(item.outgoing.reply.parts))
            if self._not_held():
                return False, NOT_HELD
            try:
                await self._send(item.outgoing)
                return True, ""
            except asyncio.CancelledError:
                raise
            except NotHeld:
                return False, NOT_HELD
            except SendRefused as exc:  # the operator's gate: on purpose, so no other try
                return False, f"没有发出：{reason(exc)}"
            except NotInChat as exc:  # no member there: no other try can help
                error = type(exc).__name__ + (f": {reason(exc)}" if str(exc).strip() else "")
                log.warning("send to %s refused: %s", item.outgoing.chat_id, error)
                return False, NOT_IN_CHAT + error
            except Exception as exc:
                error = type(exc).__name__ + (f": {reason(exc)}" if str(exc).strip() else "")
                log.warning(
                    "send to %s failed (try %d/%d): %s",
                    item.outgoing.chat_id,
                    attempt,
                    self.max_attempts,
                    error,
                )
                if attempt < self.max_attempts:
                    await self.sleep(self.retry_pause)
        return False, error

    async def _run(self) -> None:
        while True:
            if not self.pending:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            item = self._next()
            if self._not_held():  # before the claim: a push left unclaimed is the holder's to send
                self._left_out(item)
                continue
            if item.start is not None:
                try:
                    claimed = await item.start()
                except Exception:
                    # e.g. the database is unreachable: without a claim nothing is sent; the next
                    # tick tries again, and the queue goes on
                    log.exception("could not claim the push to %s", item.outgoing.chat_id)
                    claimed = False
                if not claimed:
                    if item.result and not item.result.done():
                        item.result.set_result(False)
                    continue
            ok, detail = await self._deliver(item)
            if detail == NOT_HELD:  # claimed, not sent: the holder's recovery reports it, never resent
                self._left_out(item)
                continue
            self.sent += ok
            self.failed += not ok
            if detail.startswith(NOT_IN_CHAT):
                detail = detail.removeprefix(NOT_IN_CHAT)
                if item.hand_over is not None:
                    try:
                        await item.hand_over(detail)
                    except Exception:
                        log.exception("handing the push to %s over failed", item.outgoing.chat_id)
                    else:
                        if item.result and not item.result.done():
                            item.result.set_result(False)
                        continue
            if item.done is not None:
                try:
                    await item.done(ok, detail)
                except Exception:
                    log.exception("recording the push to %s failed", item.outgoing.chat_id)
            if item.result and not item.result.done():
                item.result.set_result(ok)

    def _left_out(self, item: _Item) -> None:
        self.left_out += 1
        log.info("not sent to %s: this replica no longer holds the account", item.outgoing.chat_id)
        if item.result and not item.result.done():
            item.result.set_result(False)

    async def close(self, *, drain: bool = True) -> None:
        """Stop taking work. With `drain`, send what is queued; without, finish the message in flight
        and leave queued pushes unclaimed (a restart sends them)."""
        self._closing = True
        if not drain:
            for item in (*self._replies, *self._pushes, *self._forwards):
                if item.result and not item.result.done():
                    item.result.set_result(False)
            self._replies.clear()
            self._pushes.clear()
            self._forwards.clear()
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
