"""Per-member and per-group request limits: one friendly "太快了", then silence until the window passes.

`LimitRequests` applies them to every reply the router would give (not only searches), except the
owner's own commands: an owner setting up several push slots in a row is working, not flooding."""

from __future__ import annotations

import heapq
import time
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum

from bot.chat.base import Incoming, Reply
from bot.handlers.ids import asks_group_id
from bot.handlers.request import Request
from bot.handlers.router import Next
from bot.render.engine import Renderer

OWNER_COMMANDS = frozenset({"subscribe", "unsubscribe", "subscription_status", "commission", "own_store"})
"""What the group's owner (or an operator) does to run the group (with `群ID`): said by them, not counted."""


class Verdict(Enum):
    ALLOW = "allow"
    WARN = "warn"
    """Over the limit for the first time in this window: say so once."""
    SILENT = "silent"
    """Still over the limit after the warning: say nothing."""


@dataclass(frozen=True, slots=True)
class Limit:
    count: int
    seconds: float


class _Window:
    """One key's recent hits (oldest first, never more than the limit's count) and its warning.

    A plain list, not a deque: a deque takes a 64-slot block (~0.6 KB) however few it holds, and a
    busy bot keeps a window for every member who asked within the last window — half of what a soak
    saw the heap grow by was these."""

    __slots__ = ("hits", "warned_until")

    def __init__(self) -> None:
        self.hits: list[float] = []
        self.warned_until = 0.0


CAPACITY = 50_000
"""Members and groups held at most (~320 bytes each, so ~16 MB): a flood of new askers — more than a
busy bot sees in a window — must not grow the heap without end."""


