"""The WeChat Channels 推客 / head-supplier API over one reused httpx.AsyncClient.

Every business call carries `?access_token=` and a JSON body (POST). Transient faults (timeouts,
5xx, malformed JSON, -1, 45011) are retried with exponential backoff and jitter, inside the caller's
time budget (`bot.leagues.budget`); answers are size-capped; a stale token
(40001/42001) is refreshed once and the call retried once; 45009 raises `QuotaExhausted` and the
league switches to serving from its caches. Methods return the decoded JSON (wire field names),
which `ChannelsLeague` maps to domain types.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator
from typing import Any, Literal

import httpx
from sqlalchemy import Engine

from bot.leagues.http import (
    IN_FLIGHT,
    MAX_RESPONSE_BYTES,
    capped_request,
    league_http,
    time_to_retry,
    try_seconds,
)
from bot.leagues.metering import call_failed, call_succeeded, count_call
from bot.leagues.wechat.errors import QUOTA, RETRYABLE, TOKEN_STALE, RetriesExhausted, classify
from bot.leagues.wechat.tokens import TokenManager
from bot.leagues.wire import loads
from bot.reasons import reason

log = logging.getLogger(__name__)

PROMOTER = "/channels/ec/promoter/"
HEADSUPPLIER = "/channels/ec/league/headsupplier/"
UNAUTHORISED = frozenset({48001})
"""api unauthorized: an organisation without the funds permission gets it on every funds call."""
Json = dict[str, Any]


class _Transient(Exception):
    pass


def errcode_of(data: Json) -> int:
    """The errcode as an int; the docs show "0" as a string, real responses a number."""
    value = data.get("errcode", 0)
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return -1


class WechatApi:
    """Transport shared by the WeChat leagues: one pooled client, retries, the token refreshed once.

    `league` names the config section: it keys the stored token and goes into operator messages.
    """

    league = "channels"

    def __init__(
        self,
        base_url: str,
        appid: str,
        secret: str,
        *,
        token_mode: Literal["stable", "classic"] = "stable",
        engine: Engine | None = None,
        timeout: float = 8.0,
        max_retries: int = 3,
        backoff: float = 0.3,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.timeout = timeout
        """The longest one try may take, whole (connect, send, every byte of the answer)."""
        self.max_response_bytes = max_response_bytes
        self.http = league_http(
            base_url,
            timeout=timeout,
            transport=transport,
        )
        self.gate = asyncio.Semaphore(IN_FLIGHT)
        self.tokens = TokenManager(
            self._raw, appid, secret, mode=token_mode, engine=engine, league=self.league
        )
        self.max_retries = max_retries
        self.backoff = backoff
        self.requests = 0

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- transport ---------------------------------------------------------------------------------

    async def _raw(
        self,
        method: str,
        path: str,
        body: Json | None,
        query: dict[str, str] | None,
        quiet: frozenset[int] = frozenset(),
    ) -> Json:
        """One HTTP exchange with retries for transport trouble; returns the decoded JSON object.

        Every try and every pause between tries stays inside the caller's budget (`bot.leagues.budget`):
        a try's timeout is the whole exchange (a server trickling one byte a second is cut off, not
        waited on per read), and a pause that would end past the deadline is not taken."""
        attempt = 0
        while True:
            seconds = try_seconds(self.timeout)
            if seconds is None:
                raise RetriesExhausted(f"{path}: no time left in the budget after {attempt} tries")
            try:
                self.requests += 1
                count_call(self.league)
                status, raw = await capped_request(
                    self.http,
                    method,
                    path,
                    seconds=seconds,
                    gate=self.gate,
                    max_bytes=self.max_response_bytes,
                    params=query,
                    content=json.dumps(body, ensure_ascii=False).encode() if body is not None else None,
                    headers={"Content-Type": "application/json"} if body is not None else None,
                )
                if status >= 500:
                    raise _Transient(f"HTTP {status}")
                try:
                    data = loads(raw)  # cleaned of lone surrogates and NUL: bot.leagues.wire
                except ValueError:
                    raise _Transient("malformed JSON") from None
                if not isinstance(data, dict):
                    raise _Transient("JSON is not an object")
                code = errcode_of(data)
                if code in RETRYABLE:
                    raise _Transient(f"errcode {code}")
                if code and code not in TOKEN_STALE and code not in quiet:  # what `call` will raise
                    call_failed(self.league, classify(path, code, str(data.get("errmsg", "")), self.league))
                else:
                    call_succeeded(self.league)
                return data
            except (_Transient, TimeoutError, httpx.TimeoutException, httpx.TransportError) as exc:
                call_failed(self.league, exc)
                if attempt >= self.max_retries:
                    raise RetriesExhausted(
                        f"{path}: gave up after {attempt + 1} tries: {reason(exc)}"
                    ) from None
                delay = self.backoff * (2**attempt) * (0.5 + random.random())
                if not time_to_retry(delay):
                    raise RetriesExhausted(
                        f"{path}: gave up after {attempt + 1} tries, no time left to retry: {reason(exc)}"
                    ) from None
                log.info("%s failed (%s), retry %d in %.2fs", path, reason(exc), attempt + 1, delay)
                attempt += 1
                await asyncio.sleep(delay)

    async def call(
        self,
        path: str,
        body: Json | None = None,
        *,
        method: str = "POST",
        query: dict[str, str] | None = None,
        quiet: frozenset[int] = frozenset(),
    ) -> Json:
        """A business call with the access token; a stale token is refreshed once and retried once.

        `query` carries the parameters of GET calls (the union's list endpoints take all of theirs there).
        `quiet`: errcodes that are an answer here, not the league failing (48001 on the funds calls of
        an organisation without that permission): still raised, but not counted against its health.
        """
        token = await self.tokens.token()
        for attempt in (0, 1):
            params = {**(query or {}), "access_token": token}
            data = await self._raw(method, path, body if method == "POST" else None, params, quiet)
            code = errcode_of(data)
            if code == 0:
                return data
            if code in TOKEN_STALE and attempt == 0:
                log.info("%s: token refused (%d), refreshing once", path, code)
                token = await self.tokens.refresh(stale=token)
                continue
            if code == QUOTA:
                log.warning("%s: daily quota used up (45009)", path)
            raise classify(path, code, str(data.get("errmsg", "")), self.league, self.tokens.appid)
        raise AssertionError("unreachable")


class ChannelsClient(WechatApi):
    """The Channels 推客 / head-supplier endpoints (POST, snake_case, cursor pages)."""

    league = "channels"

    async def pages(self, path: str, body: Json, list_key: str, page_size: int) -> AsyncIterator[Json]:
        """Every item across cursor pages (`next_key`), stopping on an empty key, has_more=false or an empty page."""
        next_key = ""
        while True:
            data = await self.call(path, {**body, "next_key": next_key, "page_size": page_size})
            items = data.get(list_key) or []
            for item in items:
                yield item
            next_key = str(data.get("next_key") or "")
            if not items or not next_key or data.get("has_more") is False:
                return

    # -- products ----------------------------------------------------------------------------------

    async def product_list(
        self,
        *,
        plan_type: int = 2,
        keyword: str = "",
        category_id: str = "",
        price_range: tuple[int | None, int | None] | None = None,
        commission_range: tuple[int | None, int | None] | None = None,
        next_key: str = "",
        page_size: int = 20,
    ) -> Json:
        body: Json = {"plan_type": plan_type, "next_key": next_key, "page_size": min(page_size, 20)}
        if keyword:
            body["keyword"] = keyword
        if category_id:
            body["category"] = {"category_id": category_id}
        condition: Json = {}
        for name, rng in (("selling_price_range", price_range), ("commission_rate_range", commission_range)):
            if rng:
                condition[name] = {
                    k: str(v) for k, v in zip(("min", "max"), rng, strict=True) if v is not None
                }
        if condition:
            body["spu_item_condition"] = condition
        return await self.call(PROMOTER + "get_promote_product_list", body)

    async def product_detail(
        self, shop_appid: str, product_id: int | str, *, plan_type: int = 2, coupons: bool = True
    ) -> Json:
        body = {
            "shop_appid": shop_appid,
            "product_id": int(product_id),
            "plan_type": plan_type,
            "get_available_coupon": coupons,
        }
        return await self.call(PROMOTER + "get_promote_product_detail", body)

    def _link_body(
        self, shop_appid: str, product_id: int | str | None, sharer_appid: str, short_link: str
    ) -> Json:
        body: Json = {"sharer_appid": sharer_appid} if sharer_appid else {}
        if short_link:
            body["product_short_link"] = short_link
        else:
            body.update(shop_appid=shop_appid, product_id=int(product_id or 0))
        return body

    async def promotion_link(
        self, shop_appid: str, product_id: int | str | None, sharer_appid: str = "", short_link: str = ""
    ) -> Json:
        return await self.call(
            PROMOTER + "get_product_promotion_link_info",
            self._link_body(shop_appid, product_id, sharer_appid, short_link),
        )

    async def promotion_qrcode(
        self, shop_appid: str, product_id: int | str | None, sharer_appid: str = "", short_link: str = ""
    ) -> Json:
        return await self.call(
            PROMOTER + "get_product_promotion_qrcode_info",
            self._link_body(shop_appid, product_id, sharer_appid, short_link),
        )

    async def single_product_info(
        self, shop_appid: str, product_id: int | str | None, sharer_appid: str = ""
    ) -> Json:
        return await self.call(
            PROMOTER + "get_promoter_single_product_promotion_info",
            self._link_body(shop_appid, product_id, sharer_appid, ""),
        )

    # -- coupons -----------------------------------------------------------------------------------

    def coupons(
        self, *, cooperative: bool = True, shop_appid: str = "", page_size: int = 200
    ) -> AsyncIterator[Json]:
        path = PROMOTER + ("get_cooperative_coupon_list" if cooperative else "get_public_coupon_list")
        body: Json = {"shop_appid": shop_appid} if shop_appid else {}
        return self.pages(path, body, "coupons", min(page_size, 200))

    async def coupon_detail(self, coupon_id: str) -> Json:
        return await self.call(PROMOTER + "get_coupon_detail", {"coupon_id": coupon_id})

    async def coupon_short_link(self, coupon_id: str, sharer_appid: str = "") -> Json:
        body: Json = {"coupon_id": coupon_id}
        if sharer_appid:
            body["sharer_appid"] = sharer_appid
        return await self.call(PROMOTER + "get_coupon_short_link", body)

    # -- lives -------------------------------------------------------------------------------------

    async def live_records(self, talent_appid: str, mini_program_appid: str, sharer_appid: str = "") -> Json:
        body: Json = {"talent_appid": talent_appid, "mini_program_appid": mini_program_appid}
        if sharer_appid:
            body["sharer_appid"] = sharer_appid
        return await self.call(PROMOTER + "get_live_record_list", body)

    async def live_notices(
        self, talent_appid: str, mini_program_appid: str = "", sharer_appid: str = ""
    ) -> Json:
        body: Json = {"talent_appid": talent_appid}
        if mini_program_appid:
            body["mini_program_appid"] = mini_program_appid
        if sharer_appid:
            body["sharer_appid"] = sharer_appid
        return await self.call(PROMOTER + "get_live_notice_record_list", body)

    async def live_notice_qrcode(self, talent_appid: str, notice_id: str, sharer_appid: str = "") -> Json:
        body: Json = {"talent_appid": talent_appid, "notice_id": notice_id}
        if sharer_appid:
            body["sharer_appid"] = sharer_appid
        return await self.call(PROMOTER + "get_live_notice_record_qr_code", body)

    # -- sharers -----------------------------------------------------------------------------------

    def sharers(self, page_size: int = 20) -> AsyncIterator[Json]:
        return self.pages(PROMOTER + "get_bind_sharer_list", {}, "sharer_info_list", min(page_size, 20))

    async def register_and_bind_status(self, sharer_appid: str, simple: bool = True) -> Json:
        body = {"sharer_appid": sharer_appid, "is_simple_register": simple}
        return await self.call(PROMOTER + "get_promoter_register_and_bind_status", body)

    async def bound_sharer(self, sharer_appid: str) -> Json | None:
        """One bound sharer's entry of `get_bind_sharer_list` (nickname, bind_time), None when unlisted."""
        body = {"sharer_appid": sharer_appid, "next_key": "", "page_size": 1}
        data = await self.call(PROMOTER + "get_bind_sharer_list", body)
        for item in data.get("sharer_info_list") or []:
            if str(item.get("sharer_appid", "")) == sharer_appid:
                return dict(item)
        return None

    async def set_sharer_commission(
        self, sharer_appid: str, commission_type: int, commission_ratio_ppm: int
    ) -> Json:
        body = {
            "sharer_appid": sharer_appid,
            "commission_type": commission_type,
            "commission_ratio": commission_ratio_ppm,
        }
        return await self.call(PROMOTER + "set_sharer_commission_info", body)

    # -- feeds, live previews, articles (§1.12) ------------------------------------------------------

    def feeds(self, talent_appid: str, page_size: int = 10) -> AsyncIterator[Json]:
        """The talent's promotable feeds (视频号 videos carrying a product), cursor pages of at most 10."""
        body: Json = {"talent_appid": talent_appid}
        return self.pages(PROMOTER + "get_feed_list", body, "feed_list", min(page_size, 10))

    async def feed_promotion(
        self, talent_appid: str, mini_program_appid: str, export_ids: list[str], sharer_appid: str = ""
    ) -> Json:
        """`feed_token` and `promoter_share_link` per feed, made for `sharer_appid` when given."""
        body: Json = {
            "talent_appid": talent_appid,
            "mini_program_appid": mini_program_appid,
            "feed_list": [{"export_id": export_id} for export_id in export_ids],
        }
        if sharer_appid:
            body["sharer_appid"] = sharer_appid
        return await self.call(PROMOTER + "get_feed_promotion_info", body)

    async def live_notice_share_link(
        self, talent_appid: str, mini_program_appid: str, notice_id: str, sharer_appid: str
    ) -> Json:
        """A live preview's `promoter_share_link` for `wx.reserveChannelsLive` (all four fields required)."""
        body: Json = {
            "talent_appid": talent_appid,
            "mini_program_appid": mini_program_appid,
            "notice_id": notice_id,
            "sharer_appid": sharer_appid,
        }
        return await self.call(PROMOTER + "get_live_notice_promoter_share_link", body)

    # -- funds (机构资金, §1.12) ------------------------------------------------------------------------

    async def funds_balance(self) -> Json:
        """`available_amount` and `pending_amount` (fen). The body is an empty JSON object, not none."""
        return await self.call(HEADSUPPLIER + "funds/balance/get", {}, quiet=UNAUTHORISED)

    async def funds_flow_ids(
        self,
        *,
        start: int | None = None,
        end: int | None = None,
        funds_type: int | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[str]:
        """Every flow id booked in [start, end] (Unix seconds), over numbered pages (1, 2, 3 …) with
        the same page size, each page passing on the last `next_key` (needed past 5,000 rows)."""
        page, next_key = 1, ""
        while True:
            body: Json = {"page": page, "page_size": page_size}
            if start is not None:
                body["start_time"] = start
            if end is not None:
                body["end_time"] = end
            if funds_type is not None:
                body["funds_type"] = funds_type
            if next_key:
                body["next_key"] = next_key
            data = await self.call(HEADSUPPLIER + "funds/flowlist/get", body, quiet=UNAUTHORISED)
            ids = data.get("flow_ids") or data.get("funds_flow_ids") or []
            for flow_id in ids:
                yield str(flow_id)
            next_key = str(data.get("next_key") or "")
            if not ids or not data.get("has_more"):
                return
            page += 1

    async def funds_flow_detail(self, flow_id: str) -> Json:
        return await self.call(
            HEADSUPPLIER + "funds/flowdetail/get", {"flow_id": flow_id}, quiet=UNAUTHORISED
        )

    # -- windows (达人橱窗, §1.12) ----------------------------------------------------------------------

    async def window_products(self, openfinderid: str, page_size: int = 100) -> AsyncIterator[Json]:
        """Every product in a talent's window: offset pages (`next_offset`, `have_more` — sic)."""
        offset = 0
        while True:
            body: Json = {"openfinderid": openfinderid, "offset": offset, "page_size": min(page_size, 500)}
            data = await self.call(HEADSUPPLIER + "window/getall", body)
            items = data.get("list") or []
            for item in items:
                yield item
            more = data.get("have_more", data.get("has_more"))
            next_offset = int(data.get("next_offset") or 0)
            if not items or not more or next_offset <= offset:
                return
            offset = next_offset

    async def window_product(self, openfinderid: str, product_id: int | str) -> Json:
        body: Json = {"openfinderid": openfinderid, "product_id": int(product_id)}
        return await self.call(HEADSUPPLIER + "window/getdetail", body)

    # -- orders, clues, categories, quota ----------------------------------------------------------

    def orders(
        self, *, update_since: int | None = None, until: int | None = None, sharer_appid: str = ""
    ) -> AsyncIterator[Json]:
        body: Json = {}
        if update_since is not None:
            body["update_time_range"] = {"start_time": update_since, "end_time": until or 2**31 - 1}
        if sharer_appid:
            body["sharer_appid"] = sharer_appid
        return self.pages(HEADSUPPLIER + "order/list/get", body, "list", 30)

    async def order_detail(self, order_id: str, sku_id: str) -> Json:
        return await self.call(HEADSUPPLIER + "order/get", {"order_id": order_id, "sku_id": sku_id})

    def clues(self, *, since: int | None = None, until: int | None = None) -> AsyncIterator[Json]:
        body: Json = {}
        if since is not None:
            body["create_time_range"] = {"start_time": since, "end_time": until or 2**31 - 1}
        return self.pages(HEADSUPPLIER + "clue/list/get", body, "list", 30)

    async def clue_detail(self, order_id: str, sku_id: str) -> Json:
        return await self.call(HEADSUPPLIER + "clue/get", {"order_id": order_id, "sku_id": sku_id})

    async def category_tree(self) -> Json:
        return await self.call("/channels/ec/category/league/all", None, method="GET")

    async def quota(self, cgi_path: str) -> Json:
        return await self.call("/cgi-bin/openapi/quota/get", {"cgi_path": cgi_path})
