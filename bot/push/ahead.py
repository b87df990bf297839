"""The claim-ahead queue: queued pushes claimed in the push log in batches, just ahead of the sender.

On PostgreSQL a commit costs a millisecond or more, so a claim per message could not keep 2,000
messages a second. The sender's `start` hook for a push (`ClaimAhead.claim`) finds it claimed by a
batch taken earlier, or claims it with the pushes queued behind it (as many as the sender sends in
`CLAIM_AHEAD_SECONDS`) in one transaction, which also carries the "sent" marks waiting to be written.
Once half a batch is sent the next one is claimed in the background, so the sender never waits.

The guarantees stay those of one claim per message: a slot is sent at most once (the claim is the
push log's unique row), a batch a killed process held is reported per slot as interrupted by its
restart (never resent), and slots claimed ahead that the sender never reaches are given back, so the
next tick or a restart sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Protocol

from sqlalchemy import Engine

from bot.push import claims
from bot.reasons import reason

log = logging.getLogger(__name__)

Key = tuple[int, str]
"""(group id, slot): one push in the push log."""

MARK_WITH_NEXT_CLAIM_BELOW = 0.05
"""Seconds between pushes below which a "sent" mark waits for the next claim's transaction."""
CLAIM_AHEAD_SECONDS = 0.05
"""How far ahead of the sender pushes are claimed, in sending time: at 2,000 messages a second that is
a batch of 100 slots per transaction; at a real account's pace (seconds apart) one slot, as before.
It bounds what a killed process can leave half-sent: each such slot is reported, never resent."""
CLAIM_BATCH_MAX = 200
FIRST_BATCH_SHARE = 10
"""When the sender has to wait for a claim (nothing claimed ahead: it is starting on a queue), the
batch it waits for is this fraction of a full one: a commit costs about as much for 10 rows as for 1,
but 100 rows and their marks take 2-3 times as long, and the first send waits for all of it. The full
batch is claimed behind it while those are sent."""


class Paced(Protocol):
    """What the queue needs of the paced sender: how close together its pushes go."""

    @property
    def shortest_gap(self) -> float: ...


def _claim_done(task: asyncio.Task[None]) -> None:
    """A batch claimed in the background failed (the database unreachable): said here. None of it is
    sent unclaimed: the push the sender reaches first is left for the next tick, as a failed claim
    always was, and the rest are claimed again when reached."""
    error = None if task.cancelled() else task.exception()
    if error is not None:
        log.warning("claiming a batch of pushes failed: %s", reason(error))


