"""HTTP pieces every league client shares: one try inside the caller's budget, a capped answer.

A league server may hang, trickle an answer a byte at a time or send hundreds of megabytes. httpx's
timeouts are per read, so a trickle never trips them; `capped_request` bounds the whole exchange by a
wall-clock timeout and streams the body, refusing it past `max_bytes` instead of holding it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from bot.leagues import budget
from bot.leagues.base import LeagueUnavailable

MAX_RESPONSE_BYTES = 4 << 20
"""The largest answer read (the biggest real one, a 20-item product page with details, is ~200 KB)."""
MIN_TRY_SECONDS = 0.02
"""A try with less time than this left in the budget is not started: it could not finish."""


WHOLE_TRY_MARGIN = 0.1
"""Seconds the whole-exchange bound waits beyond the per-phase timeouts."""


class ResponseTooLarge(LeagueUnavailable):
    """The server sent more than the client will hold; not retried (it would do it again)."""


def try_seconds(per_try: float) -> float | None:
    """How long the next try may take: `per_try`, or less when the budget ends sooner; None when the
    budget is spent (do not start it)."""
    left = budget.remaining()
    if left is None:
        return per_try
    if left <= MIN_TRY_SECONDS:
        return None
    return min(per_try, left)


def time_to_retry(delay: float) -> bool:
    """Whether pausing `delay` seconds still leaves time for another try."""
    left = budget.remaining()
    return left is None or delay + MIN_TRY_SECONDS < left


async def capped_request(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    seconds: float,
    max_bytes: int = MAX_RESPONSE_BYTES,
    **kwargs: Any,
) -> tuple[int, bytes]:
    """(status, body) of one request that takes at most `seconds`, whole; raises TimeoutError past
    that and `ResponseTooLarge` past `max_bytes` (announced or counted).

    httpx's own timeouts (the same `seconds`, per phase) fire first when one phase is slow, naming it
    (`ReadTimeout`, `ConnectTimeout`); the overall bound, a little later, catches the trickle."""
    async with asyncio.timeout(seconds + WHOLE_TRY_MARGIN):
        async with http.stream(
            method, url, timeout=httpx.Timeout(seconds, connect=min(seconds, 5.0)), **kwargs
        ) as response:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise ResponseTooLarge(f"{url}: answer of {declared} bytes refused")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise ResponseTooLarge(f"{url}: answer over {max_bytes} bytes refused")
            return response.status_code, bytes(body)
