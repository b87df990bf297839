"""Scheduled pushes: daily deals at each group's time and live reminders, paced, claimed, caught up.

Subscriptions are rows; the jobs are derived from them with stable ids
(`push:daily:<account>:<group>:<HH:MM>`, one per slot: a group may have several a day), put on the
process's one job list (`bot.jobs.Jobs`, given as `jobs`) and rebuilt on start-up and whenever a
subscription changes. Every firing goes through `tick(now)`,
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
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from bot.chat.base import Image, Outgoing, Reply, ReplyPart, Text
from bot.config import Settings
from bot.leagues.base import League, LeagueError, LeagueUnavailable, LiveEvent, Spot
from bot.leagues.budget import budget
from bot.leagues.capabilities import HasLivePreviews, HasLives
from bot.leagues.linkcache import LinkCache
from bot.leagues.registry import LEAGUES, SHARER_LEAGUE
from bot.leagues.setup import default_spots
from bot.push import broadcast, claims
from bot.push.jobboard import JobBoard
from bot.push.org import OrgExtras, org_extras
from bot.push.planner import lives_due, plan_daily
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

MARK_WITH_NEXT_CLAIM_BELOW = 0.05
"""Seconds between pushes below which a "sent" mark waits for the next claim's transaction."""
CLAIM_AHEAD_SECONDS = 0.05
"""How far ahead of the sender pushes are claimed, in sending time: at 2,000 messages a second that is
a batch of 100 slots per transaction; at a real account's pace (seconds apart) one slot, as before.
It bounds what a killed process can leave half-sent: each such slot is reported, never resent."""
CLAIM_BATCH_MAX = 200


def _now() -> datetime:
    return datetime.now(UTC)


def _claim_done(task: asyncio.Task[None]) -> None:
    """A batch claimed in the background failed (the database unreachable): said here. None of it is
    sent unclaimed: the push the sender reaches first is left for the next tick, as a failed claim
    always was, and the rest are claimed again when reached."""
    error = None if task.cancelled() else task.exception()
    if error is not None:
        log.warning("claiming a batch of pushes failed: %s", reason(error))


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


