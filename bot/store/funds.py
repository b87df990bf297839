"""What reconciliation (对账) reads from the synced orders: the orders counted as settled in a period,
and what the store knows of orders a league's funds flows name."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Engine
from sqlmodel import Session, col, select

from bot.store.models import Group, OrderRow
from bot.store.orders import SETTLED

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class StoredOrder:
    """One order (its lines summed) as order sync stored it."""

    order_id: str
    title: str
    commission_fen: int
    status: str
    updated_at: datetime
    group: str
    """The group's name (its room id when unnamed); "" when unattributed."""


def _orders(session: Session, league: str, where: ColumnElement[bool]) -> list[StoredOrder]:
    rows = session.exec(
        select(OrderRow, Group.name, Group.room_id)
        .join(Group, col(Group.id) == col(OrderRow.group_id), isouter=True)
        .where(OrderRow.league == league)
        .where(where)
        .order_by(col(OrderRow.updated_at), col(OrderRow.order_id))
    ).all()
    merged: dict[str, StoredOrder] = {}
    for row, name, room_id in rows:
        updated = row.updated_at if row.updated_at.tzinfo else row.updated_at.replace(tzinfo=UTC)
        seen = merged.get(row.order_id)
        if seen is None:
            merged[row.order_id] = StoredOrder(
                row.order_id, row.title, row.commission_fen, row.status, updated, name or room_id or ""
            )
        else:  # another line (sku) of the same order: one 分账 pays for all of them
            merged[row.order_id] = StoredOrder(
                seen.order_id,
                seen.title,
                seen.commission_fen + row.commission_fen,
                seen.status if seen.status == row.status else f"{seen.status}/{row.status}",
                max(seen.updated_at, updated),
                seen.group,
            )
    return list(merged.values())


def settled_between(engine: Engine, league: str, since: datetime, until: datetime) -> list[StoredOrder]:
    """`league`'s order lines counted as settled whose last update (the settlement, for a settled
    line) falls in [since, until], summed per order."""
    with Session(engine) as session:
        return _orders(
            session,
            league,
            (col(OrderRow.status) == SETTLED)
            & (col(OrderRow.updated_at) >= since)
            & (col(OrderRow.updated_at) <= until),
        )


def orders_named(engine: Engine, league: str, order_ids: Iterable[str]) -> dict[str, StoredOrder]:
    """The stored orders among `order_ids`, whatever their status."""
    wanted = list(dict.fromkeys(order_ids))
    out: dict[str, StoredOrder] = {}
    with Session(engine) as session:
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            out.update((o.order_id, o) for o in _orders(session, league, col(OrderRow.order_id).in_(chunk)))
    return out
