"""Property test of the order sync's schedule across processes (issue 33, item 22): however many
processes tick at whatever phases, and whichever of them dies holding the lock, the leagues are asked
once per interval at most, and syncing goes on within a lease of a death.

The processes are lock holders on one SQLite store with an injected clock; a death is a lease left
behind by a holder on another machine that never renews it (a dead holder on this machine is seen at
once: tests/orders/test_sync_lock.py kills a real one).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete
from sqlmodel import Session

from bot.leagues.base import Order
from bot.orders import sync as sync_module
from bot.orders.sync import OrderSync, scheduled_sync
from bot.store import db
from bot.store.job_lock import LEASE, MAX_SLACK, TURN_SLACK, JobLock
from bot.store.models import JobLock as LeaseRow

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
INTERVAL = 60


@pytest.fixture(scope="module")
def lock_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = db.make_engine(f"sqlite:///{tmp_path_factory.mktemp('locks') / 'locks.db'}")
    db.upgrade(engine)
    yield engine
    engine.dispose()


class _League:
    name = "jd"

    def __init__(self, log: list[datetime], clock: list[datetime]) -> None:
        self.log, self.clock = log, clock

    async def orders_since(self, start: datetime, until: datetime) -> list[Order]:
        self.log.append(self.clock[0])
        return []


@FAST
@given(
    phases=st.lists(st.integers(0, INTERVAL - 1), min_size=1, max_size=4),
    deaths=st.lists(st.integers(0, 600), max_size=3),
    stops=st.lists(st.one_of(st.none(), st.integers(0, 600)), min_size=4, max_size=4),
)
def test_one_sync_per_interval_whatever_the_processes_do(
    lock_store: Engine, phases: list[int], deaths: list[int], stops: list[int | None]
) -> None:
    with Session(lock_store) as session:  # each example starts from an empty lock table
        session.exec(delete(LeaseRow))  # type: ignore[call-overload]
        session.commit()
    now = [T0]
    synced: list[datetime] = []
    syncers = []
    for _ in phases:
        syncer = OrderSync(
            lock_store,
            {"jd": _League(synced, now)},  # type: ignore[dict-item]
            clock=lambda: now[0],
            lookback=timedelta(minutes=5),
            windows={"jd": timedelta(hours=1)},
        )
        syncers.append(syncer)
    events = sorted(
        [(t, "tick", n) for n, phase in enumerate(phases) for t in range(phase, 900, INTERVAL)]
        + [(t, "death", -1) for t in deaths]
    )

    async def play() -> None:
        for second, what, n in events:
            now[0] = T0 + timedelta(seconds=second)
            if what == "death":  # a process elsewhere takes the lock and dies with it
                await asyncio.to_thread(
                    JobLock(
                        lock_store, sync_module.LOCK, clock=lambda: now[0], holder=f"gone:{second}:x"
                    )._take_lease
                )
            elif stops[n] is None or second < stops[n]:
                await scheduled_sync(syncers[n], INTERVAL)

    asyncio.run(play())
    slack = min(timedelta(seconds=INTERVAL) * TURN_SLACK, MAX_SLACK)
    for earlier, later in itertools.pairwise(synced):
        assert later - earlier >= timedelta(seconds=INTERVAL) - slack, f"two syncs {later - earlier} apart"
    alive_until = max((900 if stop is None else stop) for stop in stops[: len(phases)])
    horizon = T0 + timedelta(seconds=alive_until)
    longest = timedelta(seconds=2 * INTERVAL) + LEASE
    # A death is a process elsewhere that took the lock (and may have synced) before it died: the
    # promise is a sync within a lease of the last one, so deaths one after another (each taking the
    # lease the previous one left) hold syncing off only as long as they keep coming.
    taken = [T0 + timedelta(seconds=t) for t in deaths if T0 + timedelta(seconds=t) <= horizon]
    marks = sorted([T0, *synced, *taken, horizon])
    for earlier, later in itertools.pairwise(marks):
        if later <= horizon:
            assert later - earlier <= longest, f"no sync for {later - earlier} while a process ran"
