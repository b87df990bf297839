"""A group's daily deals push, composed: the deals for its categories (none pushed lately), the
operator's own shops' products mixed in, the organisation's coupons and feeds, rendered.

`PushService.tick` decides which slots are due and claims them; what each says is made here, with the
service's leagues, spots, link cache and renderer, so `send now` on the console, the scheduled slot and
`tuike push daily` compose alike.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.chat.base import Image, Outgoing, Reply, ReplyPart, Text
from bot.leagues.base import LeagueError, Spot
from bot.leagues.registry import LEAGUES
from bot.push import claims
from bot.push.org import OrgExtras, org_extras
from bot.push.planner import plan_daily
from bot.store.models import Group, Subscription

if TYPE_CHECKING:
    from bot.push.service import PushService

log = logging.getLogger(__name__)


async def compose(
    service: PushService, group: Group, sub: Subscription, now: datetime
) -> tuple[Outgoing, list[str]] | None:
    if service.league is None and service.daily_league is None:
        return None
    assert group.id is not None
    since = now - timedelta(days=service.push.repeat_days)
    exclude = await asyncio.to_thread(claims.recent_products, service.engine, group.id, since)
    category_ids = [c for c in sub.categories.split(",") if c]
    source = service.daily_league or service.league
    assert source is not None
    spot = (
        await service.daily_spots(group)
        if service.daily_league and service.daily_spots
        else service.spots(group)
    )
    items = await plan_daily(
        source,
        service.links,
        spot,
        category_ids=category_ids,
        count=service.push.deals_per_push,
        exclude=exclude,
        rank_by=service.settings.deals.rank_by,
    )
    items = await with_own_store(service, group, items, exclude)
    if not items:
        return None
    names = await category_names(service, category_ids)
    extras = await extras_for(service, group)
    text = await service.renderer.render_async(
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
    if service.push.with_image and first.image:
        parts.append(Image(url=first.image, name=f"{first.product_id}.jpg"))
    parts.append(Text(text))
    parts += extras.cards
    if extras.notes:  # the enqueue that follows takes it into the push result
        service.notes[group.id] = "；".join(extras.notes)
    return Outgoing(group.room_id, Reply(tuple(parts))), [i["product"].product_id for i in items]


async def with_own_store(
    service: PushService, group: Group, items: list[dict[str, Any]], exclude: set[str]
) -> list[dict[str, Any]]:
    """The daily deals with `[push] own_store_deals` of the operator's own shops' products mixed
    in (first when `[deals] own_store_first`), each linked for the group; a shop that fails is
    left out of this push (the deals still go)."""
    wanted = service.push.own_store_deals
    shops = [service.leagues[p.name] for p in LEAGUES if p.section == "shops" and p.name in service.leagues]
    if not wanted or not shops or service.league_spots is None:
        return items
    own: list[dict[str, Any]] = []
    for shop in shops:
        if len(own) >= wanted:
            break
        try:
            spot = await service.league_spots(group, shop.name)
            own += await plan_daily(
                shop,
                service.links,
                spot,
                category_ids=(),
                count=wanted - len(own),
                exclude=exclude,
                rank_by=service.settings.deals.rank_by,
            )
        except LeagueError as exc:
            log.warning("push: own shop %s left out of %s's push: %s", shop.name, group.room_id, exc)
    if service.settings.deals.own_store_first:
        return own + items
    return items + own


async def extras_for(service: PushService, group: Group) -> OrgExtras:
    """The organisation's coupons and talents' feeds for this group's push, when turned on."""
    if not (service.push.channels_coupons or service.push.channels_feeds):
        return OrgExtras()

    async def spot_for(league: str) -> Spot:
        if service.league_spots is not None:
            return await service.league_spots(group, league)
        return service.spots(group)

    return await org_extras(
        service.leagues, spot_for, coupons=service.push.channels_coupons, feeds=service.push.channels_feeds
    )


async def category_names(service: PushService, ids: list[str]) -> list[str]:
    if not ids or service.league is None:
        return []
    try:
        tree = {c.category_id: c.name for c in await service.league.categories()}
    except LeagueError:
        return []
    return [tree.get(i, i) for i in ids]
