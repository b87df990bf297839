"""A signed form-POST gateway client with budgeted retries: what the JD, PDD and TOP clients share.

Each of those leagues answers one URL: a POST form, signed afresh for every try, and a JSON object back.
This class holds the HTTP pool, the in-flight gate and the retry loop — each try inside the caller's
budget (`bot.leagues.budget`), a capped answer (`bot.leagues.http.capped_request`), 5xx / malformed
JSON / transport faults / whatever the league's `read` calls `Transient` retried with backoff and
jitter. A subclass keeps its own signing, error mapping and exception types: it says how to give up
(`exhausted`, `gave_up`) and how to read a decoded answer (the `read` passed to `post`).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

import httpx

from bot.leagues.http import IN_FLIGHT, capped_request, league_http, time_to_retry, try_seconds
from bot.leagues.metering import call_failed, call_succeeded, count_call
from bot.leagues.wire import loads
from bot.reasons import reason

Json = dict[str, Any]
T = TypeVar("T")


class Transient(Exception):
    """A fault worth another try: a 5xx, malformed JSON, a rate limit, a busy server."""


class FormGatewayClient:
    league: ClassVar[str]
    """The league's name in the call meter (`bot.leagues.metering`) and in log lines."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        max_retries: int,
        backoff: float,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self.timeout = timeout
        """The longest one try may take, whole (see `bot.leagues.http.capped_request`)."""
        self.http = league_http(
            url,
            timeout=timeout,
            transport=transport,
        )
        self.gate = asyncio.Semaphore(IN_FLIGHT)
        self.max_retries = max_retries
        self.backoff = backoff
        self.clock = clock
        self.sleep = sleep
        self.requests = 0
        self._log = logging.getLogger(type(self).__module__)

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- what a league says --------------------------------------------------------------------------

    def exhausted(self, message: str) -> Exception:
        """The league's own error for a call that ran out of tries or time."""
        raise NotImplementedError

    def gave_up(self, name: str, tries: int, fault: Exception) -> Exception:
        """The error once `tries` tries all failed, the last with `fault`."""
        return self.exhausted(f"{name}: gave up after {tries} tries: {reason(fault)}")

    def decode(self, content: bytes) -> Any:
        """The answer's JSON, read by `bot.leagues.wire.loads` (its text cleaned of what no database
        stores); a league that reads money as `Decimal` says `exact`."""
        return loads(content)

    # -- the exchange --------------------------------------------------------------------------------

    def retry_delay(self, attempt: int) -> float:
        """The pause before try `attempt + 2`: exponential backoff with jitter."""
        delay: float = self.backoff * (2**attempt) * (0.5 + random.random())
        return delay

    async def post(
        self,
        name: str,
        form: Callable[[], dict[str, str]],
        read: Callable[[Json], T],
        *,
        headers: dict[str, str] | Callable[[], dict[str, str]] | None = None,
        body: bytes | None = None,
        url: str | None = None,
    ) -> T:
        """POST `form()` (signed anew each try) until `read` accepts the decoded object or the tries
        or the budget run out; `read` raises `Transient` for what deserves another try.

        With `body`, that is the request's body (JSON, say, with its Content-Type in `headers`) and `form()`
        goes in the query string instead (the vop gateway's shape). `headers` given as a function are
        made anew each try (a signature over a timestamp, as Meituan's); `url` is this call's own
        endpoint, for a gateway with one path per method."""
        attempt = 0
        while True:
            seconds = try_seconds(self.timeout)
            if seconds is None:
                raise self.exhausted(f"{name}: no time left in the budget")
            try:
                self.requests += 1
                count_call(self.league)
                status, content = await capped_request(
                    self.http,
                    "POST",
                    url or self.url,
                    seconds=seconds,
                    gate=self.gate,
                    **({"data": form()} if body is None else {"params": form(), "content": body}),
                    headers=headers() if callable(headers) else headers,
                )
                if status >= 500:
                    raise Transient(f"HTTP {status}")
                try:
                    data = self.decode(content)
                except ValueError:
                    raise Transient("malformed JSON") from None
                if not isinstance(data, dict):
                    raise Transient("JSON is not an object")
                answer = read(data)
                call_succeeded(self.league)
                return answer
            except (Transient, TimeoutError, httpx.TimeoutException, httpx.TransportError) as exc:
                call_failed(self.league, exc)
                if attempt >= self.max_retries:
                    raise self.gave_up(name, attempt + 1, exc) from None
                delay = self.retry_delay(attempt)
                if not time_to_retry(delay):  # the caller's budget (a member's deadline) ends first
                    raise self.exhausted(
                        f"{name}: no time left to retry after {attempt + 1} tries: {reason(exc)}"
                    ) from None
                self._log.info(
                    "%s %s failed (%s), retry %d in %.2fs", self.league, name, reason(exc), attempt + 1, delay
                )
                attempt += 1
                await self.sleep(delay)
            except Exception as exc:  # the league refused (its error mapping raised): a failed call too
                call_failed(self.league, exc)
                raise
