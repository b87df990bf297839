"""Scheduled pushes: daily deals at each group's time and live reminders, paced, claimed, caught up.

Subscriptions are rows; the jobs are derived from them with stable ids
(`push:daily:<account>:<group>:<HH:MM>`, one per slot: a group may have several a day), put on the
process's one job list (`bot.jobs.Jobs`, given as `jobs`) and rebuilt on start-up and whenever a
subscription changes. Every firing goes through `tick(now)`,
which is idempotent: a slot already in the push log is never pushed again, a missed slot within the
grace window is sent late, an older one is recorded as skipped. That one function is also what the
tests drive with their own clock.

Here: the service's lifecycle, its jobs, which daily slots are due, send-now, and `enqueue` (with the
hand-over when the account is not in the group). Elsewhere: what a daily push says (`bot.push.daily`),
live reminders (`bot.push.live`), claiming queued pushes in batches ahead of the sender
(`bot.push.ahead`), sending 群发 (`bot.push.broadcasting`), the 外卖 slots (`bot.push.takeout`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from bot.chat.base import Outgoing
from bot.config import Settings
from bot.leagues.base import League, LeagueError, LeagueUnavailable, Spot
from bot.leagues.budget import budget
from bot.leagues.linkcache import LinkCache
from bot.leagues.registry import SHARER_LEAGUE
from bot.leagues.setup import default_spots
from bot.push import claims, daily, live
from bot.push.ahead import ClaimAhead
from bot.push.broadcast import SpotOf
from bot.push.broadcasting import BROADCAST_POLL_SECONDS, BroadcastSends
from bot.push.jobboard import JobBoard
from bot.push.sender import PacedSender
from bot.push.slots import daily_slot_key, latest_slot, next_slot, slot_on
from bot.push.takeout import TakeoutPush
from bot.reasons import reason
from bot.render.engine import Renderer
from bot.services.attribution import GroupSpots
from bot.store import membership, subscriptions
from bot.store.models import Group, Subscription

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


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


def group_spot(settings: Settings) -> Callable[[Group], Spot]:
    defaults = default_spots(settings)

    def spot(group: Group) -> Spot:
        if group.channels_sharer_appid:
            return Spot(SHARER_LEAGUE, sharer_appid=group.channels_sharer_appid)
        return defaults[SHARER_LEAGUE]

    return spot


def daily_source(
    settings: Settings, leagues: dict[str, League], spots: GroupSpots
) -> tuple[League | None, Callable[[Group], Awaitable[Spot]] | None]:
    """The league daily deals come from when `[push] league` is not Channels, and each group's spot on it."""
    name = settings.push.league
    league = leagues.get(name)
    if name == SHARER_LEAGUE or league is None:
        if name != SHARER_LEAGUE:
            log.warning("[push] league = %r is not enabled: daily deals come from Channels", name)
        return None, None

    async def spot(group: Group) -> Spot:
        return await spots.for_group(group, name)

    return league, spot


