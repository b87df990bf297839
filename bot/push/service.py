"""Scheduled pushes: daily deals at each group's time and live reminders, paced, claimed, caught up.

Subscriptions are rows; the APScheduler jobs are derived from them with stable ids
(`daily:<group>:<HH:MM>`, one per slot: a group may have several a day)
and rebuilt on start-up and whenever a subscription changes. Every firing goes through `tick(now)`,
which is idempotent: a slot already in the push log is never pushed again, a missed slot within the
grace window is sent late, an older one is recorded as skipped. That one function is also what the
tests drive with their own clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from bot.chat.base import Image, Outgoing, Reply, ReplyPart, Text
from bot.config import Settings
from bot.leagues.base import League, LeagueError, LeagueUnavailable, LiveEvent, Spot
from bot.leagues.budget import budget
from bot.leagues.linkcache import LinkCache
from bot.push import claims
from bot.push.planner import lives_due, plan_daily
from bot.push.sender import PacedSender
from bot.reasons import reason
from bot.render import Renderer
from bot.store import subscriptions
from bot.store.models import Group, Subscription

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

MARK_WITH_NEXT_CLAIM_BELOW = 0.05
"""Seconds between pushes below which a "sent" mark waits for the next claim's transaction."""


def _now() -> datetime:
    return datetime.now(UTC)


