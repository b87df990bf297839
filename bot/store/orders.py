"""Synced orders: the idempotent upsert of one sync window (rows, history and cursor in ONE
transaction), the per-league cursor, the job lock, and the figures reports are made of.

Why one transaction per window: a process that dies mid-sync leaves either the whole window stored
with the cursor moved past it, or nothing of it with the cursor where it was; the next run reads the
window again and the (league, order id, sku) key turns every repeat into an update, never a new row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, case, func
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.store import order_window
from bot.store.models import (
    Group,
    OrderEvent,
    OrderRow,
    RequestLog,
    SharerBinding,
    SyncCursor,
)
from bot.store.order_window import Order, Stored

CANCELLED = "cancelled"
SETTLED = "settled"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# -- cursor --------------------------------------------------------------------------------------------


def read_cursor(engine: Engine, league: str) -> datetime | None:
    with Session(engine) as session:
        row = session.exec(select(SyncCursor).where(SyncCursor.league == league)).first()
        return _aware(row.cursor) if row is not None else None


# -- the window upsert ---------------------------------------------------------------------------------


def store_window(
    engine: Engine,
    league: str,
    orders: Sequence[tuple[Order, int | None]],
    cursor: datetime,
) -> Stored:
    """Upsert `orders` (each with the group it is attributed to) and move `league`'s cursor to
    `cursor`, all or nothing. A status or amount change appends to the order's history
    (`bot.store.order_window`: set-wise, one statement per window on PostgreSQL)."""
    raced = (IntegrityError, engine.dialect.loaded_dbapi.IntegrityError)  # the driver's own, unwrapped
    for attempt in range(2):
        try:
            return order_window.store(engine, league, orders, cursor)
        except raced:  # another writer inserted one of these keys first: read them again
            if attempt:
                raise
    raise AssertionError("unreachable")


def history(engine: Engine, league: str, order_id: str, sku_id: str) -> list[OrderEvent]:
    """The states an order line was seen in, oldest first."""
    with Session(engine) as session:
        row = session.exec(
            select(OrderRow).where(
                OrderRow.league == league, OrderRow.order_id == order_id, OrderRow.sku_id == sku_id
            )
        ).first()
        if row is None:
            return []
        return list(
            session.exec(
                select(OrderEvent).where(OrderEvent.order_row_id == row.id).order_by(col(OrderEvent.id))
            )
        )


def open_order_ids(engine: Engine, league: str, since: datetime) -> list[str]:
    """Ids of `league`'s orders created since `since` that may still change: neither settled nor
    cancelled (any line), oldest first."""
    with Session(engine) as session:
        statement = (
            select(OrderRow.order_id)
            .where(
                OrderRow.league == league,
                col(OrderRow.status).not_in((SETTLED, CANCELLED)),
                col(OrderRow.created_at) >= since,
            )
            .group_by(col(OrderRow.order_id))
            .order_by(func.min(OrderRow.created_at), col(OrderRow.order_id))
        )
        return list(session.exec(statement))


def count_orders(engine: Engine, league: str | None = None) -> int:
    with Session(engine) as session:
        statement = select(func.count()).select_from(OrderRow)
        if league is not None:
            statement = statement.where(OrderRow.league == league)
        return int(session.exec(statement).one())


def sharer_spans(engine: Engine, sharer_appid: str) -> list[SharerSpan]:
    """Channels: when which group held this sharer (`SharerBinding`), oldest first; [] for the
    operator's default sharer (''), which every unbound group's links carry, and for a sharer no group
    holds or held."""
    if not sharer_appid:
        return []
    with Session(engine) as session:
        rows = session.exec(
            select(SharerBinding)
            .where(SharerBinding.sharer_appid == sharer_appid)
            .order_by(col(SharerBinding.bound_at), col(SharerBinding.id))
        ).all()
        spans = [SharerSpan(row.group_id, row.bound_at, row.unbound_at) for row in rows]
        if not spans:  # set on the row but never through `set_sharer` (no history): the holder, always
            holder = session.exec(select(Group.id).where(Group.channels_sharer_appid == sharer_appid)).first()
            if holder is not None:
                spans = [SharerSpan(int(holder), datetime.min.replace(tzinfo=UTC), None)]
    return spans


@dataclass(frozen=True, slots=True)
class SharerSpan:
    group_id: int
    bound_at: datetime
    unbound_at: datetime | None

    def holds(self, at: datetime) -> bool:
        return self.bound_at <= at and (self.unbound_at is None or at < self.unbound_at)


def group_of_sharer(spans: list[SharerSpan], at: datetime) -> int | None:
    """The group that held the sharer when an order was placed at `at`; None when none did (the
    sharer was not bound through the bot then)."""
    for span in reversed(spans):  # the latest binding that covers `at`
        if span.holds(at):
            return span.group_id
    return None


# -- figures -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Figures:
    """What a group (None: unattributed orders) earned in a period; money in fen."""

    group_id: int | None
    name: str
    room_id: str
    orders: int = 0
    paid_fen: int = 0
    estimated_fen: int = 0
    settled_fen: int = 0
    cancelled: int = 0
    requests: int = 0


def figures(
    engine: Engine,
    start: datetime | None = None,
    end: datetime | None = None,
    group_ids: Iterable[int] | None = None,
    with_unattributed: bool = True,
) -> list[Figures]:
    """Per group, orders created in [start, end): counts and sums of the lines not cancelled,
    settled commission, cancelled lines; and member requests in the same period from the request log.
    Groups with no order and no request are left out; the unattributed row comes last."""
    live = col(OrderRow.status) != CANCELLED
    wanted = set(group_ids) if group_ids is not None else None
    with Session(engine) as session:
        statement = core_select(
            col(OrderRow.group_id),
            func.sum(case((live, 1), else_=0)),
            func.sum(case((live, OrderRow.paid_fen), else_=0)),
            func.sum(case((live, OrderRow.commission_fen), else_=0)),
            func.sum(case((col(OrderRow.status) == SETTLED, OrderRow.commission_fen), else_=0)),
            func.sum(case((live, 0), else_=1)),
        ).group_by(col(OrderRow.group_id))
        if start is not None:
            statement = statement.where(col(OrderRow.created_at) >= start)
        if end is not None:
            statement = statement.where(col(OrderRow.created_at) < end)
        with engine.connect() as connection:  # six aggregates: more columns than sqlmodel's select types
            sums = {row[0]: tuple(int(v or 0) for v in row[1:]) for row in connection.execute(statement)}
        requests_q = (
            select(Group.id, func.count())
            .select_from(RequestLog)
            .join(Group, col(Group.room_id) == col(RequestLog.chat_id))
            .group_by(col(Group.id))
        )
        if start is not None:
            requests_q = requests_q.where(col(RequestLog.at) >= start)
        if end is not None:
            requests_q = requests_q.where(col(RequestLog.at) < end)
        requests = {int(gid): int(n) for gid, n in session.exec(requests_q) if gid is not None}
        ids = {g for g in sums if g is not None} | set(requests)
        if wanted is not None:
            ids = ids & wanted
        groups = (
            {g.id: g for g in session.exec(select(Group).where(col(Group.id).in_(sorted(ids))))}
            if ids
            else {}
        )
    out: list[Figures] = []
    for gid in sorted(ids):
        group = groups.get(gid)
        o, paid, est, settled, cancelled = sums.get(gid, (0, 0, 0, 0, 0))
        out.append(
            Figures(
                gid,
                group.name if group else "",
                group.room_id if group else "",
                o,
                paid,
                est,
                settled,
                cancelled,
                requests.get(gid, 0),
            )
        )
    if with_unattributed and wanted is None:
        o, paid, est, settled, cancelled = sums.get(None, (0, 0, 0, 0, 0))
        out.append(Figures(None, "未归属", "", o, paid, est, settled, cancelled, 0))
    return out


def commission_lines(
    engine: Engine, start: datetime | None = None, end: datetime | None = None
) -> list[tuple[datetime, str, int | None, int]]:
    """(created at, league, group id, commission fen) of every line not cancelled in [start, end):
    what charts bucket by day in the operator's zone (done in Python, the same on every database)."""
    with Session(engine) as session:
        statement = select(
            OrderRow.created_at, OrderRow.league, OrderRow.group_id, OrderRow.commission_fen
        ).where(col(OrderRow.status) != CANCELLED)
        if start is not None:
            statement = statement.where(col(OrderRow.created_at) >= start)
        if end is not None:
            statement = statement.where(col(OrderRow.created_at) < end)
        return [(_aware(at), league, gid, int(fen)) for at, league, gid, fen in session.exec(statement)]
