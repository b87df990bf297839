"""The rules of 订阅: reading a time and category words, matching categories to a league's tree, and
changing a group's subscriptions — the same for the owner's chat commands (bot.handlers.subscribe),
the web console's group page and `tuike groups subscribe`.

A group may have several daily slots: a daily subscription at a new time adds one, at a time it
already has replaces that one only, and unsubscribing a time removes that one.
Categories are matched to the league's tree forgivingly: `数码` finds 手机数码.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from bot.leagues.base import Category, League, LeagueError
from bot.leagues.budget import budget
from bot.services.deals import HARD_STOP_MARGIN
from bot.store import subscriptions

DAILY_WORDS = ("每日好物", "每日", "好物", "每天", "daily")
LIVE_WORDS = ("直播", "live")
TAKEOUT_WORDS = ("外卖",)
FORWARD = "forward"
"""The subscription kind of 订阅 线报: the group receives 线报 forwards (bot/forward/targets.py)."""
FORWARD_WORDS = ("线报",)
TAKEOUT_TIME = "10:30"
"""订阅 外卖 without a time: before lunch, when members order."""
"""订阅 外卖 HH:MM: the takeout coupon links pushed daily at that time (bot.push.takeout); several slots allowed."""
_TIME = re.compile(
    r"^(?P<part>早上|上午|中午|下午|晚上)?(?P<hour>\d{1,2})"
    r"(?:[:：](?P<minute>\d{2})|点(?:(?P<half>半)|(?P<minute2>\d{1,2})分?)?)$"
)
_TIMEISH = re.compile(r"^(早上|上午|中午|下午|晚上)?\d+([:：点]|$)")
"""Looks like an attempt at a time: a wrong one gets the usage, not "no such category"."""
BAD_HOUR, BAD_MINUTE, BAD_FORM = "bad_hour", "bad_minute", "bad_form"
BAD_TIMES = (BAD_HOUR, BAD_MINUTE, BAD_FORM)
"""What was wrong with a time, as the usage text's `reason`: 25:00, 8:60, 8:30pm / a bare 8."""


def parse_time(word: str) -> str | None:
    """`08:30`, `8:30`, `8点`, `8点半`, `晚上8点15` → "HH:MM"; None when the word is no time at all;
    one of `BAD_TIMES` when it tries to be one and fails (25:00, 8:60, 8:30pm, 8)."""
    found = _TIME.match(word)
    if found is None:
        return BAD_FORM if _TIMEISH.match(word) else None
    hour = int(found["hour"])
    minute = 30 if found["half"] else int(found["minute"] or found["minute2"] or 0)
    if found["part"] in ("下午", "晚上") and hour < 12:
        hour += 12
    if hour > 23:
        return BAD_HOUR
    if minute > 59:
        return BAD_MINUTE
    return f"{hour:02d}:{minute:02d}"


def kind_of(word: str) -> str | None:
    """ "daily", "live" or "takeout" for a word that names one (每日好物, 直播, 外卖, …), else None."""
    if any(w in word for w in DAILY_WORDS):
        return "daily"
    if any(w in word for w in LIVE_WORDS):
        return "live"
    if any(w in word for w in TAKEOUT_WORDS):
        return "takeout"
    return None


@dataclass(frozen=True, slots=True)
class DailyWish:
    """What 订阅 每日好物 asks for: a time (HH:MM) and category words still to match."""

    at_time: str
    category_words: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BadTime:
    """A word that tried to be a time and failed: `reason` is one of `BAD_TIMES`."""

    reason: str
    given: str


@dataclass(frozen=True, slots=True)
class Unknown:
    """Words that name no subscription kind (the usage text's reason "unknown")."""


@dataclass(frozen=True, slots=True)
class Cancel:
    """What 退订 asks for: `kind` "all", "daily", "live" or "takeout"; `at_time` one daily (or takeout)
    slot, or None."""

    kind: str
    at_time: str | None = None


def read_daily(words: Sequence[str], default_time: str) -> DailyWish | BadTime:
    """The words after 每日好物: an optional time first (`default_time` without one), then category
    words. Used by the chat command and the web console alike."""
    at_time, rest = default_time, list(words)
    given = parse_time(rest[0]) if rest else None
    if given in BAD_TIMES:
        return BadTime(str(given), rest[0])
    if given is not None:
        at_time, rest = given, rest[1:]
    return DailyWish(at_time, tuple(rest))


def read_cancel(words: Iterable[str]) -> Cancel | BadTime | Unknown:
    """The words after 退订: [每日好物|直播] [HH:MM], or a time alone (that daily slot)."""
    kind: str = "all"
    at_time: str | None = None
    for word in words:
        given = parse_time(word)
        if given in BAD_TIMES:
            return BadTime(str(given), word)
        if given is not None:
            kind, at_time = ("takeout" if kind == "takeout" else "daily"), given  # 退订 外卖 10:30
        elif (said := kind_of(word)) is not None and at_time is None:
            kind = said
        else:
            return Unknown()
    return Cancel(kind, at_time)


def takeout_times(engine: Engine, group_id: int) -> list[str]:
    """The group's active 外卖 slots (HH:MM), earliest first."""
    return [r.at_time for r in subscriptions.for_group(engine, group_id) if r.kind == "takeout"]


NextRuns = Callable[[], Mapping[tuple[int, str], datetime]]
"""(group id, `run_key(kind, HH:MM)`) → when that slot next fires."""