def _slot_on(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    """Local HH:MM on `day`, in UTC. A time the clock skips (spring forward) falls the gap's length
    later, and a time it shows twice (fall back) counts the first time: both as the scheduler fires."""
    return datetime.combine(day, dt_time(hour, minute), tzinfo=zone).astimezone(UTC)


def latest_slot(at_time: str, now: datetime, zone: ZoneInfo) -> datetime:
    """The most recent moment ≤ now at local HH:MM, in UTC (compared in UTC: wall clocks lie at DST)."""
    hour, minute = (int(x) for x in at_time.split(":"))
    today = now.astimezone(zone).date()
    slot = _slot_on(today, hour, minute, zone)
    return slot if slot <= now else _slot_on(today - timedelta(days=1), hour, minute, zone)


def next_slot(at_time: str, now: datetime, zone: ZoneInfo) -> datetime:
    """The first moment > now at local HH:MM: the next local day, not 24 hours on (DST)."""
    hour, minute = (int(x) for x in at_time.split(":"))
    today = now.astimezone(zone).date()
    for day in (today, today + timedelta(days=1), today + timedelta(days=2)):
        slot = _slot_on(day, hour, minute, zone)
        if slot > now:
            return slot
    raise AssertionError("unreachable: a local time recurs within two days")


def daily_slot_key(slot: datetime, zone: ZoneInfo) -> str:
    return "daily:" + slot.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def instance_name(settings: Settings, account: str = "") -> str:
    """Who claims pushes in the push log. A restart of the same account recognises its own half-sent
    slots by this prefix, so it must differ between accounts sharing a database (host and account do);
    a configured `[push] instance` gets the account appended when the process serves several."""
    account = account or "+".join(settings.chat.kinds)
    if settings.push.instance:
        return (
            settings.push.instance if len(settings.chat.kinds) == 1 else f"{settings.push.instance}:{account}"
        )
    return f"{socket.gethostname()}:{account}"


class PushService:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        league: League | None,
        renderer: Renderer,
        sender: PacedSender,
        links: LinkCache,
        spots: Callable[[Group], Spot],
        *,
        clock: Clock = _now,
        owner: str | None = None,
        notify: Callable[[str], None] | None = None,
        daily_league: League | None = None,
        daily_spots: Callable[[Group], Awaitable[Spot]] | None = None,
        account: str | None = None,
    ) -> None:
        """`daily_league` / `daily_spots`: where daily deals come from when it is not `league` (the
        operator's `[push] league`, e.g. Taobao with a 淘口令 per group); live reminders stay on `league`."""
        self.settings = settings
        self.push = settings.push
        self.engine = engine
        self.league = league
        self.renderer = renderer
        self.sender = sender
        self.links = links
        self.spots = spots
        self.daily_league = daily_league
        self.daily_spots = daily_spots
        self.clock = clock
        self.notify = notify
        self._catch_up: asyncio.Task[int] | None = None
        self.zone = ZoneInfo(settings.bot.timezone)
        self.account = account
        """Only this chat account's groups are pushed (None: every group, as a one-account process)."""
        self.instance = owner or instance_name(settings, account or "")
        self.owner = f"{self.instance}/{os.getpid()}"
        self.scheduler: AsyncIOScheduler | None = None
        self._queued: set[tuple[int, str]] = set()
        self._tick_lock = asyncio.Lock()
        self._marks: list[claims.Mark] = []
        self._flush: asyncio.Task[None] | None = None
        self.interrupted: list[str] = []
        self.allowed = frozenset(settings.chat.allowed_groups)
        """When not empty, only these room ids are pushed to (the same list that gates answers)."""
        self._refreshing: set[asyncio.Task[None]] = set()

    def serves(self, group: Group) -> bool:
        """Whether this group may get pushes: `[chat] allowed_groups` names room ids, never names; a
        group the operator blocked gets none."""
        return not group.blocked and (not self.allowed or group.room_id in self.allowed)

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self, *, schedule: bool = True, wait: bool = True) -> None:
        """Report what a dead process left half sent, catch up due slots, then schedule.

        With `wait=False` the catch-up (league calls for every due group) runs in the background, so
        the channel starts answering members at once after a restart.
        """
        rows = await asyncio.to_thread(claims.recover_interrupted, self.engine, self.instance + "/")
        for row in rows:
            note = f"group {row.group_id} slot {row.slot} was mid-send when the bot stopped: marked interrupted, not resent"
            log.warning("%s", note)
            self.interrupted.append(note)
        if rows and self.notify is not None:
            names = await asyncio.to_thread(subscriptions.group_names, self.engine)
            lines = [f"· {names.get(r.group_id, r.group_id)}  {r.slot}" for r in rows]
            self.notify(
                f"上次停机时有 {len(rows)} 条推送正在发送，可能已经发出、也可能没有；"
                "为了不重复打扰，这些不会重发：\n" + "\n".join(lines)
            )
        if wait:
            await self.tick()
        else:
            self._catch_up = asyncio.get_running_loop().create_task(self.tick(), name="push-catch-up")
        if schedule:
            self.scheduler = AsyncIOScheduler(timezone=self.zone)
            self.scheduler.start()
            await self.refresh_jobs()

    async def stop(self) -> None:
        if self._flush is not None:
            await self._flush
        await self._write_marks()
        if self._catch_up is not None and not self._catch_up.done():
            self._catch_up.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._catch_up
        self._catch_up = None
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None

    async def refresh_jobs(self) -> None:
        """`rebuild_jobs` with the rows read off the event loop."""
        if self.scheduler is None:
            return
        rows = await asyncio.to_thread(subscriptions.active, self.engine, "daily", self.account)
        self.rebuild_jobs(rows)

    def jobs_changed(self) -> None:
        """A subscription changed (an owner's command): rebuild the jobs in the background."""
        task = asyncio.get_running_loop().create_task(self.refresh_jobs(), name="push-refresh-jobs")
        self._refreshing.add(task)
        task.add_done_callback(self._refreshing.discard)

    def rebuild_jobs(self, rows: list[tuple[Subscription, Group]] | None = None) -> None:
        """Jobs from rows: one cron job per daily subscription, plus the catch-all tick and live poll."""
        if self.scheduler is None:
            return
        wanted: dict[str, Any] = {
            "tick": IntervalTrigger(seconds=60, timezone=self.zone),
            "live": IntervalTrigger(seconds=self.push.live_poll_seconds, timezone=self.zone),
        }
        if rows is None:
            rows = subscriptions.active(self.engine, "daily", self.account)
        for sub, group in rows:
            if not self.serves(group):
                continue
            hour, minute = (int(x) for x in sub.at_time.split(":"))
            wanted[f"daily:{sub.group_id}:{sub.at_time}"] = CronTrigger(
                hour=hour, minute=minute, timezone=self.zone
            )
        for job in self.scheduler.get_jobs():
            if job.id not in wanted:
                job.remove()
        for job_id, trigger in wanted.items():
            func = self.tick_live if job_id == "live" else self.tick
            # a slot's own job looks at that group's slot only: 500 groups at 08:30 are 500 small
            # ticks, not 500 sweeps over every subscription
            kwargs: dict[str, Any] = {}
            if job_id.startswith("daily:"):
                _daily, slot_group, slot_time = job_id.split(":", 2)
                kwargs = {"group_id": int(slot_group), "at_time": slot_time}
            self.scheduler.add_job(
                func,
                trigger,
                id=job_id,
                kwargs=kwargs,
                replace_existing=True,
                misfire_grace_time=300,
                coalesce=True,
            )

    def next_runs(self) -> dict[tuple[int, str], datetime]:
        """(group id, HH:MM) → when that daily slot next fires."""
        out = {}
        now = self.clock()
        for sub, _group in subscriptions.active(self.engine, "daily", self.account):
            out[(sub.group_id, sub.at_time)] = next_slot(sub.at_time, now, self.zone)
        return out

    # -- daily deals -------------------------------------------------------------------------------

    async def tick(
        self, now: datetime | None = None, group_id: int | None = None, at_time: str | None = None
    ) -> int:
        """Push every daily slot that is due and not yet in the push log (of one group's slot, one
        group, or all); returns how many were queued."""
        now = now or self.clock()
        grace = timedelta(hours=self.push.grace_hours)
        queued = 0
        if self.league is None and self.daily_league is None:
            return 0  # no league configured: nothing to push, and nothing to record as skipped
        async with self._tick_lock:
            for sub, group in await asyncio.to_thread(
                subscriptions.active, self.engine, "daily", self.account
            ):
                assert group.id is not None
                if (group_id is not None and group.id != group_id) or not self.serves(group):
                    continue
                if at_time is not None and sub.at_time != at_time:
                    continue
                slot_time = latest_slot(sub.at_time, now, self.zone)
                if slot_time < sub.updated_at:
                    # subscribed (or moved the time, or came back) after today's time: the first push
                    # is the next one, not a surprise catch-up right after the owner's command
                    continue
                slot = daily_slot_key(slot_time, self.zone)
                if (group.id, slot) in self._queued or await asyncio.to_thread(
                    claims.exists, self.engine, group.id, slot
                ):
                    continue
                if now - slot_time > grace:
                    late = now - slot_time
                    await self._skip(group.id, slot, f"missed by {late}: too late to send")
                    log.info("skipped %s for %s: missed by %s", slot, group.name, late)
                    continue
                try:
                    with budget(self.push.league_budget_seconds):
                        composed = await self.compose_daily(group, sub, now)
                except LeagueUnavailable as exc:
                    # quota gone or the league down: the other groups would fail the same way, and
                    # each try spends quota; the next tick (a minute on) tries them all again
                    log.warning("daily deals not ready (%s); next tick tries again", exc)
                    break
                except LeagueError as exc:
                    log.warning("daily deals for %s not ready (%s); next tick tries again", group.name, exc)
                    continue
                if composed is None:
                    # nothing fresh in the group's categories: say nothing rather than repeat, and
                    # record it, so the next tick does not ask the league again all morning
                    await self._skip(group.id, slot, "no fresh deals in the group's categories")
                    log.info("no deals to push to %s for %s", group.name, slot)
                    continue
                self.enqueue(group.id, slot, *composed)
                queued += 1
        return queued

    async def _skip(self, group_id: int, slot: str, why: str) -> None:
        """Record a slot that will not be sent, so no later tick tries it again."""
        await asyncio.to_thread(claims.claim, self.engine, group_id, slot, self.owner, claims.SKIPPED, why)

    async def compose_daily(
        self, group: Group, sub: Subscription, now: datetime
    ) -> tuple[Outgoing, list[str]] | None:
        if self.league is None and self.daily_league is None:
            return None
        assert group.id is not None
        since = now - timedelta(days=self.push.repeat_days)
        exclude = await asyncio.to_thread(claims.recent_products, self.engine, group.id, since)
        category_ids = [c for c in sub.categories.split(",") if c]
        source = self.daily_league or self.league
        assert source is not None
        spot = await self.daily_spots(group) if self.daily_league and self.daily_spots else self.spots(group)
        items = await plan_daily(
            source,
            self.links,
            spot,
            category_ids=category_ids,
            count=self.push.deals_per_push,
            exclude=exclude,
            rank_by=self.settings.deals.rank_by,
        )
        if not items:
            return None
        names = await self._category_names(category_ids)
        text = await self.renderer.render_async(
            "daily_deals",
            {"group_name": group.name, "date": now, "items": items, "categories": names},
            group=group.room_id,
        )
        parts: list[ReplyPart] = []
        first = items[0]["product"]
        if self.push.with_image and first.image:
            parts.append(Image(url=first.image, name=f"{first.product_id}.jpg"))
        parts.append(Text(text))
        return Outgoing(group.room_id, Reply(tuple(parts))), [i["product"].product_id for i in items]

    async def _category_names(self, ids: list[str]) -> list[str]:
        if not ids or self.league is None:
            return []
        try:
            tree = {c.category_id: c.name for c in await self.league.categories()}
        except LeagueError:
            return []
        return [tree.get(i, i) for i in ids]

    def enqueue(
        self, group_id: int, slot: str, outgoing: Outgoing, product_ids: list[str]
    ) -> asyncio.Future[bool]:
        """Queue a push: claimed when it reaches the front of the sender's queue, marked after it.

        At high rates a message's "sent" mark rides in the next message's claim transaction (one
        commit per message instead of two). At a real account's pace (seconds apart) it is written
        at once, so a process killed between two pushes reports the last one as sent, not as
        interrupted; so it is too when no push of ours follows.
        """
        key = (group_id, slot)
        self._queued.add(key)

        async def start() -> bool:
            marks, self._marks = self._marks, []
            try:
                return await asyncio.to_thread(
                    claims.claim,
                    self.engine,
                    group_id,
                    slot,
                    self.owner,
                    claims.SENDING,
                    "",
                    product_ids,
                    marks=marks,
                )
            except BaseException:
                self._marks[:0] = marks  # not written: the next claim or the flush tries again
                raise

        async def done(ok: bool, detail: str) -> None:
            self._marks.append(claims.Mark(group_id, slot, claims.SENT if ok else claims.FAILED, detail))
            if self.sender.shortest_gap >= MARK_WITH_NEXT_CLAIM_BELOW or not self._queued - {key}:
                await self._write_marks()

        future = self.sender.push(outgoing, start=start, done=done)
        future.add_done_callback(lambda _f: self._settled(key))
        return future

    def _settled(self, key: tuple[int, str]) -> None:
        self._queued.discard(key)
        if not self._queued and self._marks and (self._flush is None or self._flush.done()):
            # the pushes after ours were dropped (the sender closed) or not claimed: write the marks
            # that were waiting for them
            self._flush = asyncio.get_running_loop().create_task(self._write_marks(), name="push-marks")

    async def _write_marks(self) -> None:
        marks, self._marks = self._marks, []
        if not marks:
            return
        try:
            await asyncio.to_thread(claims.write_marks, self.engine, marks)
        except Exception:
            self._marks[:0] = marks
            log.exception("recording %d push result(s) failed", len(marks))

    # -- live reminders ----------------------------------------------------------------------------

    async def tick_live(self, now: datetime | None = None) -> int:
        now = now or self.clock()
        talents = [t.appid for t in self.settings.leagues.channels.talents]
        if self.league is None or not talents:
            return 0
        queued = 0
        per_spot: dict[str, list[LiveEvent]] = {}
        for _sub, group in await asyncio.to_thread(subscriptions.active, self.engine, "live", self.account):
            assert group.id is not None
            if not self.serves(group):
                continue
            spot = self.spots(group)
            if spot.key not in per_spot:
                try:
                    with budget(self.push.league_budget_seconds):
                        per_spot[spot.key] = await self.league.lives(talents, spot)
                except LeagueUnavailable as exc:
                    log.warning("live notices unavailable: %s", reason(exc))
                    return queued
                except LeagueError as exc:  # e.g. this group's sharer is not bound: the others go on
                    log.warning("live notices for %s unavailable: %s", group.name, reason(exc))
                    per_spot[spot.key] = []
            for due in lives_due(per_spot[spot.key], now, self.push.live_remind_minutes):
                if (group.id, due.slot) in self._queued or await asyncio.to_thread(
                    claims.exists, self.engine, group.id, due.slot
                ):
                    continue
                link = due.live.share_link or due.live.qrcode_url
                context: dict[str, Any] = {"live": due.live, "link": link}
                if due.template == "live_soon":
                    context["minutes"] = due.minutes
                text = await self.renderer.render_async(due.template, context, group=group.room_id)
                self.enqueue(group.id, due.slot, Outgoing(group.room_id, Reply.text(text)), [])
                queued += 1
        return queued
