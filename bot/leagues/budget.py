"""Time budgets for league work: the caller says how long it may take, the HTTP clients obey.

A member's answer has an overall deadline (`[deals] answer_deadline_seconds`); a push or a sync has
its own, longer one. The deadline is set once around the work (`with budget(seconds):`) and carried
by a context variable, so every league call underneath — retries, token refreshes, the requests of a
gather — sees the same end point without the `League` protocol growing a parameter. A client asks
`remaining()` before each try and caps that try's timeout by it; it gives up instead of sleeping past
the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Clock = Callable[[], float]

_deadline: ContextVar[float | None] = ContextVar("league_deadline", default=None)


@contextmanager
def budget(seconds: float, clock: Clock = time.monotonic) -> Iterator[float]:
    """Work inside may take `seconds` from now (or less, when an enclosing budget ends sooner).

    Yields the absolute deadline on `time.monotonic`'s scale."""
    end = clock() + seconds
    outer = _deadline.get()
    if outer is not None:
        end = min(end, outer)
    token = _deadline.set(end)
    try:
        yield end
    finally:
        _deadline.reset(token)


def deadline() -> float | None:
    """The absolute deadline in force (monotonic seconds), or None when the caller set none."""
    return _deadline.get()


def remaining(clock: Clock = time.monotonic) -> float | None:
    """Seconds left (never negative), or None when there is no deadline."""
    end = _deadline.get()
    if end is None:
        return None
    return max(0.0, end - clock())


def capped(seconds: float, clock: Clock = time.monotonic) -> float:
    """`seconds`, or less when the budget ends sooner."""
    left = remaining(clock)
    return seconds if left is None else min(seconds, left)
