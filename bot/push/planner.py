"""What a push says: the daily deals for a group, and the live reminders due now."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from bot.handlers.ranking import mix_leagues, rank_products
from bot.leagues.base import League, LeagueError, LiveEvent, Product, SearchQuery, Spot
from bot.leagues.linkcache import LinkCache

log = logging.getLogger(__name__)


def coupon_run_out(product: Product) -> bool:
    """It had coupons and none is left: the deal the copy would promise no longer exists."""
    return bool(product.coupons) and not any(c.available for c in product.coupons)


async def plan_daily(
    league: League,
    links: LinkCache,
    spot: Spot,
    *,
    category_ids: Sequence[str],
    count: int,
    exclude: set[str],
) -> list[dict[str, Any]]:
    """Up to `count` deals for the group's categories, ranked like search, none pushed recently."""
    candidates: dict[str, Product] = {}
    wanted = max(count * 4, 12)
    if category_ids:
        for category_id in category_ids:
            for p in await league.featured(category_id, wanted):
                candidates.setdefault(p.product_id, p)
    else:
        for p in await league.search(SearchQuery(limit=wanted)):
            candidates.setdefault(p.product_id, p)
    fresh = [p for p in candidates.values() if p.product_id not in exclude and not coupon_run_out(p)]
    chosen = rank_products(fresh)[:count]
    items = []
    for p in chosen:
        link = await links.get_or_create(league.name, p.product_id, spot, lambda p=p: league.promote(p, spot))  # type: ignore[misc]
        items.append(
            {"product": p, "coupon": p.best_coupon(), "link": link, "final_price_fen": p.final_price_fen}
        )
    return items


async def _candidates(league: League, category_ids: Sequence[str], wanted: int) -> list[Product]:
    """A league's picks for a push: Channels searches (its categories are the subscription's); the
    other leagues give their curated lists (JD 京粉精选, PDD goods with coupons)."""
    found: dict[str, Product] = {}
    if category_ids:
        for category_id in category_ids:
            for p in await league.featured(category_id, wanted):
                found.setdefault(p.product_id, p)
    elif league.name == "channels":
        for p in await league.search(SearchQuery(limit=wanted)):
            found.setdefault(p.product_id, p)
    else:
        for p in await league.featured("", wanted):
            found.setdefault(p.product_id, p)
    return list(found.values())


async def plan_daily_mixed(
    leagues: Sequence[League],
    links: LinkCache,
    spot_for: Callable[[str], Awaitable[Spot]],
    *,
    category_ids: Sequence[str],
    count: int,
    exclude: set[str],
) -> list[dict[str, Any]]:
    """Up to `count` deals drawn from several leagues, mixed like a search (each league's best is in,
    cheapest after coupon first); a league in trouble is left out, unless all are."""
    wanted = max(count * 4, 12)
    per_league: list[list[Product]] = []
    league_of: dict[int, League] = {}
    trouble: LeagueError | None = None
    for league in leagues:
        try:
            found = await _candidates(league, category_ids, wanted)
        except LeagueError as exc:
            log.warning("daily deals: %s left out (%s)", league.name, exc)
            trouble = trouble or exc
            continue
        fresh = [p for p in found if p.product_id not in exclude and not coupon_run_out(p)]
        league_of.update((id(p), league) for p in fresh)
        per_league.append(fresh)
    if not any(per_league) and trouble is not None:
        raise trouble
    items = []
    for p in mix_leagues(per_league, count):
        league = league_of[id(p)]
        spot = await spot_for(league.name)
        link = await links.get_or_create(league.name, p.product_id, spot, partial(league.promote, p, spot))
        items.append(
            {"product": p, "coupon": p.best_coupon(), "link": link, "final_price_fen": p.final_price_fen}
        )
    return items


@dataclass(frozen=True, slots=True)
class LiveDue:
    slot: str
    template: str
    live: LiveEvent
    minutes: int


def lives_due(lives: Sequence[LiveEvent], now: datetime, remind_minutes: int) -> list[LiveDue]:
    """A reminder when a live starts within `remind_minutes`, and a "now live" when it is on air."""
    due = []
    for live in lives:
        if live.is_live:
            due.append(LiveDue(f"live-now:{live.export_id or live.notice_id}", "live_now", live, 0))
        elif live.start_time is not None and now < live.start_time <= now + timedelta(minutes=remind_minutes):
            minutes = max(1, int((live.start_time - now).total_seconds() + 59) // 60)
            due.append(LiveDue(f"live-soon:{live.notice_id}", "live_soon", live, minutes))
    return due
