"""Aggregates the console's 概览 is made of, each one SQL query grouped in the database (never a
table's rows loaded into Python): orders per league over several periods, requests and the links
they were answered with, commission per day per league, the groups that earned most.

Periods are UTC ranges the caller computed in the operator's zone (`bot.orders.report.day_start`);
money is integer fen; a cancelled order line counts nowhere (as in `bot.store.orders.figures`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, case, func, select
from sqlalchemy.sql.elements import ColumnElement

from bot.store.models import Group, OrderRow, RequestLog
from bot.store.orders import CANCELLED, SETTLED

LINK_OUTCOMES = ("ok", "late_sent")
"""Request log outcomes where the member got an answer carrying a promotion link: `ok` (answered in
time with a deal or a result list) and `late_sent` (the answer followed the "有点慢" fallback);
see bot.handlers.deals. Every other outcome (empty, not_found, unsupported, a league fault, a late
answer only cached) gave no link."""

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


@dataclass(frozen=True, slots=True)
class TopGroup:
    group_id: int
    name: str
    room_id: str
    orders: int
    commission_fen: int


def _sum_if(condition: ColumnElement[bool], value: Any) -> Any:
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


def league_totals(engine: Engine, starts: Sequence[datetime], end: datetime) -> dict[str, list[Totals]]:
    """League → one `Totals` per start, for the order lines created in [start, end). One query: the
    periods (today, 7 days, 30 days) share their end, so each is a conditional sum over the longest."""
    if not starts:
        return {}
    created, status = _ORDERS.c.created_at, _ORDERS.c.status
    live = status != CANCELLED
    columns: list[Any] = [_ORDERS.c.league]
    for start in starts:
        inside = and_(created >= start, live)
        columns += [
            _sum_if(inside, 1),
            _sum_if(inside, _ORDERS.c.paid_fen),
            _sum_if(inside, _ORDERS.c.commission_fen),
            _sum_if(and_(created >= start, status == SETTLED), _ORDERS.c.commission_fen),
        ]
    statement = (
        select(*columns)
        .where(created >= min(starts), created < end, live)
        .group_by(_ORDERS.c.league)
        .order_by(_ORDERS.c.league)
    )
    out: dict[str, list[Totals]] = {}
    with engine.connect() as connection:
        for row in connection.execute(statement):
            values = [int(v or 0) for v in row[1:]]
            out[str(row[0])] = [Totals(*values[i : i + 4]) for i in range(0, len(values), 4)]
    return out


def asked(engine: Engine, starts: Sequence[datetime], end: datetime) -> list[Asked]:
    """One `Asked` per start: request log rows in [start, end), and those answered with a link."""
    if not starts:
        return []
    at = _REQUESTS.c.at
    linked = _REQUESTS.c.outcome.in_(LINK_OUTCOMES)
    columns: list[Any] = []
    for start in starts:
        columns += [_sum_if(at >= start, 1), _sum_if(and_(at >= start, linked), 1)]
    statement = select(*columns).where(at >= min(starts), at < end)
    with engine.connect() as connection:
        row = connection.execute(statement).one()
    values = [int(v or 0) for v in row]
    return [Asked(values[i], values[i + 1]) for i in range(0, len(values), 2)]


def commission_per_day(engine: Engine, bounds: Sequence[datetime]) -> dict[str, list[int]]:
    """League → estimated commission (fen, lines not cancelled) per day, where day i is
    [bounds[i], bounds[i+1]) — the operator's local days as UTC ranges, so a day is bucketed in the
    database the same way on SQLite and PostgreSQL (and right across a daylight-saving change)."""
    days = len(bounds) - 1
    if days < 1:
        return {}
    created = _ORDERS.c.created_at
    day = case(*((created < bounds[i + 1], i) for i in range(days - 1)), else_=days - 1).label("day")
    statement = (
        select(_ORDERS.c.league, day, func.sum(_ORDERS.c.commission_fen))
        .where(created >= bounds[0], created < bounds[-1], _ORDERS.c.status != CANCELLED)
        .group_by(_ORDERS.c.league, day)
    )
    out: dict[str, list[int]] = {}
    with engine.connect() as connection:
        for league, index, fen in connection.execute(statement):
            out.setdefault(str(league), [0] * days)[int(index)] += int(fen or 0)
    return dict(sorted(out.items()))


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
