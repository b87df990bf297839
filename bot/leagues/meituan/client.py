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
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.leagues.base import LeagueConfigError, LeagueError, LeagueUnavailable, QuotaExhausted
from bot.leagues.form_gateway import FormGatewayClient, Transient
from bot.leagues.meituan.signing import signed_headers
from bot.leagues.takeout import SidRejected

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


class MeituanClient(FormGatewayClient):
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
        super().__init__(
            base_url.rstrip("/"),
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            clock=clock,
            sleep=sleep,
            transport=transport,
        )
        self.base_url = self.url
        self.base_path = urlsplit(self.base_url).path.rstrip("/")
        self.app_key = app_key
        self._secret = app_secret

    def __repr__(self) -> str:  # never the secret
        return f"MeituanClient({self.base_url!r}, app_key={self.app_key!r})"

    def exhausted(self, message: str) -> Exception:
        return MeituanUnavailable(message)

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

        def read(answer: Json) -> Any:
            code = _code(answer.get("code"))
            if code in RETRIED:
                raise Transient(f"code {code} {answer.get('message', '')}")
            if code != 0:
                raise refusal(method, code, str(answer.get("message") or answer.get("msg") or ""))
            return answer.get("data")

        return await self.post(
            method,
            dict,
            read,
            headers=lambda: self.headers(method, body),
            body=body,
            url=f"{self.base_url}/{method}",
        )

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
