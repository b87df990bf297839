"""Owner commands: 订阅 每日好物 [HH:MM] [类目…], 订阅 直播, 退订 [每日好物|直播|HH:MM], 订阅状态.

A group may have several daily slots: 订阅 每日好物 at a new time adds one, at a time it already has
replaces that one only, and 退订 08:30 removes one.

Only the room owner or a configured operator may change a subscription; anyone may ask the status.
Categories are matched to the league's tree forgivingly: `数码` finds 手机数码.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from bot.chat.base import Incoming, Reply
from bot.handlers.deals import HARD_STOP_MARGIN
from bot.handlers.parse import parse_command
from bot.handlers.spots import GroupSpots
from bot.leagues.base import Category, League, LeagueError
from bot.leagues.budget import budget
from bot.leagues.wechat.settings import Talent
from bot.render.engine import Renderer
from bot.store import subscriptions

DAILY_WORDS = ("每日好物", "每日", "好物", "每天", "daily")
LIVE_WORDS = ("直播", "live")
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


NextRuns = Callable[[], Mapping[tuple[int, str], datetime]]
"""(group id, HH:MM) → when that daily slot next fires."""


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


class SubscribeHandler:
    def __init__(
        self,
        *,
        engine: Engine,
        renderer: Renderer,
        league: League | None,
        groups: GroupSpots,
        operators: Iterable[str],
        default_time: str,
        on_change: Callable[[], None] = lambda: None,
        next_runs: NextRuns = dict,
        deadline: float = 5.0,
        talents: Sequence[Talent] = (),
        remind_minutes: int = 15,
    ) -> None:
        """`talents`: the operator's followed talents, so 订阅 直播 can say who it will remind about
        (or that nobody is set up, rather than promise reminders that can never come)."""
        self.engine = engine
        self.renderer = renderer
        self.league = league
        self.groups = groups
        self.operators = frozenset(operators)
        self.default_time = default_time
        self.on_change = on_change
        self.next_runs = next_runs
        self.deadline = deadline
        self.talents = tuple(talents)
        self.remind_minutes = remind_minutes

    async def __call__(self, message: Incoming) -> Reply | None:
        command = parse_command(message.text, mentioned=message.mentioned)
        if command is None or command.kind not in ("subscribe", "unsubscribe", "subscription_status"):
            return None
        if not message.is_group:
            return await self._say(message, "subscribe_usage", {"reason": "private", "given": ""})
        group = await self.groups.group(message)
        if group is None or group.id is None:
            return None
        if command.kind == "subscription_status":
            return await self._status(message, group.id)
        if not (message.sender_is_owner or message.sender_id in self.operators):
            return await self._say(message, "not_owner", {"asker": message.sender_name})
        words = command.arg.split()
        if command.kind == "unsubscribe":
            return await self._unsubscribe(message, group.id, words)
        kind = self._kind(words[0]) if words else None
        if kind is None:
            return await self._say(message, "subscribe_usage", {"reason": "unknown", "given": ""})
        if kind == "live":
            await asyncio.to_thread(subscriptions.subscribe, self.engine, group.id, "live")
            self.on_change()
            return await self._say(message, "subscribed", self._subscribed("live"))
        wish = read_daily(words[1:], self.default_time)
        if isinstance(wish, BadTime):
            return await self._say(message, "subscribe_usage", {"reason": wish.reason, "given": wish.given})
        at_time, rest = wish.at_time, list(wish.category_words)
        categories: list[Category] = []
        if rest:
            try:
                tree = await self._categories()
            except (LeagueError, TimeoutError):
                return await self._say(message, "league_busy", {"reason": "error", "follows": False})
            categories, unknown = match_categories(rest, tree)
            if unknown:
                valid = [c.name for c in tree if c.level == 1]
                return await self._say(message, "unknown_category", {"given": unknown[0], "valid": valid})
        ids = ",".join(c.category_id for c in categories)
        replaced, slots = await asyncio.to_thread(
            subscriptions.add_daily_slot, self.engine, group.id, at_time, ids
        )
        self.on_change()
        context = self._subscribed("daily", at_time, [c.name for c in categories])
        return await self._say(message, "subscribed", {**context, "replaced": replaced, "slots": slots})

    def _subscribed(
        self, kind: str, at_time: str = "", categories: list[str] | None = None
    ) -> dict[str, Any]:
        return {
            "kind": kind,
            "at_time": at_time,
            "categories": categories or [],
            "replaced": False,
            "slots": [],
            "talents": [t.name for t in self.talents if t.name],
            "unnamed_talents": sum(1 for t in self.talents if not t.name),
            "remind_minutes": self.remind_minutes,
        }

    async def _unsubscribe(self, message: Incoming, group_id: int, words: list[str]) -> Reply:
        """退订 [每日好物|直播] [HH:MM], or 退订 08:30: one daily slot by its time."""
        kind: str | None = "all"
        at_time: str | None = None
        for word in words:
            given = parse_time(word)
            if given in BAD_TIMES:
                return await self._say(message, "subscribe_usage", {"reason": given, "given": word})
            if given is not None:
                kind, at_time = "daily", given
            elif (said := self._kind(word)) is not None and at_time is None:
                kind = said
            else:
                return await self._say(message, "subscribe_usage", {"reason": "unknown", "given": ""})

        def work() -> tuple[int, list[str]]:
            removed = subscriptions.unsubscribe(
                self.engine, group_id, None if kind == "all" else kind, at_time
            )
            return removed, subscriptions.daily_times(self.engine, group_id)

        removed, slots = await asyncio.to_thread(work)
        self.on_change()
        return await self._say(
            message,
            "unsubscribed",
            {"kind": kind, "at_time": at_time or "", "removed": removed, "slots": slots},
        )

    async def _categories(self) -> list[Category]:
        """The league's category tree, within the member-facing deadline (TimeoutError past it)."""
        if self.league is None:
            return []
        with budget(self.deadline):
            async with asyncio.timeout(self.deadline + HARD_STOP_MARGIN):
                return await self.league.categories()

    @staticmethod
    def _kind(word: str) -> str | None:
        if any(w in word for w in DAILY_WORDS):
            return "daily"
        if any(w in word for w in LIVE_WORDS):
            return "live"
        return None

    async def _status(self, message: Incoming, group_id: int) -> Reply:
        rows = await asyncio.to_thread(subscriptions.for_group, self.engine, group_id)
        names: dict[str, str] = {}
        if any(r.categories for r in rows) and self.league is not None:
            try:
                names = {c.category_id: c.name for c in await self._categories()}
            except (LeagueError, TimeoutError):
                names = {}
        runs = await asyncio.to_thread(self.next_runs)  # reads the store: not on the event loop
        items: list[dict[str, Any]] = [
            {
                "kind": r.kind,
                "at_time": r.at_time,
                "categories": [names.get(i, i) for i in r.categories.split(",") if i],
                "next_run": runs.get((group_id, r.at_time)) if r.kind == "daily" else None,
            }
            for r in rows
        ]
        talents = self._subscribed("live")
        return await self._say(
            message,
            "subscription_status",
            {
                "subscriptions": items,
                "talents": talents["talents"],
                "unnamed_talents": talents["unnamed_talents"],
            },
        )

    async def _say(self, message: Incoming, template: str, context: Mapping[str, Any]) -> Reply:
        return Reply.text(
            await self.renderer.render_async(template, context, group=message.chat_id), mention_sender=True
        )
