"""Owner commands: 订阅 每日好物 [HH:MM] [类目…], 订阅 直播, 退订 [每日好物|直播], 订阅状态.

Only the room owner or a configured operator may change a subscription; anyone may ask the status.
Categories are matched to the league's tree forgivingly: `数码` finds 手机数码.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from bot.chat.base import Incoming, Reply
from bot.handlers.deals import HARD_STOP_MARGIN
from bot.handlers.parse import parse_command
from bot.handlers.spots import GroupSpots
from bot.leagues.base import Category, League, LeagueError
from bot.leagues.budget import budget
from bot.render import Renderer
from bot.store import subscriptions

DAILY_WORDS = ("每日好物", "每日", "好物", "每天", "daily")
LIVE_WORDS = ("直播", "live")
_TIME = re.compile(
    r"^(?P<part>早上|上午|中午|下午|晚上)?(?P<hour>\d{1,2})"
    r"(?:[:：](?P<minute>\d{2})|点(?:(?P<half>半)|(?P<minute2>\d{1,2})分?)?)$"
)
_TIMEISH = re.compile(r"^(早上|上午|中午|下午|晚上)?\d+([:：点]|$)")
"""Looks like an attempt at a time: a wrong one gets the usage, not "no such category"."""
BAD_TIME = "bad"


def parse_time(word: str) -> str | None:
    """`08:30`, `8:30`, `8点`, `8点半`, `晚上8点15` → "HH:MM"; None when the word is no time at all;
    `BAD_TIME` when it tries to be one and fails (25:00, 8:61, 8)."""
    found = _TIME.match(word)
    if found is None:
        return BAD_TIME if _TIMEISH.match(word) else None
    hour = int(found["hour"])
    minute = 30 if found["half"] else int(found["minute"] or found["minute2"] or 0)
    if found["part"] in ("下午", "晚上") and hour < 12:
        hour += 12
    if hour > 23 or minute > 59:
        return BAD_TIME
    return f"{hour:02d}:{minute:02d}"


NextRuns = Callable[[], Mapping[int, datetime]]


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
    ) -> None:
        self.engine = engine
        self.renderer = renderer
        self.league = league
        self.groups = groups
        self.operators = frozenset(operators)
        self.default_time = default_time
        self.on_change = on_change
        self.next_runs = next_runs
        self.deadline = deadline

    async def __call__(self, message: Incoming) -> Reply | None:
        command = parse_command(message.text, mentioned=message.mentioned)
        if command is None or command.kind not in ("subscribe", "unsubscribe", "subscription_status"):
            return None
        if not message.is_group:
            return await self._say(message, "subscribe_usage", {"reason": "private"})
        group = await self.groups.group(message)
        if group is None or group.id is None:
            return None
        if command.kind == "subscription_status":
            return await self._status(message, group.id)
        if not (message.sender_is_owner or message.sender_id in self.operators):
            return await self._say(message, "not_owner", {"asker": message.sender_name})
        words = command.arg.split()
        if command.kind == "unsubscribe":
            kind = self._kind(words[0]) if words else "all"
            if kind is None:
                return await self._say(message, "subscribe_usage", {"reason": "unknown"})
            await asyncio.to_thread(
                subscriptions.unsubscribe, self.engine, group.id, None if kind == "all" else kind
            )
            self.on_change()
            return await self._say(message, "unsubscribed", {"kind": kind})
        kind = self._kind(words[0]) if words else None
        if kind is None:
            return await self._say(message, "subscribe_usage", {"reason": "unknown"})
        if kind == "live":
            await asyncio.to_thread(subscriptions.subscribe, self.engine, group.id, "live")
            self.on_change()
            return await self._say(message, "subscribed", {"kind": "live", "at_time": "", "categories": []})
        at_time, rest = self.default_time, words[1:]
        given = parse_time(rest[0]) if rest else None
        if given == BAD_TIME:
            return await self._say(message, "subscribe_usage", {"reason": "unknown"})
        if given is not None:
            at_time, rest = given, rest[1:]
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
        await asyncio.to_thread(subscriptions.subscribe, self.engine, group.id, "daily", at_time, ids)
        self.on_change()
        names = [c.name for c in categories]
        return await self._say(
            message, "subscribed", {"kind": "daily", "at_time": at_time, "categories": names}
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
                "next_run": runs.get(group_id) if r.kind == "daily" else None,
            }
            for r in rows
        ]
        return await self._say(message, "subscription_status", {"subscriptions": items})

    async def _say(self, message: Incoming, template: str, context: Mapping[str, Any]) -> Reply:
        return Reply.text(
            await self.renderer.render_async(template, context, group=message.chat_id), mention_sender=True
        )
