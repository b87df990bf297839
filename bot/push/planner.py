"""What a push says: the daily deals for a group, and the live reminders due now."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.leagues.base import League, LiveEvent, Product, SearchQuery, Spot
from bot.leagues.linkcache import LinkCache
from bot.leagues.ranking import RankBy, rank_products


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
    rank_by: RankBy = "weighted",
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
    chosen = rank_products(fresh, rank_by)[:count]
    # the links at once, not one after another: each is a league round trip, and a push of 5 deals
    # waited for 5 of them in a row (on a far league that, not the machine, set how fast due groups
    # are composed). The first failure stops the others and is raised as it was.
    try:
        async with asyncio.TaskGroup() as group:
            made = [
                group.create_task(
                    links.get_or_create(league.name, p.product_id, spot, lambda p=p: league.promote(p, spot))  # type: ignore[misc]
                )
                for p in chosen
            ]
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return [
        {"product": p, "coupon": p.best_coupon(), "link": link.result(), "final_price_fen": p.final_price_fen}
        for p, link in zip(chosen, made, strict=True)
    ]


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
