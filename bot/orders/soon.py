"""The money loop made visible in the embedded default (`make run`: console channel, sandbox leagues).

The sandbox's leagues place an order a minute or two after a link is issued (like a member who buys),
but the scheduled order sync runs every `[orders] sync_minutes` (15): a newcomer who searches, waits
and asks 佣金 hears 「还没有订单」 and never sees the loop close. So, in the embedded default only:

* after a link is issued, a sync runs `AFTER_LINK` seconds later (when the sandbox's orders for it
  exist), however many links were issued meanwhile;
* an owner's 佣金 first syncs when the last sync is older than `STALE` seconds (within the answer's
  deadline: a slow sync leaves the answer to what is stored, and goes on for the next ask).

Real leagues are left to the schedule: their orders take minutes to hours to appear, and every sync
costs API quota.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

from bot.orders.sync import SyncBusy

log = logging.getLogger(__name__)

AFTER_LINK: tuple[float, ...] = (100.0, 170.0)
"""Seconds after a link is issued when a sync runs: the sandbox's orders for a link are placed a minute
and two minutes after it and updated half a minute later (tuike_sandbox.server `orders`)."""
STALE = 60.0
"""An owner's 佣金 syncs first when the last sync is older than this."""


class SoonSync:
    """Syncs soon after links are issued and before an owner's 佣金 (see the module)."""

    def __init__(
        self,
        sync: Callable[[], Awaitable[object]],
        *,
        after: Iterable[float] = AFTER_LINK,
        stale: float = STALE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sync = sync
        self.after = tuple(after)
        self.stale = stale
        self.clock = clock
        self.last: float | None = None
        """When the last sync this process ran (here or on the schedule) finished, or None."""
        self._due: list[float] = []
        self._worker: asyncio.Task[None] | None = None
        self._running: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def synced(self) -> None:
        """A sync finished (also the scheduled one: `OrderSync.after`)."""
        self.last = self.clock()

    def link_issued(self) -> None:
        """A new link was made: sync when the sandbox's orders for it exist."""
        now = self.clock()
        self._due.extend(now + a for a in self.after)
        self._due = sorted(set(self._due))[-2 * len(self.after) :]  # a burst of links: the last ones count
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._work(), name="orders-soon")
        self._wake.set()

    async def fresh(self, deadline: float) -> None:
        """Before 佣金: sync when the last one is older than `stale`, waiting at most `deadline` seconds."""
        if self.last is not None and self.clock() - self.last < self.stale:
            return
        running = self._start()
        try:
            await asyncio.wait_for(asyncio.shield(running), deadline)
        except TimeoutError:
            log.info(
                "orders: sync before 佣金 still running after %.1f s; answering with what is stored", deadline
            )

    def _start(self) -> asyncio.Task[None]:
        if self._running is None or self._running.done():
            self._running = asyncio.get_running_loop().create_task(self._run(), name="orders-soon-sync")
        return self._running

    async def _run(self) -> None:
        try:
            results = await self.sync()
            for r in results if isinstance(results, list) else ():
                log.info("orders %s: %d fetched (%d new, %d changed)", r.league, r.fetched, r.new, r.changed)
        except SyncBusy:
            log.debug("orders: another process is syncing")
        except Exception:
            log.exception("orders: sync after a new link failed")
        self.synced()

    async def _work(self) -> None:
        while self._due:
            wait = self._due[0] - self.clock()
            if wait > 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
                continue
            now = self.clock()
            self._due = [d for d in self._due if d > now]
            await self._start()

    async def aclose(self) -> None:
        for task in (self._worker, self._running):
            if task is not None and not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
