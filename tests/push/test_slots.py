"""Daily slots on days the clock jumps: never a slot in the future, never one 24 hours off."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.push.slots import daily_slot_key, latest_slot, next_slot

NEW_YORK = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_in_the_spring_forward_gap_the_latest_slot_is_never_in_the_future() -> None:
    # 2026-03-08 02:00 EST jumps to 03:00 EDT; 02:30 does not exist that night.
    for minute in range(0, 30):
        now = utc(2026, 3, 8, 7, minute)  # 03:00–03:29 EDT: the wall clock is past 02:30 already
        slot = latest_slot("02:30", now, NEW_YORK)
        assert slot <= now
        assert daily_slot_key(slot, NEW_YORK) == "daily:2026-03-07T02:30"


def test_the_skipped_slot_falls_when_the_scheduler_fires_it() -> None:
    fires = CronTrigger(hour=2, minute=30, timezone=NEW_YORK).get_next_fire_time(None, utc(2026, 3, 8, 0, 0))
    assert fires is not None
    fires = fires.astimezone(UTC)  # 07:30Z = 03:30 EDT
    assert latest_slot("02:30", fires, NEW_YORK) == fires
    assert next_slot("02:30", utc(2026, 3, 8, 7, 10), NEW_YORK) == fires


def test_the_next_slot_is_the_next_local_day_not_24_hours_on() -> None:
    now = utc(2026, 3, 7, 14, 0)  # 09:00 EST, the day before spring forward
    assert next_slot("08:00", now, NEW_YORK) == utc(2026, 3, 8, 12, 0)  # 08:00 EDT, 23 hours later
    assert latest_slot("08:00", utc(2026, 3, 8, 12, 0), NEW_YORK) == utc(2026, 3, 8, 12, 0)


def test_a_time_shown_twice_at_fall_back_is_one_slot() -> None:
    first, second = utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30)  # 01:30 EDT, then 01:30 EST
    assert latest_slot("01:30", first, NEW_YORK) == first
    assert latest_slot("01:30", second, NEW_YORK) == first  # the second 01:30 is the same slot
    assert daily_slot_key(first, NEW_YORK) == "daily:2026-11-01T01:30"