BROADCAST_FRESH = timedelta(hours=24)
"""A broadcast target not sent within this long (the bot was down) is recorded as skipped, not sent late."""
BROADCAST_POLL_SECONDS = 30.0
"""How often a process looks for broadcast targets of its account that nobody has sent yet."""


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
        leagues: Mapping[str, League] | None = None,
        league_spots: broadcast.SpotOf | None = None,
        jobs: JobBoard | None = None,
    ) -> None:
        """`daily_league` / `daily_spots`: where daily deals come from when it is not `league` (the
        operator's `[push] league`, e.g. Taobao with a 淘口令 per group); live reminders stay on `league`.
        `leagues` / `league_spots`: every league and each group's spot on it, for the deals a broadcast
        carries (without them: `league` and `daily_league`, with the spots above).
        `jobs`: the process's job list, where the daily slots, the live poll, the minute tick and the
        broadcast poll go (without it nothing is scheduled: the caller ticks)."""
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
        self.jobs = jobs
        self.label = account or "+".join(settings.chat.kinds)
        """The account as the job ids name it."""
        self._scheduled = False
        self._queued: set[tuple[int, str]] = set()
        self._unadopted: set[int] = set()
        """Groups from before accounts this account pushes to: a push that goes out adopts the group."""
        self._tick_lock = asyncio.Lock()
        self._marks: list[claims.Mark] = []
        self._waiting: dict[tuple[int, str], claims.Ahead] = {}
        """Queued pushes not claimed yet, in queue order (the next batch is taken from the front)."""
        self._ahead: set[tuple[int, str]] = set()
        """Claimed in a batch, not yet reached by the sender."""
        self._lost: set[tuple[int, str]] = set()
        """Found claimed by someone else when their batch was claimed: skipped when reached."""
        self._releasing: set[asyncio.Task[None]] = set()
        self._claiming: tuple[asyncio.Task[None], set[tuple[int, str]]] | None = None
        """The batch being claimed and its keys."""
        self._flush: asyncio.Task[None] | None = None
        self.interrupted: list[str] = []
        self.allowed = frozenset(settings.chat.allowed_groups)
        """When not empty, only these room ids are pushed to (the same list that gates answers)."""
        self._refreshing: set[asyncio.Task[None]] = set()
        self._recovered = False
        self._broadcast_poll = BROADCAST_POLL_SECONDS
        self._broadcast_lock = asyncio.Lock()
        self._once: set[asyncio.Task[int]] = set()
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
        Once per process, before anything of ours is claimed."""
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
        if self._claiming is not None:
            with contextlib.suppress(Exception):
                await self._claiming[0]
        if self._flush is not None:
            await self._flush
        await self._write_marks()
        if self._releasing:
            await asyncio.gather(*self._releasing)
        if self._catch_up is not None and not self._catch_up.done():
            self._catch_up.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._catch_up
        self._catch_up = None

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
        items = await self._with_own_store(group, items, exclude)
        if not items:
            return None
        names = await self._category_names(category_ids)
        extras = await self._org_extras(group)
        text = await self.renderer.render_async(
            "daily_deals",
            {
                "group_name": group.name,
                "date": now,
                "items": items,
                "categories": names,
                "coupons": extras.coupons,
                "feeds": extras.feeds,
            },
            group=group.room_id,
        )
        parts: list[ReplyPart] = []
        first = items[0]["product"]
        if self.push.with_image and first.image:
            parts.append(Image(url=first.image, name=f"{first.product_id}.jpg"))
        parts.append(Text(text))
        parts += extras.cards
        if extras.notes:  # the enqueue that follows takes it into the push result
            self.notes[group.id] = "；".join(extras.notes)
        return Outgoing(group.room_id, Reply(tuple(parts))), [i["product"].product_id for i in items]

    async def _with_own_store(
        self, group: Group, items: list[dict[str, Any]], exclude: set[str]
    ) -> list[dict[str, Any]]:
        """The daily deals with `[push] own_store_deals` of the operator's own shops' products mixed
        in (first when `[deals] own_store_first`), each linked for the group; a shop that fails is
        left out of this push (the deals still go)."""
        wanted = self.push.own_store_deals
        shops = [self.leagues[p.name] for p in LEAGUES if p.section == "shops" and p.name in self.leagues]
        if not wanted or not shops or self.league_spots is None:
            return items
        own: list[dict[str, Any]] = []
        for shop in shops:
            if len(own) >= wanted:
                break
            try:
                spot = await self.league_spots(group, shop.name)
                own += await plan_daily(
                    shop,
                    self.links,
                    spot,
                    category_ids=(),
                    count=wanted - len(own),
                    exclude=exclude,
                    rank_by=self.settings.deals.rank_by,
                )
            except LeagueError as exc:
                log.warning("push: own shop %s left out of %s's push: %s", shop.name, group.room_id, exc)
        if self.settings.deals.own_store_first:
            return own + items
        return items + own

    async def _org_extras(self, group: Group) -> OrgExtras:
        """The organisation's coupons and talents' feeds for this group's push, when turned on."""
        if not (self.push.channels_coupons or self.push.channels_feeds):
            return OrgExtras()

        async def spot_for(league: str) -> Spot:
            if self.league_spots is not None:
                return await self.league_spots(group, league)
            return self.spots(group)

        return await org_extras(
            self.leagues, spot_for, coupons=self.push.channels_coupons, feeds=self.push.channels_feeds
        )

    async def _category_names(self, ids: list[str]) -> list[str]:
        if not ids or self.league is None:
            return []
        try:
            tree = {c.category_id: c.name for c in await self.league.categories()}
        except LeagueError:
            return []
        return [tree.get(i, i) for i in ids]

    def enqueue(
        self, group_id: int, slot: str, outgoing: Outgoing, product_ids: list[str], *, reserved: bool = False
    ) -> asyncio.Future[bool]:
        """Queue a push: claimed when it reaches the front of the sender's queue, marked after it.

        At high rates a message's "sent" mark rides in the next message's claim transaction (one
        commit per message instead of two). At a real account's pace (seconds apart) it is written
        at once, so a process killed between two pushes reports the last one as sent, not as
        interrupted; so it is too when no push of ours follows.
        """
        key = (group_id, slot)
        self._queued.add(key)
        self._waiting[key] = claims.Ahead(group_id, slot, tuple(product_ids), reserved)

        async def start() -> bool:
            return await self._claim(key)

        note = self.notes.pop(group_id, "")

        async def done(ok: bool, detail: str) -> None:
            if ok and group_id in self._unadopted and self.account:
                self._unadopted.discard(group_id)
                await asyncio.to_thread(membership.adopt, self.engine, group_id, self.account)
            detail = "；".join(x for x in (detail, note) if x)
            self._marks.append(claims.Mark(group_id, slot, claims.SENT if ok else claims.FAILED, detail))
            if self.sender.shortest_gap >= MARK_WITH_NEXT_CLAIM_BELOW or not self._queued - {key}:
                await self._write_marks()

        async def hand_over(detail: str) -> None:
            """The account is not in the group: the slot goes to one that is (`bot.store.membership`)."""
            if self.account is None:  # one account serves every group: nobody to hand it to
                await done(False, detail)
                return
            account = self.account
            await asyncio.to_thread(membership.hand_over, self.engine, account, group_id, slot, self.owner)
            log.info("%s is not in group %s: %s left for an account that is", account, group_id, slot)

        future = self.sender.push(outgoing, start=start, done=done, hand_over=hand_over)
        future.add_done_callback(lambda _f: self._settled(key))
        return future

    def claim_batch_size(self) -> int:
        """Slots per claim transaction: as many as the sender sends in `CLAIM_AHEAD_SECONDS`, at
        least one. An unpaced sender (no rate) claims one at a time: how long a batch would wait for
        its last send is unknown."""
        gap = self.sender.shortest_gap
        if gap <= 0:
            return 1
        return max(1, min(CLAIM_BATCH_MAX, int(CLAIM_AHEAD_SECONDS / gap)))

    async def _claim(self, key: tuple[int, str]) -> bool:
        """The sender reached `key`: ours when a batch claimed it; else claim it with the pushes queued
        behind it, one transaction (carrying the "sent" marks that wait) for the batch. Once half a
        batch is sent the next one is claimed in the background, so the sender never waits for it."""
        for _ in range(4):  # at most: wait for another batch, claim ours, see how it went
            if key in self._ahead:
                self._ahead.discard(key)
                size = self.claim_batch_size()
                if size > 1 and len(self._ahead) * 2 <= size:  # one at a time claims nothing ahead
                    self._claim_ahead()
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
            self._claim_ahead(first=key)
        return False

    def _claim_ahead(self, first: tuple[int, str] | None = None) -> None:
        """Claim the next batch of queued pushes (`first` at its front) in the background, unless a
        batch is being claimed."""
        if self._claiming is not None and not self._claiming[0].done():
            return
        size = self.claim_batch_size()
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
            queued = {a.key: a for a in batch if a.key in self._queued}  # each is tried again when reached
            self._waiting = {**queued, **self._waiting}
            raise
        for ahead in batch:
            if ahead.key not in self._queued:  # dropped while the batch was claimed
                if ahead.key in won:
                    self._release([ahead.key])
                continue
            (self._ahead if ahead.key in won else self._lost).add(ahead.key)

    def _release(self, keys: list[tuple[int, str]]) -> None:
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

    def _settled(self, key: tuple[int, str]) -> None:
        self._queued.discard(key)
        waiting = self._waiting.pop(key, None)
        self._lost.discard(key)
        if key in self._ahead or (waiting is not None and waiting.reserved):
            # claimed in a batch (or reserved when composed), dropped before the sender reached it
            self._ahead.discard(key)
            self._release([key])
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
        if not isinstance(self.league, HasLives) or not talents:
            return 0
        league = self.league
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
                        per_spot[spot.key] = await league.lives(talents, spot)
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
                link = due.live.share_link or await self._preview_share(due.live, spot) or due.live.qrcode_url
                context: dict[str, Any] = {"live": due.live, "link": link}
                if due.template == "live_soon":
                    context["minutes"] = due.minutes
                text = await self.renderer.render_async(due.template, context, group=group.room_id)
                self.enqueue(group.id, due.slot, Outgoing(group.room_id, Reply.text(text)), [])
                queued += 1
        return queued

    async def _preview_share(self, live: LiveEvent, spot: Spot) -> str:
        """An upcoming live's preview share (直播预约) made for the group's sharer, where the league has
        one; "" when it cannot be made (the reminder goes without it)."""
        if live.is_live or not isinstance(self.league, HasLivePreviews):
            return ""
        try:
            with budget(self.push.league_budget_seconds):
                return await self.league.live_preview_share(live, spot)
        except LeagueError as exc:
            log.info("live preview share for %s not made: %s", live.notice_id, reason(exc))
            return ""

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
        """Queue every broadcast target of this account that nobody claimed yet; returns how many.
        A blocked group, one outside `[chat] allowed_groups`, or a target older than a day (the bot
        was down) is recorded as skipped with the reason, so the page says why it never came."""
        async with self._broadcast_lock:
            now = now or self.clock()
            since = now - BROADCAST_FRESH * 7
            queued = 0
            picked: dict[int, broadcast.Picked] = {}  # each broadcast's deals fetched once a look
            waiting: set[int] = set()  # broadcasts whose league is down: tried again next look
            # A push queued before the look may be claimed, sent and settled while the look runs: the
            # look can still see it unclaimed, and it has left `_queued` by then. Skip those too.
            queued_before = set(self._queued)
            for sent, group in await asyncio.to_thread(broadcast.pending, self.engine, self.account, since):
                assert sent.id is not None and group.id is not None
                slot = broadcast.slot_of(sent.id)
                if (group.id, slot) in self._queued or (group.id, slot) in queued_before:
                    continue
                created = sent.created_at if sent.created_at.tzinfo else sent.created_at.replace(tzinfo=UTC)
                why = ""
                if group.blocked:
                    why = "群已屏蔽，不发送"
                elif not self.serves(group):
                    why = "这个群不在 [chat] allowed_groups 里，不发送"
                elif now - created > BROADCAST_FRESH:
                    why = "这条群发一天内没能发出（机器人停了或联盟一直连不上），已过期，没有补发"
                if why:
                    await self._skip(group.id, slot, why)
                    continue
                if not sent.products:
                    text = broadcast.text_for(sent.text, group)
                    self.enqueue(group.id, slot, Outgoing(group.room_id, Reply.text(text)), [])
                    queued += 1
                    continue
                if sent.id in waiting:
                    continue
                try:
                    with budget(self.push.league_budget_seconds):
                        if sent.id not in picked:
                            refs = broadcast.parse_products(sent.products)
                            picked[sent.id] = await broadcast.fetch_deals(self.leagues, refs)
                        made = await broadcast.deals_message(
                            group,
                            sent.text,
                            picked[sent.id],
                            links=self.links,
                            spot_of=self.broadcast_spot,
                            renderer=self.renderer,
                            now=now,
                        )
                except LeagueUnavailable as exc:
                    # a league down or out of quota: the targets stay unclaimed, the next look tries again
                    log.warning(
                        "broadcast #%s deals not ready (%s); trying again later", sent.id, reason(exc)
                    )
                    waiting.add(sent.id)
                    continue
                if not made.text:
                    gone = "；".join(f"{what}：{why}" for what, why in made.left_out)
                    await self._fail(group.id, slot, f"选的商品都发不了了（{gone}）")
                    continue
                if made.left_out:
                    log.info("broadcast #%s to %s leaves out %s", sent.id, group.name, made.left_out)
                parts: list[ReplyPart] = []
                if self.push.with_image and made.image:
                    parts.append(Image(url=made.image, name=f"{made.product_ids[0]}.jpg"))
                parts.append(Text(made.text))
                self.enqueue(group.id, slot, Outgoing(group.room_id, Reply(tuple(parts))), made.product_ids)
                queued += 1
            if queued:
                log.info("broadcasts: %d message(s) queued", queued)
            return queued

    async def broadcast_spot(self, group: Group, league: str) -> Spot:
        """The group's spot on `league` for a broadcast's deals: as given, else as the daily deals
        and live reminders make their links."""
        if self.league_spots is not None:
            return await self.league_spots(group, league)
        if (
            self.daily_league is not None
            and self.daily_spots is not None
            and league == self.daily_league.name
        ):
            return await self.daily_spots(group)
        if league == SHARER_LEAGUE:
            return self.spots(group)
        return default_spots(self.settings).get(league, Spot(league))

    async def _fail(self, group_id: int, slot: str, why: str) -> None:
        """Record a broadcast target that cannot be sent as failed, with why (never tried again)."""
        if await asyncio.to_thread(claims.claim, self.engine, group_id, slot, self.owner, claims.FAILED, why):
            await asyncio.to_thread(claims.mark, self.engine, group_id, slot, claims.FAILED, detail=why)

    @property
    def broadcast_job(self) -> str:
        return f"broadcasts:{self.label}"

    def broadcasts_changed(self) -> None:
        """The console made a broadcast: look for this account's targets now, not at the next poll."""
        if self.jobs is not None and self.jobs.wake(self.broadcast_job):
            return
        task = asyncio.get_running_loop().create_task(self.send_broadcasts(), name="push-broadcasts-once")
        self._once.add(task)
        task.add_done_callback(self._once.discard)

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
        if self.jobs is None:
            return
        self._broadcast_poll = poll_seconds
        self.jobs.add(
            self.broadcast_job,
            IntervalTrigger(seconds=poll_seconds, timezone=self.zone),
            self.poll_broadcasts,
            kind="broadcasts",
            account=self.label,
            what="「群发」发出运营后台的群发：新建的立刻发，之后按时查漏 / console broadcasts",
            first_run=_now(),
        )

    async def stop_broadcasts(self) -> None:
        if self.jobs is not None:
            await self.jobs.stop(self.broadcast_job)

    async def poll_broadcasts(self) -> None:
        """One look for broadcast targets (the job): a failure is logged, the next look tries again."""
        try:
            await self.send_broadcasts()
        except RuntimeError:  # the sender is closed: the process is stopping
            return
        except Exception:
            log.exception(
                "looking for broadcasts to send failed; trying again in %.0f s", self._broadcast_poll
            )
