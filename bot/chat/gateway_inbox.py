"""The gateway webhook's backlog: messages the gateway delivered (and we acknowledged) until handled.

Why a backlog and not one message at a time: handling a member's request waits for the leagues and then
for the paced sender to let the answer out (seconds on a real account). One at a time, a busy account's
webhook filled any queue and had to answer 503 — and a gateway does not always resend, so a 503 can be a
member's request lost.

* **Concurrent across conversations, in order within one.** A conversation is (chat, sender): one
  member's messages are handled in the order they came, different members' at once, by a fixed pool of
  workers (so what runs at once is bounded, however many conversations wait). A conversation with
  more waiting goes to the back of the line after each message, so one chatty member cannot hold the
  pool.
* **Bounded by memory, not by a small count.** Only what may be a request is offered (chatter is
  dropped before, `bot.chat.gateway_webhook.conversation`), so the backlog holds requests; it takes
  them until `max_messages` or `max_bytes` of bodies. Past that a message is shed (the webhook answers
  503, the gateway may resend) and the log says how many, at most once per `report_seconds`.
* **A stop** lets the messages in flight finish (`drain`), and hands back the ones not started, in the
  order they came, to be kept for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

Payload = dict[str, Any]
Conversation = tuple[str, str]
"""(chat, sender): whose messages must be handled in order."""

WORKERS = 64
"""Messages handled at once. Each waits mostly on the leagues or the paced sender, not the CPU."""
MAX_MESSAGES = 100_000
MAX_BYTES = 64 * 1024 * 1024
"""Bodies kept waiting (as the gateway sent them); parsed, they take a few times that."""
REPORT_SECONDS = 60.0


class Inbox:
    def __init__(
        self,
        handle: Callable[[Payload], Awaitable[None]],
        *,
        workers: int = WORKERS,
        max_messages: int = MAX_MESSAGES,
        max_bytes: int = MAX_BYTES,
        report_seconds: float = REPORT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.handle = handle
        self.workers = workers
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.report_seconds = report_seconds
        self.clock = clock
        self.shed = 0
        """Messages refused because the backlog was full, since the start."""
        self._shed_unreported = 0
        self._reported_at: float | None = None
        self._lanes: dict[Conversation, deque[tuple[int, int, Payload]]] = {}
        self._ready: deque[Conversation] = deque()
        self._signal = asyncio.Semaphore(0)
        self._seq = itertools.count()
        self._waiting = 0
        self._bytes = 0
        self._in_flight: set[asyncio.Future[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def backlog(self) -> int:
        """Messages taken and not handled yet (waiting or in flight)."""
        return self._waiting + len(self._in_flight)

    def offer(self, payload: Payload, conversation: Conversation, size: int = 0) -> bool:
        """Take a message (False: the backlog is full and it was shed; the caller answers 503)."""
        if self._waiting >= self.max_messages or self._bytes + size > self.max_bytes:
            self._note_shed()
            return False
        lane = self._lanes.get(conversation)
        if lane is None:
            lane = self._lanes[conversation] = deque()
            self._ready.append(conversation)
            self._signal.release()
        lane.append((next(self._seq), size, payload))
        self._waiting += 1
        self._bytes += size
        return True

    def _note_shed(self) -> None:
        self.shed += 1
        self._shed_unreported += 1
        now = self.clock()
        if self._reported_at is None or now - self._reported_at >= self.report_seconds:
            log.warning(
                "webhook backlog full (%d messages, %d KB waiting): %d message(s) answered 503 since the "
                "last report, %d in all; the gateway may resend them",
                self._waiting,
                self._bytes // 1024,
                self._shed_unreported,
                self.shed,
            )
            self._reported_at, self._shed_unreported = now, 0

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._work(), name=f"gateway-webhook-worker-{n}") for n in range(self.workers)
        ]

    async def _work(self) -> None:
        while True:
            await self._signal.acquire()
            conversation = self._ready.popleft()
            lane = self._lanes[conversation]
            _seq, size, payload = lane.popleft()
            self._waiting -= 1
            self._bytes -= size
            current = asyncio.ensure_future(self.handle(payload))
            self._in_flight.add(current)
            current.add_done_callback(self._finished)
            await asyncio.wait({current})  # cancelling the worker leaves it running: `drain` lets it finish
            if lane:  # this conversation's next message, behind the others waiting
                self._ready.append(conversation)
                self._signal.release()
            else:
                del self._lanes[conversation]

    def _finished(self, current: asyncio.Future[None]) -> None:
        self._in_flight.discard(current)
        if not current.cancelled() and current.exception() is not None:
            error = current.exception()
            log.error("webhook message could not be handled", exc_info=error)

    def halt(self) -> None:
        """Start no more messages (at a stop: what waits is kept for the next start, `drain`)."""
        for task in self._tasks:
            task.cancel()

    async def drain(self, seconds: float) -> list[Payload]:
        """Stop taking messages to handle: the ones in flight get `seconds` to finish; returns the ones
        not started, in the order they came."""
        self.halt()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=seconds)
        waiting = sorted(item for lane in self._lanes.values() for item in lane)
        self._lanes.clear()
        self._ready.clear()
        self._signal = asyncio.Semaphore(0)
        self._waiting = self._bytes = 0
        return [payload for _seq, _size, payload in waiting]