TIMED_KINDS = ("daily", "takeout")
"""The kinds whose slots fire at a time of day, so 订阅状态 can say when each goes next."""


def run_key(kind: str, at_time: str) -> str:
    """The time half of a `NextRuns` key: a daily slot's HH:MM as it is (the console's list reads
    those), any other kind's prefixed with the kind ("takeout:10:30"), so a group's 每日好物 and 外卖
    at the same time each keep their own next run."""
    return at_time if kind == "daily" else f"{kind}:{at_time}"


def match_categories(words: Iterable[str], tree: list[Category]) -> tuple[list[Category], list[str]]:
    """(matched categories, words that matched nothing). A word matches a name it is part of, or a
    name that is part of it; level-1 categories win over their children."""
    found: list[Category] = []
    unknown: list[str] = []
    ordered = sorted(tree, key=lambda c: (c.level, c.name))
    for word in words:
        hit = next((c for c in ordered if word == c.name), None)
        hit = hit or next((c for c in ordered if word in c.name or c.name in word), None)
        if hit is None:
            unknown.append(word)
        elif hit not in found:
            found.append(hit)
    return found, unknown


@dataclass(frozen=True, slots=True)
class Slot:
    """One of a group's subscriptions as the status shows it (category names where the tree had them)."""

    kind: str
    at_time: str
    categories: list[str] = field(default_factory=list)
    next_run: datetime | None = None

    def as_context(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "at_time": self.at_time,
            "categories": self.categories,
            "next_run": self.next_run,
        }


class Subscriptions:
    """A group's subscriptions, changed and read off the event loop; `on_change` is told after every
    change (the scheduler rebuilds its jobs from the rows). `league` gives the category tree, asked
    within `deadline` seconds (TimeoutError past it)."""

    def __init__(
        self,
        engine: Engine,
        league: League | None,
        *,
        on_change: Callable[[], None] = lambda: None,
        next_runs: NextRuns = dict,
        deadline: float = 5.0,
    ) -> None:
        self.engine = engine
        self.league = league
        self.on_change = on_change
        self.next_runs = next_runs
        self.deadline = deadline

    async def categories(self) -> list[Category]:
        """The league's category tree, within the deadline (TimeoutError past it)."""
        if self.league is None:
            return []
        with budget(self.deadline):
            async with asyncio.timeout(self.deadline + HARD_STOP_MARGIN):
                return await self.league.categories()

    async def subscribe_live(self, group_id: int) -> None:
        await asyncio.to_thread(subscriptions.subscribe, self.engine, group_id, "live")
        self.on_change()

    async def set_forward(self, group_id: int, on: bool) -> bool:
        """订阅 线报 (`on`) / 退订 线报: whether the group had it on before."""

        def work() -> bool:
            had = any(r.kind == FORWARD for r in subscriptions.for_group(self.engine, group_id))
            if on:
                subscriptions.subscribe(self.engine, group_id, FORWARD)
            else:
                subscriptions.unsubscribe(self.engine, group_id, FORWARD)
            return had

        return await asyncio.to_thread(work)

    async def add_daily(
        self, group_id: int, at_time: str, categories: Sequence[Category]
    ) -> tuple[bool, list[str]]:
        """(whether a slot at that time was replaced, the group's daily times now)."""
        ids = ",".join(c.category_id for c in categories)
        replaced, slots = await asyncio.to_thread(
            subscriptions.add_daily_slot, self.engine, group_id, at_time, ids
        )
        self.on_change()
        return replaced, slots

    async def add_takeout(self, group_id: int, at_time: str) -> tuple[bool, list[str]]:
        """订阅 外卖 HH:MM: (whether the group had that time already, the group's takeout times now)."""

        def work() -> tuple[bool, list[str]]:
            replaced = at_time in takeout_times(self.engine, group_id)
            subscriptions.subscribe(self.engine, group_id, "takeout", at_time)
            return replaced, takeout_times(self.engine, group_id)

        done = await asyncio.to_thread(work)
        self.on_change()
        return done

    async def cancel(self, group_id: int, cancel: Cancel) -> tuple[int, list[str]]:
        """(how many subscriptions were removed, the group's daily — or, for 外卖, takeout — times now)."""

        def work() -> tuple[int, list[str]]:
            removed = subscriptions.unsubscribe(
                self.engine, group_id, None if cancel.kind == "all" else cancel.kind, cancel.at_time
            )
            if cancel.kind == "takeout":
                return removed, takeout_times(self.engine, group_id)
            return removed, subscriptions.daily_times(self.engine, group_id)

        done = await asyncio.to_thread(work)
        self.on_change()
        return done

    async def status(self, group_id: int) -> list[Slot]:
        """The group's subscriptions with each daily and 外卖 slot's next run (as the push service that
        serves it computes it; none when no push service does); category ids stay ids when the league
        cannot name them now."""
        rows = await asyncio.to_thread(subscriptions.for_group, self.engine, group_id)
        names: dict[str, str] = {}
        if any(r.categories for r in rows) and self.league is not None:
            try:
                names = {c.category_id: c.name for c in await self.categories()}
            except (LeagueError, TimeoutError):
                names = {}
        runs = await asyncio.to_thread(self.next_runs)  # reads the store: not on the event loop
        return [
            Slot(
                kind=r.kind,
                at_time=r.at_time,
                categories=[names.get(i, i) for i in r.categories.split(",") if i],
                next_run=runs.get((group_id, run_key(r.kind, r.at_time))) if r.kind in TIMED_KINDS else None,
            )
            for r in rows
        ]
