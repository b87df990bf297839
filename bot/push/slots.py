"""Daily slots in time: when a group's HH:MM next comes (or last came) in the configured zone, the
push-log key of a slot, and the console's list of every active slot. Compared in UTC: wall clocks lie
at DST changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from bot.store.models import Group, Subscription


def slot_on(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    """Local HH:MM on `day`, in UTC. A time the clock skips (spring forward) falls the gap's length
    later, and a time it shows twice (fall back) counts the first time: both as the scheduler fires."""
    return datetime.combine(day, dt_time(hour, minute), tzinfo=zone).astimezone(UTC)


def latest_slot(at_time: str, now: datetime, zone: ZoneInfo) -> datetime:
    """The most recent moment ≤ now at local HH:MM, in UTC (compared in UTC: wall clocks lie at DST)."""
    hour, minute = (int(x) for x in at_time.split(":"))
    today = now.astimezone(zone).date()
    slot = slot_on(today, hour, minute, zone)
    return slot if slot <= now else slot_on(today - timedelta(days=1), hour, minute, zone)


def next_slot(at_time: str, now: datetime, zone: ZoneInfo) -> datetime:
    """The first moment > now at local HH:MM: the next local day, not 24 hours on (DST)."""
    hour, minute = (int(x) for x in at_time.split(":"))
    today = now.astimezone(zone).date()
    for day in (today, today + timedelta(days=1), today + timedelta(days=2)):
        slot = slot_on(day, hour, minute, zone)
        if slot > now:
            return slot
    raise AssertionError("unreachable: a local time recurs within two days")


def daily_slot_key(slot: datetime, zone: ZoneInfo) -> str:
    return "daily:" + slot.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


@dataclass(frozen=True)
class DailySlot:
    """An active daily slot of a group and when it next fires (for the console's list)."""

    group_id: int
    at_time: str
    name: str
    account: str
    blocked: bool
    next_at: datetime


def upcoming_daily(
    engine: Engine, now: datetime, zone: ZoneInfo, runs: dict[tuple[int, str], datetime] | None = None
) -> list[DailySlot]:
    """Every active daily slot, soonest first: when it next fires (from `runs`, the serving push
    services' `next_runs`, else computed as they compute it). One light query: the console lists
    hundreds of groups' slots on every page view."""
    statement = (
        select(
            Subscription.group_id,
            Subscription.at_time,
            Group.name,
            Group.room_id,
            Group.account,
            Group.blocked,
        )  # type: ignore[call-overload]
        .where(Subscription.group_id == Group.id, Subscription.kind == "daily")
        .where(Subscription.active.is_(True))  # type: ignore[attr-defined]
    )
    runs = runs or {}
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    out = [
        DailySlot(
            gid, at, name or room, account, bool(blocked), runs.get((gid, at)) or next_slot(at, now, zone)
        )
        for gid, at, name, room, account, blocked in rows
    ]
    out.sort(key=lambda slot: (slot.next_at, slot.name, slot.group_id))
    return out
