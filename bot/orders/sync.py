"""Order sync: per league, window by window from a stored cursor, each window stored whole.

Each league is read in windows no longer than its order API allows (Taobao 3 h, JD 1 h, PDD 24 h);
a run starts `overlap` before where the last one stopped, so an order the league indexed late is read
again rather than missed, and the (league, order id, sku) key makes every repeat an update. A window's
rows and the cursor move in one transaction (`bot.store.orders.store_window`): a crash loses the
window in flight and nothing else, and counts nothing twice. A league that fails (timeout, 5xx,
quota) stops at the last stored window; the other leagues go on.

A league whose order list is by payment time only (the mini-program union) cannot show a later
settlement or refund in a window: for it (any league with `refresh_orders`), each sync that reached
the present also reads again the orders it holds open (neither settled nor cancelled, within the
lookback), by order id, and stores what changed the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from bot.leagues.base import League, LeagueError, Order
from bot.leagues.registry import LEAGUES
from bot.services.attribution import Attributor
from bot.store import orders as store
from bot.store import rebate as rebate_ledger
from bot.store.job_lock import LEASE, JobBusy, JobLock
from bot.store.order_window import Stored

log = logging.getLogger(__name__)

WINDOWS: Mapping[str, timedelta] = {plugin.name: plugin.order_window for plugin in LEAGUES}
"""The longest window each league's order API accepts in one query (each plug-in says)."""
DEFAULT_WINDOW = timedelta(hours=1)

LOCK = "orders-sync"
READ_AHEAD = 4
"""Windows read at once during a sync: a league answers a page in tens of milliseconds (more on a busy
machine), and with only one read on the wire the sync spends most of its time waiting for answers.
Four is the league client's own limit of requests on the wire (`bot.leagues.http.IN_FLIGHT`)."""
REFRESH_BATCH = 200
"""Open orders read again per stored batch (the league pages its own calls below this)."""


@dataclass
class LeagueSync:
    """What one league's sync did; `error` is empty when it reached the present."""

    league: str
    fetched: int = 0
    new: int = 0
    changed: int = 0
    windows: int = 0
    refreshed: int = 0
    """Open orders read again by id (leagues that list orders by payment time only)."""
    start: datetime | None = None
    cursor: datetime | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


class SyncBusy(Exception):
    """Another process holds the sync lock."""


class OrderSync:
    def __init__(
        self,
        engine: Engine,
        leagues: Mapping[str, League],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        overlap: timedelta = timedelta(minutes=30),
        lookback: timedelta = timedelta(days=62),
        windows: Mapping[str, timedelta] = WINDOWS,
        budget: float = 600.0,
        lock_ttl: timedelta = LEASE,
        rebate: bool = False,
        after: Callable[[list[LeagueSync]], Awaitable[object]] | None = None,
        read_ahead: int = READ_AHEAD,
    ) -> None:
        self.engine = engine
        self.leagues = leagues
        self.clock = clock
        self.overlap = overlap
        self.lookback = lookback
        self.windows = windows
        self.budget = budget
        self.lock = JobLock(engine, LOCK, lease=lock_ttl, clock=clock)
        """One sync at a time across processes, released when its holder dies (`bot.store.job_lock`)."""
        self.rebate = rebate
        """After syncing, bring members' rebate credits in line with their orders' status."""
        self.after = after
        """Called with the results after every sync, still under the lock (the app's paid-order notice)."""
        self.read_ahead = max(1, read_ahead)
        """Windows read from the league at once, ahead of the one being stored (see `_Prefetch`)."""

    async def run(self, only: str | None = None, *, every: timedelta | None = None) -> list[LeagueSync]:
        """Sync every league (or `only`) under the database lock; SyncBusy when another process syncs.
        `every`: a scheduled run of that interval, which does nothing (returns []) when another process
        already synced in this interval."""
        try:
            async with self.lock.hold():
                if every is not None and not await asyncio.to_thread(self.lock.claim_turn, every):
                    log.debug("orders: synced by another process in this interval")
                    return []
                return await self._run(only)
        except JobBusy:
            raise SyncBusy("另一个进程正在同步订单") from None

    async def _run(self, only: str | None) -> list[LeagueSync]:
        results = []
        for name, league in self.leagues.items():
            if only is None or name == only:
                results.append(await self.sync_league(name, league))
        if self.rebate:
            appended = await asyncio.to_thread(rebate_ledger.reconcile, self.engine)
            if appended:
                log.info("rebates: %d ledger entries for changed orders", appended)
        if self.after is not None:
            await self.after(results)
        return results

    async def sync_league(self, name: str, league: League) -> LeagueSync:
        now = self.clock()
        cursor = await asyncio.to_thread(store.read_cursor, self.engine, name)
        start = max(cursor - self.overlap, now - self.lookback) if cursor else now - self.lookback
        result = LeagueSync(name, start=start, cursor=cursor)
        window = self.windows.get(name, DEFAULT_WINDOW)
        attributor = Attributor(self.engine)
        spans = _windows(start, now, window)
        ahead = self.read_ahead if "until" in inspect.signature(league.orders_since).parameters else 1
        fetching = _Prefetch(self._fetch, league, spans, ahead)
        try:
            async with asyncio.timeout(self.budget):
                for start, end in spans:
                    orders = await fetching.take()  # the next windows are read while this one is stored
                    stored = await asyncio.to_thread(_store, self.engine, attributor, name, orders, end)
                    result.fetched += len(orders)
                    result.new += stored.new
                    result.changed += stored.changed
                    result.windows += 1
                    result.cursor = start = end
                refresh = getattr(league, "refresh_orders", None)
                if refresh is not None and result.cursor is not None:
                    await self._refresh(name, refresh, attributor, result, now - self.lookback)
        except (LeagueError, TimeoutError, OSError) as exc:
            result.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            log.warning("orders %s: stopped at %s: %s", name, result.cursor, result.error)
        finally:
            await fetching.cancel()
        return result

    async def _refresh(
        self,
        name: str,
        refresh: Callable[[list[str]], Awaitable[list[Order]]],
        attributor: Attributor,
        result: LeagueSync,
        since: datetime,
    ) -> None:
        """Read the league's open orders again by id, a batch per transaction (the cursor stays)."""
        assert result.cursor is not None
        ids = await asyncio.to_thread(store.open_order_ids, self.engine, name, since)
        for first in range(0, len(ids), REFRESH_BATCH):
            orders = await refresh(ids[first : first + REFRESH_BATCH])
            rows = await asyncio.to_thread(_attribute, attributor, name, orders)
            stored = await asyncio.to_thread(store.store_window, self.engine, name, rows, result.cursor)
            result.refreshed += len(orders)
            result.new += stored.new
            result.changed += stored.changed

    @staticmethod
    async def _fetch(league: League, start: datetime, end: datetime) -> list[Order]:
        """Orders updated in [start, end]: leagues whose `orders_since` takes `until` are asked for the
        window; an older one reads to the present and the rest is left for the next window."""
        if "until" in inspect.signature(league.orders_since).parameters:
            found: list[Order] = await league.orders_since(start, until=end)  # type: ignore[call-arg]
            return found
        return [o for o in await league.orders_since(start) if _aware(o.updated_at) <= end]


