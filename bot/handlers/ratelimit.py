"""Per-member and per-group request limits: one friendly "太快了", then silence until the window passes."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum


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
    __slots__ = ("hits", "warned_until")

    def __init__(self) -> None:
        self.hits: deque[float] = deque()
        self.warned_until = 0.0


class RateLimiter:
    """Sliding-window limits keyed by member and by chat. Memory stays bounded by pruning idle keys."""

    def __init__(
        self, per_member: Limit, per_group: Limit, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_member = per_member
        self.per_group = per_group
        self.clock = clock
        self._windows: dict[str, _Window] = {}
        self._last_prune = 0.0

    def _over(self, key: str, limit: Limit, now: float) -> tuple[_Window, bool]:
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window()
        while window.hits and now - window.hits[0] >= limit.seconds:
            window.hits.popleft()
        return window, len(window.hits) >= limit.count

    def check(self, chat_id: str, sender_id: str) -> tuple[Verdict, int]:
        """Count one request; returns the verdict and seconds until the member may ask again."""
        now = self.clock()
        self._prune(now)
        member_key, group_key = f"m:{chat_id}:{sender_id}", f"g:{chat_id}"
        member, member_over = self._over(member_key, self.per_member, now)
        group, group_over = self._over(group_key, self.per_group, now)
        if not member_over and not group_over:
            member.hits.append(now)
            group.hits.append(now)
            return Verdict.ALLOW, 0
        window, limit = (member, self.per_member) if member_over else (group, self.per_group)
        wait = max(1, int(limit.seconds - (now - window.hits[0]) + 0.999))
        if window.warned_until > now:
            return Verdict.SILENT, wait
        window.warned_until = now + wait
        return Verdict.WARN, wait

    def _prune(self, now: float) -> None:
        horizon = max(self.per_member.seconds, self.per_group.seconds)
        if now - self._last_prune < horizon:
            return
        self._last_prune = now
        idle = [k for k, w in self._windows.items() if (not w.hits or now - w.hits[-1] >= horizon)]
        for key in idle:
            if self._windows[key].warned_until <= now:
                del self._windows[key]
