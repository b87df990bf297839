"""Live reminders: a group subscribed to lives hears of its talents' lives shortly before and when
they start, each (group, live, moment) once, through the push log and the paced sender like any push."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.chat.base import Outgoing, Reply
from bot.leagues.base import LeagueError, LeagueUnavailable, LiveEvent, Spot
from bot.leagues.budget import budget
from bot.leagues.capabilities import HasLivePreviews, HasLives
from bot.push import claims
from bot.push.planner import lives_due
from bot.reasons import reason
from bot.store import subscriptions

if TYPE_CHECKING:
    from bot.push.service import PushService

log = logging.getLogger(__name__)


async def tick(service: PushService, now: datetime | None = None) -> int:
    now = now or service.clock()
    talents = [t.appid for t in service.settings.leagues.channels.talents]
    if not isinstance(service.league, HasLives) or not talents:
        return 0
    league = service.league
    queued = 0
    per_spot: dict[str, list[LiveEvent]] = {}
    for _sub, group in await asyncio.to_thread(subscriptions.active, service.engine, "live", service.account):
        assert group.id is not None
        if not service.serves(group):
            continue
        spot = service.spots(group)
        if spot.key not in per_spot:
            try:
                with budget(service.push.league_budget_seconds):
                    per_spot[spot.key] = await league.lives(talents, spot)
            except LeagueUnavailable as exc:
                log.warning("live notices unavailable: %s", reason(exc))
                return queued
            except LeagueError as exc:  # e.g. this group's sharer is not bound: the others go on
                log.warning("live notices for %s unavailable: %s", group.name, reason(exc))
                per_spot[spot.key] = []
        for due in lives_due(per_spot[spot.key], now, service.push.live_remind_minutes):
            if (group.id, due.slot) in service._queued or await asyncio.to_thread(
                claims.exists, service.engine, group.id, due.slot
            ):
                continue
            link = due.live.share_link or await preview_share(service, due.live, spot) or due.live.qrcode_url
            context: dict[str, Any] = {"live": due.live, "link": link}
            if due.template == "live_soon":
                context["minutes"] = due.minutes
            text = await service.renderer.render_async(due.template, context, group=group.room_id)
            service.enqueue(group.id, due.slot, Outgoing(group.room_id, Reply.text(text)), [])
            queued += 1
    return queued


async def preview_share(service: PushService, live: LiveEvent, spot: Spot) -> str:
    """An upcoming live's preview share (直播预约) made for the group's sharer, where the league has
    one; "" when it cannot be made (the reminder goes without it)."""
    if live.is_live or not isinstance(service.league, HasLivePreviews):
        return ""
    try:
        with budget(service.push.league_budget_seconds):
            return await service.league.live_preview_share(live, spot)
    except LeagueError as exc:
        log.info("live preview share for %s not made: %s", live.notice_id, reason(exc))
        return ""
