"""Reading the Channels API's loosely typed fields (numbers sent as strings, Unix seconds)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def as_int(value: Any) -> int:
    """A status field as an int: the docs show numbers as strings in places."""
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def as_time(value: Any) -> datetime | None:
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None
