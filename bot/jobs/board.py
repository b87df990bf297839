"""`Jobs`: the one APScheduler of a process, with every periodic job under a stable id.

The jobs are kept here as entries (id, what it does, trigger, function) and handed to the scheduler
once it starts, so a configuration's jobs can be listed without starting anything (`tuike jobs`), and
an entry added again with the same trigger keeps its next run (a subscription change does not push
the minute tick back).

Runs of one job never overlap: a run that comes due while the last one still works is left out (a
long order sync is not queued up behind itself). `wake` runs a job now, or right after the run in
progress when it is working (the console's new broadcast goes out at once, not at the next poll).

Misfires: a job that could not fire on time (the loop was busy, the machine slept) still fires
within `MISFIRE_GRACE_SECONDS`, once however many firings were missed. Later than that it waits for
its next time: a daily slot missed for longer is caught up (within `[push] grace_hours`) by the push
claims, never by the scheduler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)

MISFIRE_GRACE_SECONDS = 300
"""A firing this late still runs (once: missed firings coalesce); a later one is left out."""

JobFunc = Callable[..., Awaitable[object]]


@dataclass(frozen=True)
class JobInfo:
    """One periodic job: `kind` is its id without the account and target (e.g. "push:daily"),
    `what` says what it does, Chinese first."""

    id: str
    kind: str
    account: str
    what: str
    trigger: BaseTrigger
    func: JobFunc = field(repr=False, compare=False)
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    first_run: datetime | None = None
    """When it first runs, where that is not the trigger's first time (e.g. at once)."""


