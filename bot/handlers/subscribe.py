"""Owner commands: 订阅 每日好物 [HH:MM] [类目…], 订阅 直播, 订阅 外卖 [HH:MM], 订阅 线报,
退订 [每日好物|直播|外卖|线报|HH:MM], 订阅状态.

The chat's face over `bot.services.subscriptions` (the rules: times, categories, several daily slots).
Only the room owner or a configured operator may change a subscription; anyone may ask the status.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine

from bot.chat.base import Incoming, Reply
from bot.handlers.request import Request, RequestKind, as_request
from bot.leagues.base import Category, League, LeagueError
from bot.leagues.wechat.settings import Talent
from bot.render.engine import Renderer
from bot.services.attribution import GroupSpots
from bot.services.subscriptions import (
    FORWARD_WORDS,
    TAKEOUT_TIME,
    BadTime,
    NextRuns,
    Subscriptions,
    Unknown,
    kind_of,
    match_categories,
    read_cancel,
    read_daily,
)


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
        forward_enabled: bool = False,
        takeout_enabled: bool = True,
    ) -> None:
        """`talents`: the operator's followed talents, so 订阅 直播 can say who it will remind about
        (or that nobody is set up, rather than promise reminders that can never come).
        `forward_enabled`: `[forward] enabled`, so 订阅 线报 says when forwarding is not on yet.
        `takeout_enabled`: a takeout league is on; without one 订阅 外卖 is refused (a slot that can never
        send is a promise broken every day), saying why."""
        self.subscriptions = Subscriptions(
            engine, league, on_change=on_change, next_runs=next_runs, deadline=deadline
        )
        self.renderer = renderer
        self.groups = groups
        self.operators = frozenset(operators)
        self.default_time = default_time
        self.talents = tuple(talents)
        self.remind_minutes = remind_minutes
        self.forward_enabled = forward_enabled
        self.takeout_enabled = takeout_enabled

    takes: frozenset[RequestKind] = frozenset({"subscribe", "unsubscribe", "subscription_status"})

    async def __call__(self, message: Incoming) -> Reply | None:
        return await self.handle(as_request(message))

    async def handle(self, request: Request) -> Reply | None:
        message, command = request.message, request.command
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
        if words and words[0] in FORWARD_WORDS:
            return await self._forward(message, group.id, on=command.kind == "subscribe", extra=words[1:])
        if command.kind == "unsubscribe":
            return await self._unsubscribe(message, group.id, words)
        kind = kind_of(words[0]) if words else None
        if kind is None:
            return await self._say(message, "subscribe_usage", {"reason": "unknown", "given": ""})
        if kind == "live":
            await self.subscriptions.subscribe_live(group.id)
            return await self._say(message, "subscribed", self._subscribed("live"))
        if kind == "takeout":
            return await self._takeout(message, group.id, words[1:])
        wish = read_daily(words[1:], self.default_time)
        if isinstance(wish, BadTime):
            return await self._say(message, "subscribe_usage", {"reason": wish.reason, "given": wish.given})
        at_time, rest = wish.at_time, list(wish.category_words)
        categories: list[Category] = []
        if rest:
            try:
                tree = await self.subscriptions.categories()
            except (LeagueError, TimeoutError):
                return await self._say(message, "league_busy", {"reason": "error", "follows": False})
            categories, unknown = match_categories(rest, tree)
            if unknown:
                valid = [c.name for c in tree if c.level == 1]
                return await self._say(message, "unknown_category", {"given": unknown[0], "valid": valid})
        replaced, slots = await self.subscriptions.add_daily(group.id, at_time, categories)
        context = self._subscribed("daily", at_time, [c.name for c in categories])
        return await self._say(message, "subscribed", {**context, "replaced": replaced, "slots": slots})

    async def _forward(self, message: Incoming, group_id: int, *, on: bool, extra: list[str]) -> Reply:
        """订阅 线报 / 退订 线报: the group receives (or no longer receives) the 线报 forwards."""
        if extra:
            return await self._say(message, "subscribe_usage", {"reason": "unknown", "given": ""})
        had = await self.subscriptions.set_forward(group_id, on)
        if not on:
            context = {"kind": "forward", "at_time": "", "removed": int(had), "slots": []}
            return await self._say(message, "unsubscribed", context)
        kind = "forward" if self.forward_enabled else "forward_off"
        return await self._say(message, "subscribed", {**self._subscribed(kind), "replaced": had})

    async def _takeout(self, message: Incoming, group_id: int, words: list[str]) -> Reply:
        """订阅 外卖 [HH:MM]: the takeout links pushed daily at that time (several times allowed)."""
        wish = read_daily(words, TAKEOUT_TIME)
        if isinstance(wish, BadTime):
            return await self._say(message, "subscribe_usage", {"reason": wish.reason, "given": wish.given})
        if wish.category_words:
            return await self._say(message, "subscribe_usage", {"reason": "unknown", "given": ""})
        if not self.takeout_enabled:
            context = self._subscribed("takeout_off", wish.at_time)
            return await self._say(message, "subscribed", {**context, "replaced": False, "slots": []})
        replaced, slots = await self.subscriptions.add_takeout(group_id, wish.at_time)
        context = self._subscribed("takeout", wish.at_time)
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
        cancel = read_cancel(words)
        if isinstance(cancel, BadTime):
            return await self._say(
                message, "subscribe_usage", {"reason": cancel.reason, "given": cancel.given}
            )
        if isinstance(cancel, Unknown):
            return await self._say(message, "subscribe_usage", {"reason": "unknown", "given": ""})
        removed, slots = await self.subscriptions.cancel(group_id, cancel)
        return await self._say(
            message,
            "unsubscribed",
            {"kind": cancel.kind, "at_time": cancel.at_time or "", "removed": removed, "slots": slots},
        )

    async def _status(self, message: Incoming, group_id: int) -> Reply:
        items = [slot.as_context() for slot in await self.subscriptions.status(group_id)]
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
