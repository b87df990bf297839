"""Subscriptions are rows; scheduler jobs are derived from them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.store.membership import not_refused
from bot.store.models import Group, Subscription, utcnow


def subscribe(
    engine: Engine,
    group_id: int,
    kind: str,
    at_time: str = "",
    categories: str = "",
    *,
    now: datetime | None = None,
) -> Subscription:
    """Create or change the group's subscription of this kind at this time (a group may have several
    daily slots; live reminders have one, at ""). `updated_at` is when the current wish began: a daily
    slot earlier than that is not this subscription's to catch up."""
    with Session(engine, expire_on_commit=False) as session:
        row = session.exec(
            select(Subscription).where(
                Subscription.group_id == group_id,
                Subscription.kind == kind,
                Subscription.at_time == at_time,
            )
        ).first()
        if row is None:
            group = session.get(Group, group_id)
            row = Subscription(group_id=group_id, kind=kind, account=group.account if group else "")
        row.at_time, row.categories, row.active = at_time, categories, True
        row.updated_at = now or utcnow()
        session.add(row)
        session.commit()
        session.refresh(row)
        return row


def active_slot(engine: Engine, group_id: int, at_time: str) -> Subscription | None:
    """The group's active daily slot at this time, if it has one (what a re-subscription replaces)."""
    with Session(engine, expire_on_commit=False) as session:
        return session.exec(
            select(Subscription).where(
                Subscription.group_id == group_id,
                Subscription.kind == "daily",
                Subscription.at_time == at_time,
                col(Subscription.active).is_(True),
            )
        ).first()


def add_daily_slot(
    engine: Engine, group_id: int, at_time: str, categories: str = ""
) -> tuple[bool, list[str]]:
    """Subscribe one daily slot, replacing only the group's slot at the same time; (whether one was
    replaced, every daily time the group now has). What 订阅 每日好物 and the web console both do."""
    replaced = active_slot(engine, group_id, at_time) is not None
    subscribe(engine, group_id, "daily", at_time, categories)
    return replaced, daily_times(engine, group_id)


def daily_times(engine: Engine, group_id: int) -> list[str]:
    """The group's active daily slots (HH:MM), earliest first."""
    return [r.at_time for r in for_group(engine, group_id) if r.kind == "daily"]


def unsubscribe(engine: Engine, group_id: int, kind: str | None = None, at_time: str | None = None) -> int:
    """Deactivate one kind (or all; with `at_time`, one daily slot); returns how many were active."""
    with Session(engine) as session:
        statement = select(Subscription).where(
            Subscription.group_id == group_id, col(Subscription.active).is_(True)
        )
        if kind:
            statement = statement.where(Subscription.kind == kind)
        if at_time is not None:
            statement = statement.where(Subscription.at_time == at_time)
        rows = list(session.exec(statement).all())
        for row in rows:
            row.active, row.updated_at = False, utcnow()
            session.add(row)
        session.commit()
        return len(rows)


def for_group(engine: Engine, group_id: int) -> list[Subscription]:
    with Session(engine, expire_on_commit=False) as session:
        statement = select(Subscription).where(
            Subscription.group_id == group_id, col(Subscription.active).is_(True)
        )
        return list(session.exec(statement.order_by(col(Subscription.kind), col(Subscription.at_time))).all())


def active(
    engine: Engine, kind: str | None = None, account: str | None = None
) -> list[tuple[Subscription, Group]]:
    """Active subscriptions (of one kind); with `account`, only those that account pushes: its own and
    the ones from before accounts ('') that no account has adopted yet, unless sending showed the
    account is not in that group (`bot.store.membership`)."""
    with Session(engine, expire_on_commit=False) as session:
        statement = (
            select(Subscription, Group)
            .where(col(Subscription.group_id) == col(Group.id), col(Subscription.active).is_(True))
            .order_by(col(Group.id), col(Subscription.at_time))
        )
        if kind:
            statement = statement.where(Subscription.kind == kind)
        if account is not None:
            statement = statement.where(col(Subscription.account).in_([account, ""]), not_refused(account))
        return [(s, g) for s, g in session.exec(statement).all()]


def group_names(engine: Engine) -> dict[int, str]:
    """Group id → name, for reports to the operator."""
    with Session(engine) as session:
        return {g.id: g.name or g.room_id for g in session.exec(select(Group)).all() if g.id is not None}
