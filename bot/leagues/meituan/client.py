"""The Meituan CPS open API client: a JSON body POSTed to `{base}/<method>`, signed in S-Ca headers.

Each try serialises nothing anew: the body bytes are made once per call, hashed into `Content-MD5` and
sent as they are; the headers (timestamp in milliseconds, signature) are made afresh for every try, as
the gateway allows a timestamp two minutes. The answer envelope is `{code, message, data}`: 0 OK;
402 / 999 / -1 / a 5xx / malformed JSON are retried with backoff; 400 (鉴权不通过 — wrong key or secret,
or an account Meituan will not serve, which individual accounts often are) and 403 (quota) are the
operator's; 1 (参数错误) naming the sid is `SidRejected`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.leagues import wire
from bot.leagues.base import LeagueConfigError, LeagueError, LeagueUnavailable, QuotaExhausted
from bot.leagues.http import IN_FLIGHT, capped_request, league_http, time_to_retry, try_seconds
from bot.leagues.meituan.signing import signed_headers
from bot.leagues.metering import call_failed, call_succeeded, count_call
from bot.leagues.takeout import SidRejected
from bot.reasons import reason

log = logging.getLogger(__name__)

Json = dict[str, Any]

REFERRAL_LINK = "get_referral_link"
QUERY_COUPON = "query_coupon"
QUERY_ORDER = "query_order"
ORDER_PAGE = 100

AUTH_FAILED, BAD_PARAMETER, TOO_FREQUENT, OVER_QUOTA = 400, 1, 402, 403
RETRIED = frozenset({2, TOO_FREQUENT, 999, -1})


class MeituanError(LeagueError):
    """Meituan answered with a non-zero code the bot cannot fix by trying again."""

    def __init__(self, method: str, code: int, message: str) -> None:
        super().__init__(f"{method}: code {code} {message}")
        self.code = code


class ActivityEnded(MeituanError):
    """The activity is over or unknown: its link is left out."""


class MeituanUnavailable(LeagueUnavailable):
    """Timeouts, 5xx or busy answers outlasted the retries."""


class _Transient(Exception):
    pass


_ENDED_HINTS = ("下线", "结束", "过期", "不存在", "无效活动", "ended", "expired")


def refusal(method: str, code: int, message: str) -> LeagueError:
    """What a non-retried code means for the operator or the member."""
    if code == AUTH_FAILED:
        return LeagueConfigError(
            f"{method}: 美团联盟拒绝了这个账号 (code 400 鉴权不通过: {message}): check [leagues.meituan] "
            "app_key / app_secret (TUIKE_MEITUAN_APP_KEY / TUIKE_MEITUAN_APP_SECRET) and this server's clock; "
            "美团联盟常常不给个人账号开通 API — without one, set enabled = false"
        )
    if code == OVER_QUOTA:
        return QuotaExhausted(f"{method}: 请求次数超过授权额度 (code 403 {message})")
    if code == 401:
        return LeagueConfigError(f"{method}: 不允许的请求方式 (code 401 {message})")
    if code == BAD_PARAMETER and "sid" in message.lower():
        return SidRejected(f"{method}: code 1 {message}")
    if any(hint in message.lower() for hint in _ENDED_HINTS):
        return ActivityEnded(method, code, message)
    return MeituanError(method, code, message)


class MeituanClient:
    league = "meituan"

    def __init__(
        self,
        base_url: str,
        app_key: str,
        app_secret: str,
        *,
        timeout: float = 8.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.base_path = urlsplit(self.base_url).path.rstrip("/")
        self.app_key = app_key
        self._secret = app_secret
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.clock = clock
        self.sleep = sleep
        self.http = league_http(
            self.base_url,
            timeout=timeout,
            headers={"User-Agent": "tuike/0.1", "Accept-Encoding": "identity"},
            transport=transport,
        )
        self.gate = asyncio.Semaphore(IN_FLIGHT)
        self.requests = 0

    def __repr__(self) -> str:  # never the secret
        return f"MeituanClient({self.base_url!r}, app_key={self.app_key!r})"

    async def aclose(self) -> None:
        await self.http.aclose()

    def headers(self, method: str, body: bytes) -> dict[str, str]:
        """The signed headers of one try (the path signed is the URL's whole path)."""
        path = f"{self.base_path}/{method}"
        stamp = int(self.clock() * 1000)
        return {
            "Content-Type": "application/json;charset=utf-8",
            **signed_headers(self.app_key, self._secret, body, path, stamp),
        }

    async def call(self, method: str, payload: Json) -> Any:
        """One method; its `data`, or the mapped refusal after the retries."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        url = f"{self.base_url}/{method}"
        attempt = 0
        while True:
            seconds = try_seconds(self.timeout)
            if seconds is None:
                raise MeituanUnavailable(f"{method}: no time left in the budget")
            try:
                self.requests += 1
                count_call(self.league)
                status, content = await capped_request(
                    self.http,
                    "POST",
                    url,
                    seconds=seconds,
                    gate=self.gate,
                    content=body,
                    headers=self.headers(method, body),
                )
                if status >= 500:
                    raise _Transient(f"HTTP {status}")
                try:
                    answer = wire.loads(content)
                except ValueError:
                    raise _Transient("malformed JSON") from None
                if not isinstance(answer, dict):
                    raise _Transient("JSON is not an object")
                code = _code(answer.get("code"))
                if code in RETRIED:
                    raise _Transient(f"code {code} {answer.get('message', '')}")
                if code != 0:
                    raise refusal(method, code, str(answer.get("message") or answer.get("msg") or ""))
                call_succeeded(self.league)
                return answer.get("data")
            except (_Transient, TimeoutError, httpx.TimeoutException, httpx.TransportError) as exc:
                call_failed(self.league, exc)
                if attempt >= self.max_retries:
                    raise MeituanUnavailable(
                        f"{method}: gave up after {attempt + 1} tries: {reason(exc)}"
                    ) from None
                delay = self.backoff * (2**attempt) * (0.5 + random.random())
                if not time_to_retry(delay):
                    raise MeituanUnavailable(
                        f"{method}: no time left to retry after {attempt + 1} tries: {reason(exc)}"
                    ) from None
                log.info("meituan %s failed (%s), retry %d in %.2fs", method, reason(exc), attempt + 1, delay)
                attempt += 1
                await self.sleep(delay)
            except Exception as exc:
                call_failed(self.league, exc)
                raise

    # -- methods -----------------------------------------------------------------------------------

    async def referral_link(self, *, act_id: str, sid: str = "", link_types: tuple[int, ...] = (2, 4)) -> Any:
        """The activity's links for `sid`: with one link type the link itself, with several
        `{"referralLinkMap": {"2": …, "4": …}}`."""
        payload: Json = {"actId": int(act_id) if act_id.isdigit() else act_id}
        if len(link_types) == 1:
            payload["linkType"] = link_types[0]
        else:
            payload["linkTypeList"] = list(link_types)
        if sid:
            payload["sid"] = sid
        return await self.call(REFERRAL_LINK, payload)

    async def coupons(self, *, page: int = 1, size: int = 20, search_text: str = "") -> Any:
        payload: Json = {"pageNo": page, "pageSize": size, "platform": 1}
        if search_text:
            payload["searchText"] = search_text
        return await self.call(QUERY_COUPON, payload)

    async def orders(self, start: datetime, end: datetime, *, scroll_id: str = "", page: int = 1) -> Any:
        """One page of orders updated in [start, end] (epoch seconds; `scrollId` from the last page)."""
        payload: Json = {
            "queryTimeType": 2,
            "startTime": int(start.timestamp()),
            "endTime": int(end.timestamp()),
            "page": page,
            "limit": ORDER_PAGE,
            "searchType": 2,
        }
        if scroll_id:
            payload["scrollId"] = scroll_id
        return await self.call(QUERY_ORDER, payload)


def _code(value: object) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return -1
