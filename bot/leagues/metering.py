"""Counts league API calls made on behalf of one request, for quota and demand reports.

The client calls `count_call(league)` once per HTTP request; a handler wraps its work in `metered()`
and reads the total (and the calls per league) afterwards. A context variable keeps concurrent
requests apart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass(slots=True)
class CallCounter:
    calls: int = 0
    parent: CallCounter | None = None
    by_league: Counter[str] = field(default_factory=Counter)
    """Calls per league name ("" for a client that does not say)."""


_current: ContextVar[CallCounter | None] = ContextVar("league_calls", default=None)


def count_call(league: str = "") -> None:
    counter = _current.get()
    while counter is not None:  # nested meters (a request inside a replay) all see the call
        counter.calls += 1
        counter.by_league[league] += 1
        counter = counter.parent


@contextmanager
def metered() -> Iterator[CallCounter]:
    counter = CallCounter(parent=_current.get())
    token = _current.set(counter)
    try:
        yield counter
    finally:
        _current.reset(token)