class RateLimiter:
    """Sliding-window limits keyed by member and by chat. Memory stays bounded by time (keys idle for a
    window are forgotten) and by size (`capacity`: past it, the least recently active keys that are not
    held back by their limit are forgotten first, so a member who was told 「太快了」 stays limited)."""

    def __init__(
        self,
        per_member: Limit,
        per_group: Limit,
        clock: Callable[[], float] = time.monotonic,
        capacity: int = CAPACITY,
    ) -> None:
        self.per_member = per_member
        self.per_group = per_group
        self.clock = clock
        self.capacity = capacity
        self._windows: dict[str, _Window] = {}
        self._last_prune = 0.0

    def _over(self, key: str, limit: Limit, now: float) -> tuple[_Window | None, bool]:
        """The key's window (None while it holds nothing: a member who is refused because the group is
        over its limit gets none — in a flood those empty windows were most of what the limiter held)."""
        window = self._windows.get(key)
        if window is None:
            return None, False
        hits = window.hits
        if hits and now - hits[0] >= limit.seconds:
            del hits[: bisect_right(hits, now - limit.seconds)]
        return window, len(hits) >= limit.count

    def _add(self, key: str) -> _Window:
        window = self._windows[key] = _Window()
        return window

    @property
    def keys_held(self) -> int:
        """Members and groups whose windows are held (what the limiter's memory grows with)."""
        return len(self._windows)

    def check(self, chat_id: str, sender_id: str) -> tuple[Verdict, int]:
        """Count one request; returns the verdict and seconds until the member may ask again."""
        now = self.clock()
        self._prune(now)
        if len(self._windows) + 2 > self.capacity:  # before the look-ups: what they find stays held
            self._make_room(now)
        member_key, group_key = f"m:{chat_id}:{sender_id}", f"g:{chat_id}"
        member, member_over = self._over(member_key, self.per_member, now)
        group, group_over = self._over(group_key, self.per_group, now)
        if not member_over and not group_over:
            (member or self._add(member_key)).hits.append(now)
            (group or self._add(group_key)).hits.append(now)
            return Verdict.ALLOW, 0
        window, limit = (member, self.per_member) if member_over else (group, self.per_group)
        assert window is not None, "over its limit: it holds hits"
        wait = max(1, int(limit.seconds - (now - window.hits[0]) + 0.999))
        if window.warned_until > now:
            return Verdict.SILENT, wait
        window.warned_until = now + wait
        return Verdict.WARN, wait

    def _make_room(self, now: float) -> None:
        """At capacity: forget the idle, then a tenth of the keys — those not held back by a limit
        before those that are, the least recently active first (one sort per tenth of the capacity
        filled, not one per new key)."""
        self._prune(now, force=True)
        excess = len(self._windows) + 2 - self.capacity
        if excess <= 0:
            return
        busy = self.per_member.count

        def keep_first(item: tuple[str, _Window]) -> tuple[bool, float]:
            window = item[1]
            held_back = window.warned_until > now or len(window.hits) >= busy
            return held_back, window.hits[-1] if window.hits else window.warned_until

        forget = heapq.nsmallest(excess + max(1, self.capacity // 10), self._windows.items(), keep_first)
        for key, _window in forget:
            del self._windows[key]

    def _prune(self, now: float, *, force: bool = False) -> None:
        """Forget keys idle for a whole window, a quarter window at a time: what is kept is what asked
        within the last 1¼ windows, not 2."""
        horizon = max(self.per_member.seconds, self.per_group.seconds)
        if now - self._last_prune < horizon / 4 and not force:
            return
        self._last_prune = now
        idle = [k for k, w in self._windows.items() if (not w.hits or now - w.hits[-1] >= horizon)]
        for key in idle:
            if self._windows[key].warned_until <= now:
                del self._windows[key]


class LimitRequests:
    """Router middleware: every message the bot would answer counts against the member's and the
    group's limits — a search, a link, and just as much 帮助, 订阅状态 or a refused 订阅, since each
    reply spends the account's send budget. Over the limit: one "太快了", then silence.

    What counts is decided by the parser, before any handler runs (so a limited search spends no
    league quota): a product link, or a command — a bare keyword only where one is answered. The
    owner's (and an operator's) own commands — 订阅, 退订, 订阅状态, 佣金, 群ID — are not counted:
    setting up several slots in a row must not meet 「问得太快了」; the same words from a member count."""

    def __init__(
        self,
        limiter: RateLimiter,
        renderer: Renderer,
        *,
        keyword_needs_mention: bool = True,
        operators: Iterable[str] = (),
    ) -> None:
        self.limiter = limiter
        self.renderer = renderer
        self.keyword_needs_mention = keyword_needs_mention
        self.operators = frozenset(operators)

    def _request(self, message: Incoming | Request) -> Request:
        if isinstance(message, Request):
            return message
        return Request(message, self.keyword_needs_mention)

    def is_request(self, message: Incoming | Request) -> bool:
        """A link, a command, or anything said to the bot (it gets an answer, if only a hint), except an
        acknowledgement such as 好的, which gets none. In a group without an @mention a bare keyword
        counts only where one is answered (`open_command`)."""
        request = self._request(message)
        if request.refs:
            return True
        if request.addressed:
            command = request.command
            return command is None or command.kind != "ack"
        return request.open_command is not None

    def is_owner_command(self, message: Incoming | Request) -> bool:
        """An owner-only command said by the owner or an operator (exempt from the limits)."""
        request = self._request(message)
        said = request.message
        if not (said.sender_is_owner or said.sender_id in self.operators):
            return False
        if asks_group_id(said.text):
            return True
        command = request.command
        return command is not None and command.kind in OWNER_COMMANDS

    async def __call__(self, request: Request, nxt: Next) -> Reply | None:
        if not self.is_request(request) or self.is_owner_command(request):
            return await nxt(request)
        message = request.message
        verdict, wait = self.limiter.check(message.chat_id, message.sender_id)
        if verdict is Verdict.SILENT:
            return None
        if verdict is Verdict.WARN:
            text = await self.renderer.render_async(
                "rate_limited",
                {"asker": message.sender_name, "seconds": wait},
                group=message.chat_id if message.is_group else None,
            )
            return Reply.text(text, mention_sender=message.is_group)
        return await nxt(request)
