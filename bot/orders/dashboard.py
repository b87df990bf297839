"""The figures of the console's 概览, from one call: today / 7 days / 30 days in the operator's zone
(requests, links issued, orders, paid amount, estimated and settled commission, per league), the
commission per day of the last 30 days per league, and the groups that earned most in them.

Every figure is aggregated in the database (bot.store.stats); this module only lays out the periods.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from bot.orders.chart import LEAGUE_NAMES
from bot.orders.report import day_start
from bot.store.stats import Asked, TopGroup, Totals, asked_by_day, orders_by_day, top_groups

PERIODS = (("今天", 1), ("近 7 天", 7), ("近 30 天", 30))
"""(label, days ending today); none longer than the chart's days, of which they are sums."""
CHART_DAYS = 30
TOP = 10


def league_label(name: str) -> str:
    """The league's Chinese name (the config name for one this list does not know)."""
    return LEAGUE_NAMES.get(name, name)


@dataclass(frozen=True, slots=True)
class PeriodFigures:
    label: str
    start: datetime
    asked: Asked
    total: Totals
    by_league: tuple[tuple[str, Totals], ...]
    """(league name, its totals), leagues with orders in the longest period, by name."""


@dataclass(frozen=True, slots=True)
class Overview:
    periods: tuple[PeriodFigures, ...]
    days: tuple[date, ...]
    """The chart's local days, oldest first (the last is today)."""
    commission_by_day: dict[str, list[int]]
    """League → estimated commission per day of `days` (fen)."""
    top_groups: tuple[TopGroup, ...]


def overview(engine: Engine, now: datetime, zone: ZoneInfo) -> Overview:
    """The 概览 figures as of `now` (UTC), days in `zone`: three queries, whatever the data size."""
    today = now.astimezone(zone).date()
    days = tuple(today - timedelta(days=CHART_DAYS - 1 - i) for i in range(CHART_DAYS))
    bounds = [day_start(d, zone) for d in days] + [day_start(today + timedelta(days=1), zone)]
    per_league = orders_by_day(engine, bounds, zone)
    requests = asked_by_day(engine, bounds, zone)
    periods = []
    for label, n in PERIODS:
        by_league = tuple((league, sum(totals[-n:], Totals())) for league, totals in per_league.items())
        total = sum((t for _, t in by_league), Totals())
        periods.append(PeriodFigures(label, bounds[-1 - n], sum(requests[-n:], Asked()), total, by_league))
    return Overview(
        tuple(periods),
        days,
        {league: [t.estimated_fen for t in totals] for league, totals in per_league.items()},
        tuple(top_groups(engine, bounds[0], bounds[-1], TOP)),
    )
