"""One order sync at a time across processes, freed when its holder dies, and once per interval
(issue 33, item 22): a killed sync blocked every retry for 15 minutes (「另一个进程正在同步订单」),
and two processes each synced every interval, asking the leagues twice.

The killed holder is a real process (`sync_holder`) killed with SIGKILL in the middle of its sync; the
lease's time is an injected clock. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.leagues.base import Order
from bot.orders import sync as sync_module
from bot.orders.sync import OrderSync, SyncBusy, scheduled_sync
from bot.store.job_lock import JobLock
from bot.store.models import JobLock as LeaseRow

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class CountingLeague:
    """A league with no orders that counts how often it is asked (a sync asks once per window)."""

    name = "jd"

    def __init__(self) -> None:
        self.asked = 0
        self.entered = asyncio.Event()
        self.release: asyncio.Event | None = None

    async def orders_since(self, start: datetime, until: datetime) -> list[Order]:
        self.asked += 1
        self.entered.set()
        if self.release is not None:
            await self.release.wait()
        return []


def _syncer(engine: Engine, league: CountingLeague, clock: Clock | None = None) -> OrderSync:
    return OrderSync(
        engine,
        {"jd": league},  # type: ignore[dict-item]
        clock=clock or (lambda: datetime.now(UTC)),
        lookback=timedelta(minutes=30),
        windows={"jd": timedelta(hours=1)},
    )


@pytest.fixture
def holder(store: Engine) -> Iterator[subprocess.Popen[str]]:
    """A real process in the middle of an order sync on `store`, holding the lock."""
    url = store.url.render_as_string(hide_password=False)
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.orders.sync_holder", url],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until the sync holds the lock (or the process ends)
        assert line.startswith("holding"), f"the holder did not start: {line!r}"
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


async def test_a_killed_sync_does_not_block_the_next_one(
    store: Engine, holder: subprocess.Popen[str]
) -> None:
    league = CountingLeague()
    with pytest.raises(SyncBusy):  # alive: it holds the lock
        await _syncer(store, league).run()
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    # PostgreSQL ends the dead session's locks as soon as it sees the connection close; give it that
    # moment by trying again until a deadline (a condition, not a fixed pause)
    async with asyncio.timeout(20):
        while True:
            try:
                results = await _syncer(store, league).run()
                break
            except SyncBusy:
                await asyncio.sleep(0.05)
    assert [r.ok for r in results] == [True] and league.asked == 1


async def test_a_live_holder_keeps_its_lease_and_a_dead_one_elsewhere_loses_it(engine: Engine) -> None:
    """SQLite: the lease lives one minute and its holder renews it while it syncs; a holder that
    stopped renewing (its machine is gone) blocks the sync until its lease runs out, no longer."""
    clock = Clock()
    slow, other = CountingLeague(), CountingLeague()
    slow.release = asyncio.Event()
    first = _syncer(engine, slow, clock)
    first.lock.renew_every = 0.01
    renewals: asyncio.Queue[None] = asyncio.Queue()
    loop, take = asyncio.get_running_loop(), first.lock._take_lease

    def take_and_tell() -> bool:
        kept = take()
        loop.call_soon_threadsafe(renewals.put_nowait, None)
        return kept

    first.lock._take_lease = take_and_tell  # type: ignore[method-assign]
    running = asyncio.create_task(first.run())
    await slow.entered.wait()
    clock.now = T0 + timedelta(minutes=10)  # long past the first lease
    async with asyncio.timeout(10):
        while not renewals.empty():  # renewals that may have read the clock before it moved
            renewals.get_nowait()
        for _ in range(2):  # the second one began after the clock moved
            await renewals.get()
    with Session(engine) as session:
        row = session.exec(select(LeaseRow).where(LeaseRow.name == sync_module.LOCK)).one()
    assert row.holder == first.lock.holder and row.expires_at.replace(tzinfo=UTC) > clock.now
    with pytest.raises(SyncBusy):
        await _syncer(engine, other, clock).run()
    slow.release.set()
    assert [r.ok for r in await running] == [True]

    # a holder on another machine that stopped renewing
    elsewhere = JobLock(engine, sync_module.LOCK, clock=clock, holder="elsewhere:4242:dead")
    assert await asyncio.to_thread(elsewhere._take_lease)
    clock.now += timedelta(seconds=59)
    with pytest.raises(SyncBusy):
        await _syncer(engine, other, clock).run()
    clock.now += timedelta(seconds=2)
    assert [r.ok for r in await _syncer(engine, other, clock).run()] == [True]


async def test_two_processes_sync_once_per_interval(store: Engine) -> None:
    """Two processes' jobs every minute, their timers 25 s apart, over 150 s: three syncs, not six;
    and when the first process stops, the second takes the next turn."""
    clock = Clock()
    league_a, league_b = CountingLeague(), CountingLeague()
    a, b = _syncer(store, league_a, clock), _syncer(store, league_b, clock)
    ticks = [(0, a), (25, b), (60, a), (85, b), (120, a), (145, b)]
    for second, process in ticks:
        clock.now = T0 + timedelta(seconds=second)
        await scheduled_sync(process, 60)
    assert league_a.asked + league_b.asked == 3, (league_a.asked, league_b.asked)

    for second, process in [(180, b), (205, b), (240, b)]:  # a has stopped
        clock.now = T0 + timedelta(seconds=second)
        await scheduled_sync(process, 60)
    assert league_a.asked + league_b.asked == 5
    # by hand, `tuike orders sync` syncs now whatever the schedule
    assert [r.ok for r in await a.run()] == [True]
    assert league_a.asked + league_b.asked == 6
