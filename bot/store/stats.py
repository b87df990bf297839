"""Aggregates the console's 概览 is made of, each one SQL query grouped in the database (never a
table's rows loaded into Python): order lines per league and local day, requests and the links they
were answered with per local day, the groups that earned most. Periods (today, 7 days, 30 days) are
sums of days.

Days are the operator's (bounds computed in the zone by `bot.orders.report.day_start`); money is
integer fen; a cancelled order line counts nowhere (as in `bot.store.orders.figures`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, case, func, literal_column, select
from sqlalchemy.sql.elements import ColumnElement

from bot.store.models import Group, OrderRow, RequestLog
from bot.store.orders import CANCELLED, SETTLED

LINK_OUTCOMES = ("ok", "late_sent")
"""Request log outcomes where the member got an answer carrying a promotion link: `ok` (answered in
time with a deal or a result list) and `late_sent` (the answer followed the "有点慢" fallback);
see bot.handlers.deals. Every other outcome (empty, not_found, unsupported, a league fault, a late
answer only cached) gave no link."""

_ZONE_KEY = re.compile(r"[A-Za-z0-9_+\-/]+")
_ORDERS = OrderRow.__table__  # type: ignore[attr-defined]
_REQUESTS = RequestLog.__table__  # type: ignore[attr-defined]
_GROUPS = Group.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Totals:
    """Order lines not cancelled in a period; money in fen."""

    orders: int = 0
    paid_fen: int = 0
    estimated_fen: int = 0
    settled_fen: int = 0

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.orders + other.orders,
            self.paid_fen + other.paid_fen,
            self.estimated_fen + other.estimated_fen,
            self.settled_fen + other.settled_fen,
        )


@dataclass(frozen=True, slots=True)
class Asked:
    """Member requests in a period, and how many were answered with a link."""

    requests: int = 0
    links: int = 0

    def __add__(self, other: Asked) -> Asked:
        return Asked(self.requests + other.requests, self.links + other.links)


@dataclass(frozen=True, slots=True)
class TopGroup:
    group_id: int
    name: str
    room_id: str
    orders: int
    commission_fen: int


def _sum_if(condition: ColumnElement[bool], value: Any) -> Any:
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


def _offsets_divide(zone: ZoneInfo, bounds: Sequence[datetime], seconds: int) -> bool:
    """True when the zone's UTC offset is a whole multiple of `seconds` all through `bounds`."""
    moments = [*bounds, *(b + timedelta(hours=12) for b in bounds)]
    return all(
        int((m.astimezone(zone).utcoffset() or timedelta()).total_seconds()) % seconds == 0 for m in moments
    )


def _local_day(column: Any, engine: Engine, zone: ZoneInfo, bounds: Sequence[datetime]) -> tuple[Any, Any]:
    """(an SQL expression to group by, a function from its value to the local date).

    PostgreSQL says the local day itself (`timezone(zone, at)`). SQLite keeps UTC text
    ('YYYY-MM-DD HH:MM:SS.ffffff'): its hour prefix is grouped (the minute's tens, or the minute,
    in a zone whose offset is not whole hours) and each bucket is placed on its local day here —
    at most 24 buckets a day, so a month is a few thousand rows whatever the table holds."""
    if engine.dialect.name == "postgresql":
        if not _ZONE_KEY.fullmatch(zone.key):
            raise ValueError(f"not a time zone name: {zone.key!r}")
        # the zone as a literal: a bound parameter would differ between SELECT and GROUP BY
        expression = func.date(func.timezone(literal_column(f"'{zone.key}'"), column))
        return expression, lambda value: value
    width = 13 if _offsets_divide(zone, bounds, 3600) else 15 if _offsets_divide(zone, bounds, 600) else 16
    pad = {13: ":00", 15: "0", 16: ""}[width]

    def local(value: str) -> date:
        moment = datetime.fromisoformat(value[:width] + pad).replace(tzinfo=UTC)
        return moment.astimezone(zone).date()

    return func.substr(column, 1, width), local


def orders_by_day(engine: Engine, bounds: Sequence[datetime], zone: ZoneInfo) -> dict[str, list[Totals]]:
    """League → one `Totals` per local day, day i being [bounds[i], bounds[i+1]) (the operator's
    days in `zone` as UTC moments). One query grouped by league and time bucket in the database."""
    days = len(bounds) - 1
    if days < 1:
        return {}
    created, status = _ORDERS.c.created_at, _ORDERS.c.status
    bucket, local = _local_day(created, engine, zone, bounds)
    statement = (
        select(
            _ORDERS.c.league,
            bucket,
            func.count(),
            func.sum(_ORDERS.c.paid_fen),
            func.sum(_ORDERS.c.commission_fen),
            _sum_if(status == SETTLED, _ORDERS.c.commission_fen),
        )
        .where(created >= bounds[0], created < bounds[-1], status != CANCELLED)
        .group_by(_ORDERS.c.league, bucket)
    )
    first = bounds[0].astimezone(zone).date()
    out: dict[str, list[Totals]] = {}
    with engine.connect() as connection:
        for league, value, n, paid, commission, settled in connection.execute(statement):
            index = (local(value) - first).days
            if 0 <= index < days:
                row = out.setdefault(str(league), [Totals()] * days)
                row[index] = row[index] + Totals(
                    int(n), int(paid or 0), int(commission or 0), int(settled or 0)
                )
    return dict(sorted(out.items()))


def asked_by_day(engine: Engine, bounds: Sequence[datetime], zone: ZoneInfo) -> list[Asked]:
    """One `Asked` per local day (as `orders_by_day`): request log rows, and those answered with a link."""
    days = len(bounds) - 1
    if days < 1:
        return []
    at = _REQUESTS.c.at
    bucket, local = _local_day(at, engine, zone, bounds)
    statement = (
        select(bucket, func.count(), _sum_if(_REQUESTS.c.outcome.in_(LINK_OUTCOMES), 1))
        .where(at >= bounds[0], at < bounds[-1])
        .group_by(bucket)
    )
    first = bounds[0].astimezone(zone).date()
    out = [Asked()] * days
    with engine.connect() as connection:
        for value, n, linked in connection.execute(statement):
            index = (local(value) - first).days
            if 0 <= index < days:
                out[index] = Asked(out[index].requests + int(n), out[index].links + int(linked or 0))
    return out


def top_groups(engine: Engine, start: datetime, end: datetime, limit: int = 10) -> list[TopGroup]:
    """The `limit` groups with the most estimated commission from order lines created in
    [start, end) and not cancelled, most first (ties by group id)."""
    commission = func.sum(_ORDERS.c.commission_fen).label("commission")
    statement = (
        select(_GROUPS.c.id, _GROUPS.c.name, _GROUPS.c.room_id, func.count(), commission)
        .select_from(_ORDERS.join(_GROUPS, _GROUPS.c.id == _ORDERS.c.group_id))
        .where(
            _ORDERS.c.created_at >= start,
            _ORDERS.c.created_at < end,
            _ORDERS.c.status != CANCELLED,
        )
        .group_by(_GROUPS.c.id, _GROUPS.c.name, _GROUPS.c.room_id)
        .order_by(commission.desc(), _GROUPS.c.id)
        .limit(limit)
    )
    with engine.connect() as connection:
        return [
            TopGroup(int(gid), str(name), str(room), int(n), int(fen or 0))
            for gid, name, room, n, fen in connection.execute(statement)
        ]
