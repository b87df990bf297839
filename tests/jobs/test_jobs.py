"""The one job list: stable ids, no run beside itself, a wake that is never lost, listing without
starting, and the order sync as a job (first run 30 s after start, busy and failures logged)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import parse_settings
from bot.jobs import Jobs, describe, plan
from bot.orders.sync import LeagueSync, SyncBusy
from tests.helpers import wait_until

SH = "Asia/Shanghai"


async def test_a_job_listed_without_starting_shows_its_next_run() -> None:
    jobs = Jobs(SH)
    now = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai

    async def nothing() -> None:
        return None

    jobs.add("a:daily", CronTrigger(hour=8, minute=30, timezone=SH), nothing, kind="a")
    jobs.add("a:soon", IntervalTrigger(seconds=60), nothing, kind="a", first_run=now + timedelta(seconds=5))
    assert [(info.id, when) for info, when in jobs.listing(now)] == [
        ("a:soon", now + timedelta(seconds=5)),
        ("a:daily", now + timedelta(minutes=30)),
    ]
    assert not jobs.running
    assert describe(CronTrigger(hour=8, minute=5, timezone=SH)) == "每天 08:05"
    assert describe(IntervalTrigger(seconds=30)) == "每 30 秒"
    assert describe(IntervalTrigger(minutes=15)) == "每 15 分钟"
    assert describe(IntervalTrigger(hours=2)) == "每 2 小时"


async def test_a_run_never_overlaps_itself_and_a_wake_during_a_run_runs_it_once_more() -> None:
    jobs = Jobs(SH)
    gate = asyncio.Event()
    runs: list[str] = []

    async def slow(tag: str) -> None:
        runs.append(tag)
        await gate.wait()

    jobs.add(
        "slow", IntervalTrigger(hours=1), slow, kind="slow", kwargs={"tag": "t"}, first_run=datetime.now(UTC)
    )
    jobs.start()
    try:
        await wait_until(lambda: jobs.is_running("slow"))
        assert jobs.wake("slow")  # while it runs: once more afterwards, not beside it
        assert jobs.wake("slow")  # twice while it runs is still once more
        await jobs.scheduler.get_job("slow").func("slow", tag="t")  # a firing while it runs: left out
        assert runs == ["t"]
        gate.set()
        await wait_until(lambda: runs == ["t", "t"] and not jobs.is_running("slow"))
        gate.clear()
        assert jobs.wake("slow")  # idle: now
        await wait_until(lambda: len(runs) == 3)
        assert not jobs.wake("nothing-of-that-name")
    finally:
        gate.set()
        await jobs.shutdown()


async def test_shutdown_cancels_a_run_in_progress_and_a_failure_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    jobs = Jobs(SH)
    stopped = asyncio.Event()
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    async def broken() -> None:
        raise ValueError("boom")

    jobs.add("forever", IntervalTrigger(hours=1), forever, kind="x", first_run=datetime.now(UTC))
    jobs.add("broken", IntervalTrigger(hours=1), broken, kind="x", first_run=datetime.now(UTC))
    with caplog.at_level(logging.ERROR, logger="bot.jobs.board"):
        jobs.start()
        await wait_until(lambda: started.is_set() and any("broken" in r.getMessage() for r in caplog.records))
    await jobs.shutdown()
    assert stopped.is_set()
    assert not jobs.running


class FakeSync:
    """Stands in for OrderSync: what `run` does next."""

    def __init__(self) -> None:
        self.leagues = {"taobao": object()}
        self.outcomes: list[BaseException | None] = []
        self.runs = 0

    async def run(self, only: str | None = None, *, every: timedelta | None = None) -> list[LeagueSync]:
        assert only is None and every == timedelta(minutes=10), "the job's run is one turn of its interval"
        self.runs += 1
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        return [LeagueSync("taobao", fetched=3, new=2, changed=1)]


async def test_order_sync_is_a_job_first_run_30_s_after_start_busy_and_failures_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = parse_settings({"orders": {"sync_minutes": 10}})
    jobs = Jobs(SH)
    syncer = FakeSync()
    now = datetime(2026, 11, 22, tzinfo=UTC)
    await plan.schedule(jobs, settings, pushes={}, orders=syncer, now=now)  # type: ignore[arg-type]
    assert jobs.ids() == ["orders:sync"]
    info, when = jobs.listing(now)[0]
    assert when == now + timedelta(seconds=30)
    assert describe(info.trigger) == "每 10 分钟"
    syncer.outcomes = [None, SyncBusy("另一个进程正在同步订单"), RuntimeError("db gone")]
    with caplog.at_level(logging.DEBUG, logger="bot.orders.sync"):
        for _ in range(3):
            await info.func(**info.kwargs)
    said = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert (logging.INFO, "orders taobao: 3 fetched (2 new, 1 changed)") in said
    assert (logging.DEBUG, "orders: another process is syncing") in said
    assert (logging.ERROR, "orders: sync failed; trying again in 600 s") in said
    assert syncer.runs == 3
