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
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, Row, bindparam, case, func, insert
from sqlalchemy import select as core_select
from sqlalchemy import update as update_rows
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.store.models import (
    Group,
    OrderEvent,
    OrderRow,
    RequestLog,
    SharerBinding,
    SyncCursor,
    utcnow,
)
from bot.store.text import clean


class Order(Protocol):
    """An order line as a league reports it (`bot.leagues.base.Order`; the store may not import leagues)."""

    @property
    def order_id(self) -> str: ...
    @property
    def sku_id(self) -> str: ...
    @property
    def product_id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def paid_fen(self) -> int: ...
    @property
    def commission_fen(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def sharer_appid(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def pid(self) -> str: ...
    @property
    def tag(self) -> str: ...


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


@dataclass(frozen=True, slots=True)
class Stored:
    new: int = 0
    changed: int = 0
    unchanged: int = 0


def store_window(
    engine: Engine,
    league: str,
    orders: Sequence[tuple[Order, int | None]],
    cursor: datetime,
) -> Stored:
    """Upsert `orders` (each with the group it is attributed to) and move `league`'s cursor to
    `cursor`, all or nothing. A status or amount change appends to the order's history."""
    for attempt in range(2):
        try:
            return _store_window(engine, league, orders, cursor)
        except IntegrityError:  # another writer inserted one of these keys first: read them again
            if attempt:
                raise
    raise AssertionError("unreachable")


_ORDERS = OrderRow.__table__  # type: ignore[attr-defined]
_EVENTS = OrderEvent.__table__  # type: ignore[attr-defined]
_CURSORS = SyncCursor.__table__  # type: ignore[attr-defined]
_ID_LENGTH = 64
_CHUNK = 500
"""Order ids per `IN (...)` lookup (well under SQLite's and PostgreSQL's bound-parameter limits)."""

_UPDATE = (
    update_rows(_ORDERS)
    .where(_ORDERS.c.id == bindparam("row_id"))
    .values(
        status=bindparam("new_status"),
        paid_fen=bindparam("new_paid_fen"),
        commission_fen=bindparam("new_commission_fen"),
        updated_at=bindparam("new_updated_at"),
        synced_at=bindparam("new_synced_at"),
        group_id=bindparam("new_group_id"),
    )
)


def _key(order_id: str, sku_id: str) -> tuple[str, str]:
    """The (order id, sku) as the store keeps them (`SafeString` cleans and bounds what it binds)."""
    return clean(order_id, _ID_LENGTH, key=True), clean(sku_id, _ID_LENGTH, key=True)


def _event(row_id: int, order: Order, now: datetime) -> dict[str, object]:
    return {
        "order_row_id": row_id,
        "status": order.status,
        "paid_fen": order.paid_fen,
        "commission_fen": order.commission_fen,
        "at": order.updated_at,
        "seen_at": now,
    }


def _store_window(
    engine: Engine, league: str, orders: Sequence[tuple[Order, int | None]], cursor: datetime
) -> Stored:
    """The window in one transaction of set-wise statements: one lookup per 500 order ids, then one
    multi-row INSERT (RETURNING the new ids) for the new lines, one executemany UPDATE for the known
    ones, one INSERT for their history and the cursor move — not a statement per order line."""
    new = changed = unchanged = 0
    latest: dict[tuple[str, str], tuple[Order, int | None]] = {}
    for (
        order,
        group_id,
    ) in orders:  # a window may list a line twice (paging while it changes): keep the newest
        key = _key(order.order_id, order.sku_id)
        if key not in latest or _aware(latest[key][0].updated_at) <= _aware(order.updated_at):
            latest[key] = (order, group_id)
    now = utcnow()
    o = _ORDERS.c
    with engine.begin() as connection:
        existing: dict[tuple[str, str], Row[Any]] = {}
        ids = sorted({order_id for order_id, _ in latest})
        for chunk in range(0, len(ids), _CHUNK):
            found = connection.execute(
                core_select(
                    o.id,
                    o.order_id,
                    o.sku_id,
                    o.status,
                    o.paid_fen,
                    o.commission_fen,
                    o.updated_at,
                    o.group_id,
                ).where(o.league == league, o.order_id.in_(ids[chunk : chunk + _CHUNK]))
            )
            existing.update({(r.order_id, r.sku_id): r for r in found})
        inserts: list[dict[str, object]] = []
        inserted: list[Order] = []
        updates: list[dict[str, object]] = []
        events: list[dict[str, object]] = []
        for key, (order, group_id) in latest.items():
            row = existing.get(key)
            if row is None:
                inserts.append(
                    {
                        "league": league,
                        "order_id": order.order_id,
                        "sku_id": order.sku_id,
                        "product_id": order.product_id,
                        "title": order.title,
                        "paid_fen": order.paid_fen,
                        "commission_fen": order.commission_fen,
                        "status": order.status,
                        "pid": order.pid,
                        "tag": order.tag,
                        "sharer_appid": order.sharer_appid,
                        "group_id": group_id,
                        "created_at": order.created_at,
                        "updated_at": order.updated_at,
                        "synced_at": now,
                    }
                )
                inserted.append(order)
                continue
            if _aware(row.updated_at) > _aware(order.updated_at):
                unchanged += 1  # an older state read again in an overlapping window
                continue
            moved = (row.status, row.paid_fen, row.commission_fen) != (
                order.status,
                order.paid_fen,
                order.commission_fen,
            )
            updates.append(
                {
                    "row_id": row.id,
                    "new_status": order.status,
                    "new_paid_fen": order.paid_fen,
                    "new_commission_fen": order.commission_fen,
                    "new_updated_at": order.updated_at,
                    "new_synced_at": now,
                    "new_group_id": group_id
                    if group_id is not None or row.group_id is None
                    else row.group_id,
                }
            )
            if moved:
                events.append(_event(row.id, order, now))
                changed += 1
            else:
                unchanged += 1
        if inserts:
            # matched back by key, not by position: asking for the parameters' order makes SQLite
            # fall back to one INSERT per row
            returned = connection.execute(insert(_ORDERS).returning(o.id, o.order_id, o.sku_id), inserts)
            new_ids = {(r.order_id, r.sku_id): int(r.id) for r in returned}
            events += [_event(new_ids[_key(x.order_id, x.sku_id)], x, now) for x in inserted]
            new = len(new_ids)
        if updates:
            connection.execute(_UPDATE, updates)
        if events:
            connection.execute(insert(_EVENTS), events)
        _move_cursor(connection, league, cursor)
    return Stored(new, changed, unchanged)


def _move_cursor(connection: Connection, league: str, cursor: datetime) -> None:
    c = _CURSORS.c
    current = connection.execute(core_select(c.cursor).where(c.league == league)).first()
    if current is None:
        connection.execute(insert(_CURSORS).values(league=league, cursor=cursor, updated_at=utcnow()))
    elif _aware(current.cursor) < cursor:
        connection.execute(
            update_rows(_CURSORS).where(c.league == league).values(cursor=cursor, updated_at=utcnow())
        )


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