class ClaimAhead:
    """One push service's queued pushes, from `add` (queued on the sender) to `settled` (sent,
    skipped or dropped), and the marks waiting to be written."""

    def __init__(self, engine: Engine, sender: Paced, owner: str) -> None:
        self.engine = engine
        self.sender = sender
        self.owner = owner
        self.queued: set[Key] = set()
        """Queued on the sender and not settled yet (claimed or not)."""
        self._marks: list[claims.Mark] = []
        self._waiting: dict[Key, claims.Ahead] = {}
        """Queued pushes not claimed yet, in queue order (the next batch is taken from the front)."""
        self._ahead: set[Key] = set()
        """Claimed in a batch, not yet reached by the sender."""
        self._lost: set[Key] = set()
        """Found claimed by someone else when their batch was claimed: skipped when reached."""
        self._releasing: set[asyncio.Task[None]] = set()
        self._claiming: tuple[asyncio.Task[None], set[Key]] | None = None
        """The batch being claimed and its keys."""
        self._flush: asyncio.Task[None] | None = None
        self.waits = 0
        """How often the sender reached a push whose claim it had to wait for (bench/push.py prints it)."""
        self.waited_s = 0.0
        """The sender's time spent waiting for those claims, in seconds."""

    def add(self, ahead: claims.Ahead) -> None:
        """A push was queued on the sender: claimed when it (or a push before it) is reached."""
        self.queued.add(ahead.key)
        self._waiting[ahead.key] = ahead

    def batch_size(self) -> int:
        """Slots per claim transaction: as many as the sender sends in `CLAIM_AHEAD_SECONDS`, at
        least one. An unpaced sender (no rate) claims one at a time: how long a batch would wait for
        its last send is unknown."""
        gap = self.sender.shortest_gap
        if gap <= 0:
            return 1
        return max(1, min(CLAIM_BATCH_MAX, int(CLAIM_AHEAD_SECONDS / gap)))

    async def claim(self, key: Key) -> bool:
        """The sender reached `key`: ours when a batch claimed it; else claim it with the pushes queued
        behind it, one transaction (carrying the "sent" marks that wait) for the batch. Once half a
        batch is sent the next one is claimed in the background, so the sender never waits for it."""
        if key in self._ahead:  # the usual case at pace: claimed by an earlier batch
            self._ahead.discard(key)
            self._claim_more()
            return True
        waited = time.perf_counter()
        try:
            return await self._claim_waiting(key)
        finally:
            self.waits += 1
            self.waited_s += time.perf_counter() - waited

    def _claim_more(self) -> None:
        size = self.batch_size()
        if size > 1 and len(self._ahead) * 2 <= size:  # one at a time claims nothing ahead
            self._claim_next()

    async def _claim_waiting(self, key: Key) -> bool:
        for _ in range(4):  # at most: wait for another batch, claim ours, see how it went
            if key in self._ahead:
                self._ahead.discard(key)
                self._claim_more()
                return True
            if key in self._lost:
                self._lost.discard(key)
                return False
            claiming = self._claiming
            if claiming is not None and not claiming[0].done():
                if key in claiming[1]:
                    await asyncio.shield(claiming[0])  # raises what the claim raised
                else:
                    await asyncio.wait([claiming[0]])  # another batch: its failure is not ours
                continue
            if key not in self._waiting:  # dropped while it waited (the sender closed)
                return False
            self._claim_next(first=key)
        return False

    def _claim_next(self, first: Key | None = None) -> None:
        """Claim the next batch of queued pushes (`first` at its front) in the background, unless a
        batch is being claimed."""
        if self._claiming is not None and not self._claiming[0].done():
            return
        size = self.batch_size()
        if first is not None:  # the sender waits for this one: a small batch, the next right behind it
            size = max(1, size // FIRST_BATCH_SHARE)
        batch = [self._waiting.pop(first)] if first is not None else []
        while self._waiting and len(batch) < size:
            batch.append(self._waiting.pop(next(iter(self._waiting))))
        if not batch:
            return
        task = asyncio.get_running_loop().create_task(self._claim_batch(batch), name="push-claim")
        task.add_done_callback(_claim_done)
        self._claiming = (task, {a.key for a in batch})

    async def _claim_batch(self, batch: list[claims.Ahead]) -> None:
        marks, self._marks = self._marks, []
        try:
            won = await asyncio.to_thread(claims.claim_batch, self.engine, batch, self.owner, marks=marks)
        except BaseException:
            self._marks[:0] = marks  # not written: the next claim or the flush tries again
            queued = {a.key: a for a in batch if a.key in self.queued}  # each is tried again when reached
            self._waiting = {**queued, **self._waiting}
            raise
        for ahead in batch:
            if ahead.key not in self.queued:  # dropped while the batch was claimed
                if ahead.key in won:
                    self._release([ahead.key])
                continue
            (self._ahead if ahead.key in won else self._lost).add(ahead.key)

    def _release(self, keys: list[Key]) -> None:
        """Slots claimed ahead that the sender will never reach (it closed): given back in the
        background, so a restart or the next tick sends them. Should that fail, they stay claimed and
        the restart reports them as interrupted: never sent twice."""

        async def give_back() -> None:
            try:
                await asyncio.to_thread(claims.release, self.engine, keys, self.owner)
            except Exception:
                log.exception("giving back %d unsent push slot(s) failed", len(keys))

        task = asyncio.get_running_loop().create_task(give_back(), name="push-release")
        self._releasing.add(task)
        task.add_done_callback(self._releasing.discard)

    def settled(self, key: Key) -> None:
        """The push's future resolved (sent, failed, handed over, skipped or dropped)."""
        self.queued.discard(key)
        waiting = self._waiting.pop(key, None)
        self._lost.discard(key)
        if key in self._ahead or (waiting is not None and waiting.reserved):
            # claimed in a batch (or reserved when composed), dropped before the sender reached it
            self._ahead.discard(key)
            self._release([key])
        if not self.queued and self._marks and (self._flush is None or self._flush.done()):
            # the pushes after ours were dropped (the sender closed) or not claimed: write the marks
            # that were waiting for them
            self._flush = asyncio.get_running_loop().create_task(self.write_marks(), name="push-marks")

    async def record(self, key: Key, mark: claims.Mark) -> None:
        """A push's result. At high rates its mark rides in the next claim's transaction (one commit
        per batch instead of one per message); at a real account's pace (seconds apart) it is written
        at once, so a process killed between two pushes reports the last one as sent, not as
        interrupted; so it is too when no push of ours follows."""
        self._marks.append(mark)
        if self.sender.shortest_gap >= MARK_WITH_NEXT_CLAIM_BELOW or not self.queued - {key}:
            await self.write_marks()

    async def write_marks(self) -> None:
        marks, self._marks = self._marks, []
        if not marks:
            return
        try:
            await asyncio.to_thread(claims.write_marks, self.engine, marks)
        except Exception:
            self._marks[:0] = marks
            log.exception("recording %d push result(s) failed", len(marks))

    async def stop(self) -> None:
        """Wait for the batch being claimed, write the marks that wait, finish giving slots back."""
        if self._claiming is not None:
            with contextlib.suppress(Exception):  # said by `_claim_done`
                await self._claiming[0]
        if self._flush is not None:
            await self._flush
        await self.write_marks()
        if self._releasing:
            await asyncio.gather(*self._releasing)