@dataclass(frozen=True)
class SendNow:
    """What "send now" did: `outcome` is "queued" (`sent` resolves when the sender is done), "done"
    (the slot is already in the push log, as `status`), "empty" (nothing fresh to push; nothing
    recorded) or "league" (the league failed: `detail`; nothing recorded)."""

    outcome: str
    slot: str
    status: str = ""
    detail: str = ""
    sent: asyncio.Future[bool] | None = None


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
        account_now: Callable[[], str] | None = None,
        leagues: Mapping[str, League] | None = None,
        league_spots: SpotOf | None = None,
        jobs: JobBoard | None = None,
    ) -> None:
        """`daily_league` / `daily_spots`: where daily deals come from when it is not `league` (the
        operator's `[push] league`, e.g. Taobao with a 淘口令 per group); live reminders stay on `league`.
        `leagues` / `league_spots`: every league and each group's spot on it, for the deals a broadcast
        carries (without them: `league` and `daily_league`, with the spots above).
        `jobs`: the process's job list, where the daily slots, the live poll, the minute tick and the
        broadcast poll go (without it nothing is scheduled: the caller ticks).
        `account_now`: the account as its channel names it now, when that can change while running (a
        gateway's first login learns its appId, and its groups are stored under it from then on: the
        pushes follow at once instead of after a restart)."""
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
        self._account = account
        self._account_now = account_now
        self.instance = owner or instance_name(settings, account or "")
        self.owner = f"{self.instance}/{os.getpid()}"
        self.jobs = jobs
        self.label = account or "+".join(settings.chat.kinds)
        """The account as the job ids name it."""
        self._scheduled = False
        self.ahead = ClaimAhead(engine, sender, self.owner)
        """Queued pushes, claimed in batches just ahead of the sender."""
        self._queued = self.ahead.queued
        """Queued on the sender, not settled yet (the same set as `ahead.queued`)."""
        self._unadopted: set[int] = set()
        """Groups from before accounts this account pushes to: a push that goes out adopts the group."""
        self._tick_lock = asyncio.Lock()
        self.interrupted: list[str] = []
        self.allowed = frozenset(settings.chat.allowed_groups)
        """When not empty, only these room ids are pushed to (the same list that gates answers)."""
        self._refreshing: set[asyncio.Task[None]] = set()
        self._recovered = False
        self.leagues: dict[str, League] = dict(leagues or {})
        if not self.leagues:
            for known in (league, daily_league):
                if known is not None:
                    self.leagues.setdefault(known.name, known)
        self.league_spots = league_spots
        self.notes: dict[int, str] = {}
        """Group id → what its push being composed left out and why (a coupon run out): the push
        result says it."""
        self.takeout: TakeoutPush | None = None
        """The 外卖 slots (订阅 外卖 HH:MM), when a takeout league is on (set by the composition)."""
        self.broadcasts = BroadcastSends(self)
        """This account's 群发 targets: looked for and queued."""

    @property
    def account(self) -> str | None:
        """Only this chat account's groups are pushed (None: every group, as a one-account process)."""
        if self._account_now is not None:
            return self._account_now() or self._account
        return self._account

    def serves(self, group: Group) -> bool:
        """Whether this group may get pushes: `[chat] allowed_groups` names room ids, never names; a
        group the operator blocked gets none."""
        return not group.blocked and (not self.allowed or group.room_id in self.allowed)

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self, *, schedule: bool = True, wait: bool = True) -> None:
        """Report what a dead process left half sent, catch up due slots, then schedule (put the
        daily slots, the live poll and the minute tick on `jobs`).

        With `wait=False` the catch-up (league calls for every due group) runs in the background, so
        the channel starts answering members at once after a restart.
        """
        await self.recover()
        if wait:
            await self.tick()
        else:
            self._catch_up = asyncio.get_running_loop().create_task(self.tick(), name="push-catch-up")
        if schedule:
            await self.schedule()

    async def schedule(self) -> None:
        """Put this account's push jobs on `jobs` and keep them in line with the rows from now on."""
        self._scheduled = self.jobs is not None
        await self.refresh_jobs()

    async def recover(self) -> None:
        """Mark what a dead process of ours left half sent as interrupted (never resent) and report it.
        Once per start, before anything of ours is claimed: a cluster replica that lost an account and
        later gets it back recovers again what the holder in between left (`stop` allows it)."""
        if self._recovered:
            return
        self._recovered = True
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

    async def stop(self) -> None:
        await self.stop_broadcasts()
        if self.jobs is not None and self._scheduled:
            self._scheduled = False
            daily = self.jobs.ids(self.job_id("push:daily") + ":")
            for job_id in (self.job_id("push:tick"), self.job_id("push:live"), *daily):
                self.jobs.remove(job_id)
            if self.takeout is not None:
                self.takeout.unschedule()
        await self.ahead.stop()
        if self._catch_up is not None and not self._catch_up.done():
            self._catch_up.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._catch_up
        self._catch_up = None
        self._recovered = False  # stopped: the next start recovers what was left meanwhile

    def job_id(self, kind: str, *rest: str) -> str:
        """A stable job id: `push:daily:<account>:<group>:<HH:MM>`, `push:live:<account>`, ..."""
        return ":".join((kind, self.label, *rest))

    async def refresh_jobs(self) -> None:
        """`rebuild_jobs` with the rows read off the event loop."""
        if not self._scheduled:
            return
        rows = await asyncio.to_thread(subscriptions.active, self.engine, "daily", self.account)
        self.rebuild_jobs(rows)
        if self.takeout is not None:
            await self.takeout.refresh_jobs()

    def jobs_changed(self) -> None:
        """A subscription changed (an owner's command): rebuild the jobs in the background."""
        task = asyncio.get_running_loop().create_task(self.refresh_jobs(), name="push-refresh-jobs")
        self._refreshing.add(task)
        task.add_done_callback(self._refreshing.discard)

    def rebuild_jobs(self, rows: list[tuple[Subscription, Group]] | None = None) -> None:
        """Jobs from rows: one cron job per daily subscription, plus the catch-all tick and live poll.
        A job whose slot is gone is removed; one that did not change keeps its next run."""
        if self.jobs is None or not self._scheduled:
            return
        jobs = self.jobs
        if rows is None:
            rows = subscriptions.active(self.engine, "daily", self.account)
        jobs.add(
            self.job_id("push:tick"),
            IntervalTrigger(seconds=60, timezone=self.zone),
            self.tick,
            kind="push:tick",
            account=self.label,
            what="「每日好物」补发检查：到点还没发的时段在宽限内补发 / catch-up of due daily slots",
        )
        jobs.add(
            self.job_id("push:live"),
            IntervalTrigger(seconds=self.push.live_poll_seconds, timezone=self.zone),
            self.tick_live,
            kind="push:live",
            account=self.label,
            what="「直播提醒」查看关注达人的开播预告，开播前和开播时提醒 / live reminders",
        )
        daily_prefix = self.job_id("push:daily") + ":"
        wanted: set[str] = set()
        for sub, group in rows:
            if not self.serves(group):
                continue
            hour, minute = (int(x) for x in sub.at_time.split(":"))
            job_id = f"{daily_prefix}{sub.group_id}:{sub.at_time}"
            wanted.add(job_id)
            # a slot's own job looks at that group's slot only: 500 groups at 08:30 are 500 small
            # ticks, not 500 sweeps over every subscription
            jobs.add(
                job_id,
                CronTrigger(hour=hour, minute=minute, timezone=self.zone),
                self.tick,
                kind="push:daily",
                account=self.label,
                what=f"「每日好物」推送到「{group.name or group.room_id}」/ daily deals",
                kwargs={"group_id": sub.group_id, "at_time": sub.at_time},
            )
        for job_id in jobs.ids(daily_prefix):
            if job_id not in wanted:
                jobs.remove(job_id)

    def next_runs(self) -> dict[tuple[int, str], datetime]:
        """(group id, `run_key(kind, HH:MM)`) → when that daily (or 外卖) slot next fires."""
        out = {}
        now = self.clock()
        for sub, _group in subscriptions.active(self.engine, "daily", self.account):
            out[(sub.group_id, sub.at_time)] = next_slot(sub.at_time, now, self.zone)
        if self.takeout is not None:
            out.update(self.takeout.next_runs(now))
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
        if self.takeout is not None and group_id is None and at_time is None:
            queued += await self.takeout.tick(now)  # the minute tick catches up the 外卖 slots too
        if self.league is None and self.daily_league is None:
            return queued  # no league configured: nothing to push, and nothing to record as skipped
        async with self._tick_lock:
            for sub, group in await asyncio.to_thread(
                subscriptions.active, self.engine, "daily", self.account
            ):
                assert group.id is not None
                if (group_id is not None and group.id != group_id) or not self.serves(group):
                    continue
                if not group.account and self.account:  # sending there shows this account is in it
                    self._unadopted.add(group.id)
                if at_time is not None and sub.at_time != at_time:
                    continue
                slot_time = latest_slot(sub.at_time, now, self.zone)
                if slot_time < sub.updated_at:
                    # subscribed (or moved the time, or came back) after today's time: the first push
                    # is the next one, not a surprise catch-up right after the owner's command
                    continue
                slot = daily_slot_key(slot_time, self.zone)
                if (group.id, slot) in self._queued:
                    continue
                status = await asyncio.to_thread(claims.status_of, self.engine, group.id, slot)
                if status and status != claims.CLAIMED:
                    continue
                if now - slot_time > grace:
                    if not status:
                        late = now - slot_time
                        await self._skip(group.id, slot, f"missed by {late}: too late to send")
                        log.info("skipped %s for %s: missed by %s", slot, group.name, late)
                    continue
                # reserved before composing: processes sharing a database each compose (league
                # calls) only the groups they will send, instead of all of them racing for every claim
                if not await asyncio.to_thread(claims.reserve, self.engine, group.id, slot, self.owner):
                    continue
                try:
                    with budget(self.push.league_budget_seconds):
                        composed = await self.compose_daily(group, sub, now)
                except LeagueUnavailable as exc:
                    # quota gone or the league down: the other groups would fail the same way, and
                    # each try spends quota; the next tick (a minute on) tries them all again
                    await self._unreserve(group.id, slot)
                    log.warning("daily deals not ready (%s); next tick tries again", exc)
                    break
                except LeagueError as exc:
                    await self._unreserve(group.id, slot)
                    log.warning("daily deals for %s not ready (%s); next tick tries again", group.name, exc)
                    continue
                except BaseException:
                    await asyncio.shield(self._unreserve(group.id, slot))
                    raise
                if composed is None:
                    # nothing fresh in the group's categories: say nothing rather than repeat, and
                    # record it, so the next tick does not ask the league again all morning
                    why = "no fresh deals in the group's categories"
                    await asyncio.to_thread(
                        claims.mark, self.engine, group.id, slot, claims.SKIPPED, detail=why
                    )
                    log.info("no deals to push to %s for %s", group.name, slot)
                    continue
                self.enqueue(group.id, slot, *composed, reserved=True)
                queued += 1
        return queued

    async def _unreserve(self, group_id: int, slot: str) -> None:
        """A reserved slot that was not composed: given back so the next tick (of any process) tries it."""
        try:
            await asyncio.to_thread(claims.unreserve, self.engine, group_id, slot, self.owner)
        except Exception:  # it stays reserved: taken over once stale, or given back by our restart
            log.exception("giving back the reserved slot %s of group %s failed", slot, group_id)

    async def _skip(self, group_id: int, slot: str, why: str) -> None:
        """Record a slot that will not be sent, so no later tick tries it again."""
        await asyncio.to_thread(claims.claim, self.engine, group_id, slot, self.owner, claims.SKIPPED, why)

    async def compose_daily(
        self, group: Group, sub: Subscription, now: datetime
    ) -> tuple[Outgoing, list[str]] | None:
        """The group's daily deals message and its product ids (`bot.push.daily`); None: nothing fresh."""
        return await daily.compose(self, group, sub, now)

    def enqueue(
        self, group_id: int, slot: str, outgoing: Outgoing, product_ids: list[str], *, reserved: bool = False
    ) -> asyncio.Future[bool]:
        """Queue a push: claimed when it reaches the front of the sender's queue (in a batch with the
        pushes behind it, `bot.push.ahead`), marked after it. A group the account turns out not to be
        in is handed over to an account that is (`bot.store.membership`)."""
        key = (group_id, slot)
        self.ahead.add(claims.Ahead(group_id, slot, tuple(product_ids), reserved))

        async def start() -> bool:
            return await self.ahead.claim(key)

        note = self.notes.pop(group_id, "")

        async def done(ok: bool, detail: str) -> None:
            if ok and group_id in self._unadopted and self.account:
                self._unadopted.discard(group_id)
                await asyncio.to_thread(membership.adopt, self.engine, group_id, self.account)
            detail = "；".join(x for x in (detail, note) if x)
            await self.ahead.record(
                key, claims.Mark(group_id, slot, claims.SENT if ok else claims.FAILED, detail)
            )

        async def hand_over(detail: str) -> None:
            """The account is not in the group: the slot goes to one that is (`bot.store.membership`)."""
            if self.account is None:  # one account serves every group: nobody to hand it to
                await done(False, detail)
                return
            account = self.account
            await asyncio.to_thread(membership.hand_over, self.engine, account, group_id, slot, self.owner)
            log.info("%s is not in group %s: %s left for an account that is", account, group_id, slot)

        future = self.sender.push(outgoing, start=start, done=done, hand_over=hand_over)
        future.add_done_callback(lambda _f: self.ahead.settled(key))
        return future

    def claim_batch_size(self) -> int:
        """Slots per claim transaction (`ClaimAhead.batch_size`)."""
        return self.ahead.batch_size()

    # -- live reminders ----------------------------------------------------------------------------

    async def tick_live(self, now: datetime | None = None) -> int:
        """Queue the live reminders due now (`bot.push.live`); returns how many."""
        return await live.tick(self, now)

    # -- the console: send now, broadcasts ---------------------------------------------------------

    async def send_now(self, group: Group, now: datetime | None = None) -> SendNow:
        """The group's daily deals now, as today's slot: the first of today's daily slots (local day)
        that nobody claimed yet, or today's slot at the default time for a group with no daily
        subscription. It is claimed like a scheduled one, so its scheduled time later finds it done and
        a second click never sends twice. When every slot of today is already in the push log, nothing
        is sent (the outcome says how the last one went)."""
        assert group.id is not None
        now = now or self.clock()
        rows = await asyncio.to_thread(subscriptions.for_group, self.engine, group.id)
        daily = [s for s in rows if s.kind == "daily"]
        sub = (
            daily[0]
            if daily
            else Subscription(group_id=group.id, kind="daily", at_time=self.push.default_time)
        )
        today = now.astimezone(self.zone).date()
        slot = ""
        status = ""
        for candidate in daily or [sub]:
            hour, minute = (int(x) for x in candidate.at_time.split(":"))
            slot = daily_slot_key(slot_on(today, hour, minute, self.zone), self.zone)
            status = "sending" if (group.id, slot) in self._queued else ""
            status = status or await asyncio.to_thread(claims.status_of, self.engine, group.id, slot)
            if not status:
                sub = candidate
                break
        if status:
            return SendNow("done", slot, status=status)
        try:
            with budget(self.push.league_budget_seconds):
                composed = await self.compose_daily(group, sub, now)
        except LeagueError as exc:
            return SendNow("league", slot, detail=reason(exc))
        if composed is None:
            return SendNow("empty", slot)
        return SendNow("queued", slot, sent=self.enqueue(group.id, slot, *composed))

    async def send_broadcasts(self, now: datetime | None = None) -> int:
        """Queue every broadcast target of this account that nobody claimed yet; returns how many
        (`BroadcastSends.send` says what becomes of the others)."""
        return await self.broadcasts.send(now)

    async def broadcast_spot(self, group: Group, league: str) -> Spot:
        """The group's spot on `league` for a broadcast's deals (`BroadcastSends.spot`)."""
        return await self.broadcasts.spot(group, league)

    @property
    def broadcast_job(self) -> str:
        return self.broadcasts.job

    def broadcasts_changed(self) -> None:
        """The console made a broadcast: look for this account's targets now, not at the next poll."""
        self.broadcasts.changed()

    async def start_broadcasts(self, poll_seconds: float = BROADCAST_POLL_SECONDS) -> None:
        """Send broadcasts of this account from now on: at once, every `poll_seconds`, and whenever
        `broadcasts_changed` is called. What a dead process left half sent is recovered first."""
        await self.recover()
        if self.jobs is None:  # nothing polls: one look now, and one whenever the console makes one
            self.broadcasts_changed()
            return
        self.schedule_broadcasts(poll_seconds)

    def schedule_broadcasts(self, poll_seconds: float = BROADCAST_POLL_SECONDS) -> None:
        """The broadcast poll on `jobs`: at once, then every `poll_seconds` (the job `broadcasts:<account>`)."""
        self.broadcasts.schedule(poll_seconds)

    async def stop_broadcasts(self) -> None:
        await self.broadcasts.stop()

    async def poll_broadcasts(self) -> None:
        """One look for broadcast targets (the job): a failure is logged, the next look tries again."""
        await self.broadcasts.poll()
