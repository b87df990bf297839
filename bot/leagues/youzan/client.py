"""The Youzan open platform (有赞云) for one shop, over one reused httpx.AsyncClient.

A self-use app's token comes from `POST /auth/token` (JSON: `client_id`, `client_secret`,
`authorize_type: "silent"`, `grant_id` = the shop's `kdt_id`); it is kept until shortly before it
expires (`expires`, epoch milliseconds) and asked for again once when a call is refused for it (gateway
4001/4003) — a second refusal is the operator's to fix, and says how. Calls are
`POST /api/{name}/{version}?access_token=…` with the business parameters as a JSON body; the three
envelopes are read by `errors.py` and never turned into an empty answer.

Each try runs inside the caller's budget (`bot.leagues.budget`) with a capped answer
(`bot.leagues.http.capped_request`); 5xx, malformed JSON, transport faults, a busy or throttling
gateway are retried with backoff and jitter. The secret and the token never reach a log line, an
exception's text or `repr`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bot.leagues import wire
from bot.leagues.base import LeagueConfigError
from bot.leagues.http import IN_FLIGHT, capped_request, league_http, time_to_retry, try_seconds
from bot.leagues.metering import call_failed, call_succeeded, count_call
from bot.leagues.youzan import errors
from bot.reasons import reason

log = logging.getLogger(__name__)

Json = dict[str, Any]

SEARCH = ("youzan.item.common.search", "1.0.0")
ITEM = ("youzan.item.get", "3.0.0")
SALESMAN_ADD = ("youzan.salesman.account.add", "3.0.0")
PROMOTION = ("youzan.salesman.promotion.create", "3.0.0")
SHARE = ("youzan.salesman.item.share.get", "3.0.0")
TRADES = ("youzan.salesman.trades.get", "3.0.0")

TOKEN_MARGIN_S = 300.0
"""A token is asked for again this long before it expires (a call in flight must not carry a dead one)."""
PAGE = 100
"""`salesman.trades.get` page_size upper bound."""


class _Transient(Exception):
    """Worth another try: a 5xx, malformed JSON, a busy or throttling gateway."""


def loads(content: bytes) -> Any:
    """The answer, money as exact Decimals and every string clean (a lone surrogate or a NUL in a
    title never costs a member their answer: `bot.leagues.wire`)."""
    return wire.loads(content, exact=True)


def expiry(expires: Any, now: float) -> float:
    """When a token expires, in Unix seconds: `expires` is epoch milliseconds (clients do
    `new Date(expires)`); read leniently as epoch seconds, or as seconds from now when small."""
    try:
        value = float(expires)
    except (TypeError, ValueError):
        return now + 3600.0
    if value > 1e11:
        return value / 1000
    if value > 1e9:
        return value
    return now + value


class YouzanClient:
    league = "youzan"

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        kdt_id: str,
        *,
        timeout: float = 8.0,
        max_retries: int = 3,
        backoff: float = 0.3,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self._secret = client_secret
        self.kdt_id = kdt_id
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.clock = clock
        self.sleep = sleep
        self.http = league_http(
            self.base_url,
            timeout=timeout,
            transport=transport,
        )
        self.gate = asyncio.Semaphore(IN_FLIGHT)
        self._token = ""
        self._expires = 0.0
        self._token_lock = asyncio.Lock()
        self.tokens_fetched = 0

    def __repr__(self) -> str:  # never the secret nor the token
        return f"YouzanClient({self.base_url!r}, client_id={self.client_id!r}, kdt_id={self.kdt_id!r})"

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- the exchange --------------------------------------------------------------------------------

    async def _post(self, name: str, path: str, params: dict[str, str], body: Json) -> Json:
        """One JSON POST, retried while it fails in a way worth another try; the decoded object."""
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        attempt = 0
        while True:
            seconds = try_seconds(self.timeout)
            if seconds is None:
                raise errors.YouzanUnavailable(f"有赞云 {name}: 时间用完了 (no time left in the budget)")
            try:
                count_call(self.league)
                status, raw = await capped_request(
                    self.http,
                    "POST",
                    path,
                    seconds=seconds,
                    gate=self.gate,
                    params=params,
                    content=content,
                    headers={"Content-Type": "application/json;charset=UTF-8"},
                )
                if status >= 500 or status == 429:
                    raise _Transient(f"HTTP {status}")
                try:
                    data = loads(raw)
                except ValueError:
                    raise _Transient("malformed JSON") from None
                if not isinstance(data, dict):
                    raise _Transient("JSON is not an object")
                throttled = _throttled(data)
                if throttled:
                    raise _Transient(throttled)
                call_succeeded(self.league)
                return data
            except (_Transient, TimeoutError, httpx.TimeoutException, httpx.TransportError) as exc:
                call_failed(self.league, exc)
                if attempt >= self.max_retries:
                    raise errors.YouzanUnavailable(
                        f"有赞云 {name}: {attempt + 1} 次都失败 ({reason(exc)})"
                    ) from None
                delay = self.backoff * (2**attempt) * (0.5 + random.random())
                if not time_to_retry(delay):
                    raise errors.YouzanUnavailable(
                        f"有赞云 {name}: 来不及再试 ({attempt + 1} 次: {reason(exc)})"
                    ) from None
                log.info("youzan %s failed (%s), retry %d in %.2fs", name, reason(exc), attempt + 1, delay)
                attempt += 1
                await self.sleep(delay)

    # -- the token -----------------------------------------------------------------------------------

    async def token(self, *, refused: str = "") -> str:
        """The shop's access token: the kept one while it lasts; a new one when it is about to expire
        or when `refused` (the token a call was just refused for) is still the kept one."""
        async with self._token_lock:
            fresh = self._token and self.clock() < self._expires - TOKEN_MARGIN_S
            if fresh and self._token != refused:
                return self._token
            body: Json = {
                "client_id": self.client_id,
                "client_secret": self._secret,
                "authorize_type": "silent",
                "grant_id": self.kdt_id,
                "refresh": bool(refused),
            }
            data = await self._post("auth/token", "/auth/token", {}, body)
            self.tokens_fetched += 1
            answer = data.get("data")
            token = str(answer.get("access_token") or "") if isinstance(answer, dict) else ""
            if not data.get("success") or not token:
                code = data.get("code", "")
                message = str(data.get("message") or data.get("msg") or "")
                raise LeagueConfigError(
                    f"有赞云拿不到 access_token ({code}: {message})：检查 [shops.youzan] client_id / "
                    "client_secret（或 TUIKE_YOUZAN_CLIENT_ID / TUIKE_YOUZAN_CLIENT_SECRET）和 kdt_id，"
                    "并确认这个自用型应用已授权该店铺"
                )
            assert isinstance(answer, dict)
            self._token = token
            self._expires = expiry(answer.get("expires"), self.clock())
            return token

    def forget_token(self) -> None:
        """Drop the kept token (tests; an operator who rotated the secret)."""
        self._token, self._expires = "", 0.0

    # -- a call --------------------------------------------------------------------------------------

    async def call(self, api: tuple[str, str], params: Json) -> Any:
        """One API call; its `response` (3.x) or `data` (1.x, 4.x), or the mapped error."""
        name, version = api
        token = await self.token()
        for second in (False, True):
            data = await self._post(
                f"{name} {version}", f"/api/{name}/{version}", {"access_token": token}, params
            )
            try:
                return _read(name, data)
            except errors.TokenRefused as exc:
                if second:
                    raise LeagueConfigError(
                        f"有赞云 {name}: 换了新的 access_token 仍被拒 ({exc})：到有赞云控制台确认应用仍授权店铺 "
                        f"{self.kdt_id}、client_secret 没有重置；改好 [shops.youzan] 后重启"
                    ) from None
                log.info("youzan %s: token refused (%s); asking for a new one", name, exc)
                token = await self.token(refused=token)
        raise AssertionError("unreachable")

    # -- items -----------------------------------------------------------------------------------------

    async def search_items(
        self, keyword: str, *, page_no: int = 1, page_size: int = 20
    ) -> tuple[list[Json], int]:
        """`youzan.item.common.search`: the shop's items matching `keyword` (newest first when empty)
        and the total. The title-search field is `keyword` (the 3.0.0 APIs call it `q`: [U])."""
        params: Json = {"page_no": page_no, "page_size": min(page_size, 50)}
        if keyword:
            params["keyword"] = keyword
        data = await self.call(SEARCH, params)
        return _items(data), _int(data.get("total") or data.get("count")) if isinstance(data, dict) else 0

    async def item(self, *, item_id: str = "", alias: str = "") -> Json:
        """`youzan.item.get`: one item by id or by its link alias."""
        params: Json = {"item_id": int(item_id)} if item_id else {"alias": alias}
        data = await self.call(ITEM, params)
        item = data.get("item") if isinstance(data, dict) else None
        if not isinstance(item, dict):
            raise errors.YouzanGone(f"有赞店铺没有这个商品 ({item_id or alias})")
        return item

    # -- salesmen ------------------------------------------------------------------------------------

    async def add_salesman(self, fans_id: int) -> bool:
        """`youzan.salesman.account.add` for a 自有粉丝 id; False when it already was one (also fine)."""
        try:
            await self.call(SALESMAN_ADD, _identity(fans_id))
        except errors.SalesmanExists:
            return False
        return True

    async def promotion_link(self, fans_id: int, item_id: str, alias: str) -> str:
        """The salesman's binding link to an item: `youzan.salesman.promotion.create` ([U]: no public
        model; the answer's `url`/`link`/`short_url` is read), else the documented
        `youzan.salesman.item.share.get` (`link`) when the platform does not know the first."""
        params = {**_identity(fans_id), "item_id": int(item_id) if item_id.isdigit() else 0, "alias": alias}
        try:
            data = await self.call(PROMOTION, params)
        except (errors.YouzanApiError, LeagueConfigError) as exc:
            log.info("youzan promotion.create refused (%s); using item.share.get", exc)
            data = await self.call(
                SHARE, {**_identity(fans_id), "item_id": params["item_id"], "item_alias": alias}
            )
        return _link(data)

    # -- orders --------------------------------------------------------------------------------------

    async def salesman_trades(self, fans_id: int, start: int, end: int) -> list[Json]:
        """`youzan.salesman.trades.get`: the salesman's orders created in [start, end] (Unix seconds),
        every page."""
        out: list[Json] = []
        page = 1
        while True:
            params = {
                **_identity(fans_id),
                "start_time": start,
                "end_time": end,
                "page_no": page,
                "page_size": PAGE,
            }
            data = await self.call(TRADES, params)
            rows = [
                r for r in (data.get("list") or [] if isinstance(data, dict) else []) if isinstance(r, dict)
            ]
            out.extend(rows)
            total = _int(data.get("total")) if isinstance(data, dict) else 0
            if len(rows) < PAGE or page * PAGE >= total:
                return out
            page += 1


def _identity(fans_id: int) -> Json:
    """A salesman named by a 自有粉丝 id: `fans_type` 1, the mobile set to 0."""
    return {"fans_type": 1, "fans_id": fans_id, "mobile": "0"}


def _throttled(data: Json) -> str:
    """The gateway's call-rate refusal, to be retried ("" when it is none)."""
    gw = data.get("gw_err_resp")
    if isinstance(gw, dict):
        code, message = gw.get("err_code"), str(gw.get("err_msg") or "")
        if errors.is_throttled(code, message) or errors.is_busy(message):
            return f"{code}: {message}"
    return ""


def _read(api: str, data: Json) -> Any:
    gw = data.get("gw_err_resp")
    if isinstance(gw, dict):
        raise errors.gateway(api, gw.get("err_code"), str(gw.get("err_msg") or ""))
    err = data.get("error_response")
    if isinstance(err, dict):
        raise errors.classify(api, err.get("code"), str(err.get("msg") or err.get("message") or ""))
    if "response" in data:
        return data["response"]
    if data.get("success") is False or ("success" not in data and "data" not in data):
        raise errors.classify(api, data.get("code"), str(data.get("message") or data.get("msg") or ""))
    return data.get("data")


def _items(data: Any) -> list[Json]:
    """The item list of a search answer ([U] for its wrapper: `items`, `list`, `item_list` or the list)."""
    if isinstance(data, list):
        rows = data
    elif isinstance(data, dict):
        rows = data.get("items") or data.get("list") or data.get("item_list") or []
    else:
        rows = []
    return [r for r in rows if isinstance(r, dict)]


def _link(data: Any) -> str:
    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        for key in ("url", "short_url", "link", "promotion_url", "share_url"):
            if data.get(key):
                return str(data[key])
    return ""


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
