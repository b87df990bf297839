"""HTTP pieces every league client shares: one try inside the caller's budget, a capped answer.

A league server may hang, trickle an answer a byte at a time or send hundreds of megabytes. httpx's
timeouts are per read, so a trickle never trips them; `capped_request` bounds the whole exchange by a
wall-clock timeout and streams the body, refusing it past `max_bytes` instead of holding it.

The cap counts decoded bytes as they are inflated: httpx inflates each network chunk whole, so 64 KB
of gzip could become 64 MB before anything was counted (a 400 KB gzip bomb of zeros took one member's
answer to 232 MB). The clients ask for gzip or deflate only (`ACCEPT_ENCODING`), and an answer in any
other encoding is refused rather than decoded by a codec that is not counted.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import zlib
from typing import Any

import httpx

from bot.leagues import budget
from bot.leagues.base import LeagueUnavailable

MAX_RESPONSE_BYTES = 4 << 20
"""The largest answer read (the biggest real one, a 20-item product page with details, is ~200 KB)."""
ACCEPT_ENCODING = "gzip, deflate"
"""What a league client asks for: the encodings `_Inflater` decodes counting (httpx would add br and
zstd when their packages are installed, decoded uncounted)."""
USER_AGENT = "tuike/0.1"
MIN_TRY_SECONDS = 0.02
"""A try with less time than this left in the budget is not started: it could not finish."""


WHOLE_TRY_MARGIN = 0.1
"""Seconds the whole-exchange bound waits beyond the per-phase timeouts."""


IN_FLIGHT = 4
"""Requests one league client has on the wire at once; more callers wait their turn. A league's
answers take tens of milliseconds, so four keep up with a busy group chat, and the connection pool
stays small (with 32 idle connections, every request paid for scanning them)."""


def league_http(
    base_url: str,
    *,
    timeout: float,
    headers: dict[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """The HTTP client of a league: a pool of `IN_FLIGHT` connections, TLS checked against the
    system's CA bundle — loaded once per process, and not at all for a plain-HTTP base URL (the
    sandbox on 127.0.0.1), which saves ~150 ms of start-up per league."""
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        limits=httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT),
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING, **(headers or {})},
        transport=transport,
        verify=_verified() if not base_url.startswith("http://") else _no_ca(),
    )


@functools.cache
def _verified() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def _no_ca() -> ssl.SSLContext:
    """Certificates required and no CA trusted: an https URL on a plain-HTTP league's client fails
    closed instead of going out unchecked."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class ResponseTooLarge(LeagueUnavailable):
    """The server sent more than the client will hold; not retried (it would do it again)."""


class AnswerUnreadable(LeagueUnavailable):
    """The answer came in an encoding not asked for, or its compressed data is broken; not retried."""


class _Inflater:
    """Decodes a body as it arrives (gzip, deflate or none), never making more than `room` + 1 bytes
    of one chunk: one byte past the room is enough to know the answer is too large."""

    def __init__(self, encoding: str, url: str) -> None:
        self.url = url
        self.encoding = encoding.strip().lower()
        self._head = b""
        """deflate: the first bytes, held until they say zlib-wrapped or raw."""
        self._z: Any = None
        if self.encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.encoding not in ("", "identity", "deflate"):
            raise AnswerUnreadable(f"{url}: answer encoded {encoding[:40]!r}, which was not asked for")

    def feed(self, data: bytes, room: int) -> bytes:
        if self._z is None:
            if self.encoding != "deflate":
                return data
            self._head += data
            if len(self._head) < 2:
                return b""
            cmf, flg = self._head[0], self._head[1]
            wrapped = cmf & 0x0F == 8 and (cmf << 8 | flg) % 31 == 0  # RFC 1950's header
            # raw deflate without the zlib header, as some servers send it
            self._z = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
            data, self._head = self._head, b""
        try:
            out: bytes = self._z.decompress(data, max(room, 0) + 1)
        except zlib.error:
            raise AnswerUnreadable(f"{self.url}: {self.encoding} answer is corrupt") from None
        return out


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
    gate: asyncio.Semaphore | None = None,
    **kwargs: Any,
) -> tuple[int, bytes]:
    """(status, body) of one request that takes at most `seconds`, whole; raises TimeoutError past
    that and `ResponseTooLarge` past `max_bytes` (announced or counted).

    httpx's own timeouts (the same `seconds`, per phase) fire first when one phase is slow, naming it
    (`ReadTimeout`, `ConnectTimeout`); the overall bound, a little later, catches the trickle.
    With a `gate`, the request waits for a free place first (the wait counts against `seconds`)."""
    async with asyncio.timeout(seconds + WHOLE_TRY_MARGIN):
        if gate is None:
            return await _exchange(http, method, url, seconds, max_bytes, **kwargs)
        async with gate:
            return await _exchange(http, method, url, seconds, max_bytes, **kwargs)


async def _exchange(
    http: httpx.AsyncClient, method: str, url: str, seconds: float, max_bytes: int, **kwargs: Any
) -> tuple[int, bytes]:
    async with http.stream(
        method, url, timeout=httpx.Timeout(seconds, connect=min(seconds, 5.0)), **kwargs
    ) as response:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise ResponseTooLarge(f"{url}: answer of {declared} bytes refused")
        inflater = _Inflater(response.headers.get("content-encoding", ""), url)
        body = bytearray()
        received = 0
        async for chunk in response.aiter_raw():
            received += len(chunk)
            if received > max_bytes:
                raise ResponseTooLarge(f"{url}: answer over {max_bytes} bytes refused")
            body += inflater.feed(chunk, max_bytes - len(body))
            if len(body) > max_bytes:
                raise ResponseTooLarge(f"{url}: answer over {max_bytes} bytes refused once inflated")
        return response.status_code, bytes(body)
