"""Order lines no group could be credited with, counted by the identity they came back with: what
佣金 reads to tell an owner that some of the orders their links brought cannot be told apart
(`bot.services.unattributed` says why)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from bot.store.models import OrderRow


def sharer_orders(engine: Engine, league: str, sharer_appid: str, since: datetime, until: datetime) -> int:
    """How many of `league`'s order lines that came back with `sharer_appid` and were placed in
    [since, until) are on no group; cancelled ones are not counted (as the owner's figures count)."""
    statement = (
        select(func.count())
        .select_from(OrderRow)
        .where(
            OrderRow.league == league,
            OrderRow.sharer_appid == sharer_appid,
            col(OrderRow.group_id).is_(None),
            OrderRow.status != "cancelled",
            col(OrderRow.created_at) >= since,
            col(OrderRow.created_at) < until,
        )
    )
    with Session(engine) as session:
        return int(session.exec(statement).one())