def _attribute(attributor: Attributor, league: str, orders: list[Order]) -> list[tuple[Order, int | None]]:
    return [(order, attributor.group_of(league, order)) for order in orders]


def _store(
    engine: Engine, attributor: Attributor, league: str, orders: list[Order], cursor: datetime
) -> Stored:
    """Attribute a window's orders and store them (one trip off the event loop for both)."""
    return store.store_window(engine, league, _attribute(attributor, league, orders), cursor)


def _windows(start: datetime, now: datetime, window: timedelta) -> list[tuple[datetime, datetime]]:
    """[start, now) cut into windows no longer than `window`."""
    spans = []
    while start < now:
        end = min(start + window, now)
        spans.append((start, end))
        start = end
    return spans


class _Prefetch:
    """The windows' orders read from the league ahead of the one being stored: a first sync reads
    hundreds of windows, and the league's answers and the store's transactions need not wait for each
    other. Up to `ahead` windows are read at once (each pages through its own answers); they are
    handed out in window order, so the cursor still moves one whole window at a time. A failed read
    surfaces when its window's turn comes, so the windows before it are stored as before."""

    def __init__(
        self,
        fetch: Callable[[League, datetime, datetime], Coroutine[Any, Any, list[Order]]],
        league: League,
        spans: list[tuple[datetime, datetime]],
        ahead: int,
    ) -> None:
        self.fetch = fetch
        self.league = league
        self.spans = spans
        self.ahead = ahead
        self.asked = 0
        self.tasks: deque[asyncio.Task[list[Order]]] = deque()

    def _ask(self) -> None:
        loop = asyncio.get_running_loop()
        while len(self.tasks) < self.ahead and self.asked < len(self.spans):
            start, end = self.spans[self.asked]
            self.tasks.append(loop.create_task(self.fetch(self.league, start, end)))
            self.asked += 1

    async def take(self) -> list[Order]:
        """The next window's orders; the reads after it go on meanwhile, and once it is in, one more
        starts in its place (so `ahead` reads at most are on the wire, the store's time included)."""
        self._ask()
        orders = await self.tasks.popleft()
        self._ask()
        return orders

    async def cancel(self) -> None:
        """Drop the reads still ahead (the sync stopped: an error, the budget, a cancel)."""
        tasks, self.tasks = list(self.tasks), deque()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


FIRST_SYNC_AFTER = 30.0
"""Inside `tuike run` the first sync starts this many seconds after start-up, so start-up stays quick."""


async def scheduled_sync(syncer: OrderSync, interval: float) -> None:
    """One sync inside `tuike run` (the job `orders:sync`, every `interval` seconds): what each league
    brought is logged; a process that finds another one syncing leaves it to that one; a failure is
    logged and the next run tries again."""
    try:
        results = await syncer.run(every=timedelta(seconds=interval))
        for r in results:
            if r.ok:
                log.info("orders %s: %d fetched (%d new, %d changed)", r.league, r.fetched, r.new, r.changed)
    except SyncBusy:
        log.debug("orders: another process is syncing")
    except Exception:
        log.exception("orders: sync failed; trying again in %.0f s", interval)