class Jobs:
    def __init__(self, timezone: str | ZoneInfo = "Asia/Shanghai") -> None:
        self.zone = timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(timezone)
        self.scheduler = AsyncIOScheduler(
            timezone=self.zone,
            job_defaults={
                "misfire_grace_time": MISFIRE_GRACE_SECONDS,
                "coalesce": True,
                # 2, not 1: a firing that finds the job still running returns at once (see `_run`)
                # instead of APScheduler warning about it
                "max_instances": 2,
            },
        )
        self._entries: dict[str, JobInfo] = {}
        self._running: dict[str, asyncio.Task[Any]] = {}
        self._again: set[str] = set()
        self._stopped: set[str] = set()
        """Jobs whose run in progress `stop` cancelled: it ends quietly, not as a failed job."""

    # -- the list ------------------------------------------------------------------------------------

    def add(
        self,
        job_id: str,
        trigger: BaseTrigger,
        func: JobFunc,
        *,
        kind: str,
        account: str = "",
        what: str = "",
        kwargs: Mapping[str, Any] | None = None,
        first_run: datetime | None = None,
    ) -> None:
        """Add or replace the job `job_id`. The same trigger and arguments again change nothing (its
        next run stays); anything else replaces it."""
        entry = JobInfo(job_id, kind, account, what, trigger, func, dict(kwargs or {}), first_run)
        old = self._entries.get(job_id)
        self._entries[job_id] = entry
        if old is not None and _same(old, entry):
            return
        if self.scheduler.running:
            self._schedule(entry)

    def remove(self, job_id: str) -> None:
        """Forget the job (a run in progress finishes)."""
        if self._entries.pop(job_id, None) is not None and self.scheduler.running:
            with contextlib.suppress(LookupError):
                self.scheduler.remove_job(job_id)

    async def stop(self, job_id: str) -> None:
        """Forget the job and cancel a run in progress."""
        self.remove(job_id)
        task = self._running.get(job_id)
        if task is not None and task is not asyncio.current_task():
            self._stopped.add(job_id)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(task, return_exceptions=True)

    def ids(self, prefix: str = "") -> list[str]:
        return [job_id for job_id in self._entries if job_id.startswith(prefix)]

    def get(self, job_id: str) -> JobInfo | None:
        return self._entries.get(job_id)

    def __iter__(self) -> Iterator[JobInfo]:
        return iter(list(self._entries.values()))

    def __len__(self) -> int:
        return len(self._entries)

    def next_run(self, job_id: str, now: datetime | None = None) -> datetime | None:
        """When the job runs next (None: never again, or not a job)."""
        entry = self._entries.get(job_id)
        if entry is None:
            return None
        if self.scheduler.running:
            job = self.scheduler.get_job(job_id)
            return job.next_run_time if job is not None else None
        now = now or datetime.now(UTC)
        if entry.first_run is not None:
            return entry.first_run
        fire: datetime | None = entry.trigger.get_next_fire_time(None, now.astimezone(self.zone))
        return fire

    def listing(self, now: datetime | None = None) -> list[tuple[JobInfo, datetime | None]]:
        """Every job with its next run, soonest first (those that never run again last)."""
        now = now or datetime.now(UTC)
        rows = [(entry, self.next_run(entry.id, now)) for entry in self._entries.values()]
        far = datetime.max.replace(tzinfo=UTC)
        rows.sort(key=lambda row: (row[1] or far, row[0].id))
        return rows

    # -- running -------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running)

    def start(self) -> None:
        """Start the scheduler on the running event loop with every job added so far."""
        if self.scheduler.running:
            return
        self.scheduler.start()
        for entry in self._entries.values():
            self._schedule(entry)

    async def shutdown(self) -> None:
        """No more runs; the runs in progress are cancelled and awaited."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        tasks = [task for task in self._running.values() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def wake(self, job_id: str) -> bool:
        """Run the job now (or once more right after the run in progress). False when it is not
        scheduled here (no such job, or the scheduler is not running)."""
        if job_id not in self._entries or not self.scheduler.running:
            return False
        if job_id in self._running:
            self._again.add(job_id)
            return True
        try:
            self.scheduler.modify_job(job_id, next_run_time=datetime.now(self.zone))
        except LookupError:
            return False
        return True

    def is_running(self, job_id: str) -> bool:
        return job_id in self._running

    def _schedule(self, entry: JobInfo) -> None:
        options: dict[str, Any] = {}
        if entry.first_run is not None:
            options["next_run_time"] = max(entry.first_run, datetime.now(UTC))
        self.scheduler.add_job(
            self._run,
            entry.trigger,
            args=(entry.id,),
            kwargs=dict(entry.kwargs),
            id=entry.id,
            name=entry.id,
            replace_existing=True,
            **options,
        )

    async def _run(self, job_id: str, **kwargs: Any) -> None:
        """One firing of `job_id`: its function with its arguments, never beside a run of its own."""
        if job_id in self._running:
            log.debug("job %s is still running: this firing is left out", job_id)
            return
        entry = self._entries.get(job_id)
        if entry is None:
            return
        task = asyncio.current_task()
        assert task is not None
        self._running[job_id] = task
        try:
            while True:
                self._again.discard(job_id)
                try:
                    await entry.func(**kwargs)
                except Exception:
                    log.exception("job %s failed", job_id)
                if job_id not in self._again:
                    return
                entry = self._entries.get(job_id) or entry
        except asyncio.CancelledError:
            if job_id not in self._stopped:  # the scheduler or the loop is going away: let it through
                raise
        finally:
            self._again.discard(job_id)
            self._stopped.discard(job_id)
            del self._running[job_id]


def _same(old: JobInfo, new: JobInfo) -> bool:
    return (
        type(old.trigger) is type(new.trigger)
        and str(old.trigger) == str(new.trigger)
        and old.func == new.func
        and dict(old.kwargs) == dict(new.kwargs)
        and old.first_run == new.first_run
    )


def describe(trigger: BaseTrigger) -> str:
    """A trigger as an operator reads it: 每天 08:30, 每 30 秒, 每 10 分钟 (else APScheduler's own words)."""
    if isinstance(trigger, CronTrigger):
        fields = {f.name: str(f) for f in trigger.fields}
        hour, minute = fields.get("hour", ""), fields.get("minute", "")
        others = {k: v for k, v in fields.items() if k not in ("hour", "minute", "second")}
        plain = all(v == "*" for v in others.values()) and fields.get("second") == "0"
        if plain and hour.isdigit() and minute.isdigit():
            return f"每天 {int(hour):02d}:{int(minute):02d}"
    if isinstance(trigger, IntervalTrigger):
        seconds = trigger.interval.total_seconds()
        for unit, size in (("小时", 3600), ("分钟", 60)):
            if seconds >= size and seconds % size == 0:
                return f"每 {seconds / size:g} {unit}"
        return f"每 {seconds:g} 秒"
    return str(trigger)
