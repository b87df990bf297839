"""A small bounded cache of league answers: fresh for `ttl` seconds, stale entries kept for degraded mode.

Every league keeps its recent searches and product details in one of these, so a popular product asked
in many groups costs one league call, and a league that is down can still answer from what it said last.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class TtlCache:
    def __init__(
        self, ttl: float, *, capacity: int = 5000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.capacity = capacity
        self.clock = clock
        self.items: dict[Any, tuple[float, Any]] = {}

    def get(self, key: Any, *, stale_ok: bool = False) -> Any | None:
        hit = self.items.get(key)
        if hit is None or (not stale_ok and self.clock() - hit[0] >= self.ttl):
            return None
        return hit[1]

    def put(self, key: Any, value: Any) -> None:
        self.items.pop(key, None)  # re-inserted at the young end
        if len(self.items) >= self.capacity:
            self.items.pop(next(iter(self.items)))  # the oldest goes first
        self.items[key] = (self.clock(), value)

    def clear(self) -> None:
        self.items.clear()
