"""Sending 群发 from one push service: its account's broadcast targets queued on its paced sender.

What a broadcast's message is (its text, its deals with each group's own links) is `bot.push.broadcast`;
this is when and whether each target goes: at once when the console makes a broadcast, then every
`BROADCAST_POLL_SECONDS`, each target claimed in the push log like any push (`PushService.enqueue`).
A target that can never go (a blocked group, one outside `[chat] allowed_groups`, older than a day,
deals all gone) is recorded with the reason, so the console's page says why it never came.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.triggers.interval import IntervalTrigger

from bot.chat.base import Image, Outgoing, Reply, ReplyPart, Text
from bot.leagues.base import LeagueUnavailable, Spot
from bot.leagues.budget import budget
from bot.leagues.registry import SHARER_LEAGUE
from bot.leagues.setup import default_spots
from bot.push import broadcast, claims
from bot.reasons import reason
from bot.store.models import Group

if TYPE_CHECKING:
    from bot.push.service import PushService

log = logging.getLogger(__name__)

BROADCAST_FRESH = timedelta(hours=24)
"""A broadcast target not sent within this long (the bot was down) is recorded as skipped, not sent late."""
BROADCAST_POLL_SECONDS = 30.0
"""How often a process looks for broadcast targets of its account that nobody has sent yet."""


class BroadcastSends:
    """One push service's broadcast targets: looked for, queued, or recorded as never going."""

    def __init__(self, service: PushService) -> None:
        self.service = service
        self.poll_seconds = BROADCAST_POLL_SECONDS
        self._lock = asyncio.Lock()
        self._once: set[asyncio.Task[int]] = set()

    @property
    def job(self) -> str:
        return f"broadcasts:{self.service.label}"

    async def send(self, now: datetime | None = None) -> int:
        """Queue every broadcast target of this account that nobody claimed yet; returns how many.
        A blocked group, one outside `[chat] allowed_groups`, or a target older than a day (the bot
        was down) is recorded as skipped with the reason, so the page says why it never came."""
        service = self.service
        async with self._lock:
            now = now or service.clock()
            since = now - BROADCAST_FRESH * 7
            queued = 0
            picked: dict[int, broadcast.Picked] = {}  # each broadcast's deals fetched once a look
            waiting: set[int] = set()  # broadcasts whose league is down: tried again next look
            # A push queued before the look may be claimed, sent and settled while the look runs: the
            # look can still see it unclaimed, and it has left `_queued` by then. Skip those too.
            queued_before = set(service._queued)
            for sent, group in await asyncio.to_thread(
                broadcast.pending, service.engine, service.account, since
            ):
                assert sent.id is not None and group.id is not None
                slot = broadcast.slot_of(sent.id)
                if (group.id, slot) in service._queued or (group.id, slot) in queued_before:
                    continue
                created = sent.created_at if sent.created_at.tzinfo else sent.created_at.replace(tzinfo=UTC)
                why = ""
                if group.blocked:
                    why = "群已屏蔽，不发送"
                elif not service.serves(group):
                    why = "这个群不在 [chat] allowed_groups 里，不发送"
                elif now - created > BROADCAST_FRESH:
                    why = "这条群发一天内没能发出（机器人停了或联盟一直连不上），已过期，没有补发"
                if why:
                    await service._skip(group.id, slot, why)
                    continue
                if not sent.products:
                    text = broadcast.text_for(sent.text, group)
                    service.enqueue(group.id, slot, Outgoing(group.room_id, Reply.text(text)), [])
                    queued += 1
                    continue
                if sent.id in waiting:
                    continue
                try:
                    with budget(service.push.league_budget_seconds):
                        if sent.id not in picked:
                            refs = broadcast.parse_products(sent.products)
                            picked[sent.id] = await broadcast.fetch_deals(service.leagues, refs)
                        made = await broadcast.deals_message(
                            group,
                            sent.text,
                            picked[sent.id],
                            links=service.links,
                            spot_of=service.broadcast_spot,
                            renderer=service.renderer,
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
                if service.push.with_image and made.image:
                    parts.append(Image(url=made.image, name=f"{made.product_ids[0]}.jpg"))
                parts.append(Text(made.text))
                service.enqueue(
                    group.id, slot, Outgoing(group.room_id, Reply(tuple(parts))), made.product_ids
                )
                queued += 1
            if queued:
                log.info("broadcasts: %d message(s) queued", queued)
            return queued

    async def spot(self, group: Group, league: str) -> Spot:
        """The group's spot on `league` for a broadcast's deals: as given, else as the daily deals
        and live reminders make their links."""
        service = self.service
        if service.league_spots is not None:
            return await service.league_spots(group, league)
        if (
            service.daily_league is not None
            and service.daily_spots is not None
            and league == service.daily_league.name
        ):
            return await service.daily_spots(group)
        if league == SHARER_LEAGUE:
            return service.spots(group)
        return default_spots(service.settings).get(league, Spot(league))

    async def _fail(self, group_id: int, slot: str, why: str) -> None:
        """Record a broadcast target that cannot be sent as failed, with why (never tried again)."""
        engine, owner = self.service.engine, self.service.owner
        if await asyncio.to_thread(claims.claim, engine, group_id, slot, owner, claims.FAILED, why):
            await asyncio.to_thread(claims.mark, engine, group_id, slot, claims.FAILED, detail=why)

    def changed(self) -> None:
        """The console made a broadcast: look for this account's targets now, not at the next poll."""
        jobs = self.service.jobs
        if jobs is not None and jobs.wake(self.job):
            return
        task = asyncio.get_running_loop().create_task(
            self.service.send_broadcasts(), name="push-broadcasts-once"
        )
        self._once.add(task)
        task.add_done_callback(self._once.discard)

    def schedule(self, poll_seconds: float = BROADCAST_POLL_SECONDS) -> None:
        """The broadcast poll on `jobs`: at once, then every `poll_seconds` (the job `broadcasts:<account>`)."""
        jobs = self.service.jobs
        if jobs is None:
            return
        self.poll_seconds = poll_seconds
        jobs.add(
            self.job,
            IntervalTrigger(seconds=poll_seconds, timezone=self.service.zone),
            self.service.poll_broadcasts,
            kind="broadcasts",
            account=self.service.label,
            what="「群发」发出运营后台的群发：新建的立刻发，之后按时查漏 / console broadcasts",
            first_run=datetime.now(UTC),
        )

    async def stop(self) -> None:
        if self.service.jobs is not None:
            await self.service.jobs.stop(self.job)

    async def poll(self) -> None:
        """One look for broadcast targets (the job): a failure is logged, the next look tries again."""
        try:
            await self.service.send_broadcasts()
        except RuntimeError:  # the sender is closed: the process is stopping
            return
        except Exception:
            log.exception("looking for broadcasts to send failed; trying again in %.0f s", self.poll_seconds)
