"""The Pinduoduo 多多进宝 API over the `gw-api` router, one reused httpx.AsyncClient.

Every call is a POST form: `type` (the API name), `client_id`, `timestamp` (Unix seconds),
`data_type=JSON`, the flat business parameters (lists as JSON strings, empty ones left out) and `sign`.
The answer is `{"<something>_response": {...}}` or `{"error_response": {...}}`; `call` returns the inner
object of the first. Transient faults (timeouts, 5xx, malformed JSON, rate limits, "系统繁忙") are
retried with backoff and jitter; the rest become domain errors (`errors.py`). Prices and coupons are
already fen on this league; the commission rate is per mille.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx

from bot.leagues.form_gateway import FormGatewayClient, Transient
from bot.leagues.pdd import errors
from bot.leagues.pdd.signing import encode, sign

Json = dict[str, Any]

ORDER_WINDOW = timedelta(hours=24)
"""`order.list.increment.get` refuses a window longer than 24 hours."""
REGISTER_CHANNEL = 10
"""`rp.prom.url.generate` channel_type 10: the link that binds (备案) a PID to the member."""


class PddClient(FormGatewayClient):
    league = "pdd"

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        access_token: str = "",
        timeout: float = 8.0,
        max_retries: int = 3,
        backoff: float = 0.3,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            base_url,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
            clock=clock,
            transport=transport,
        )
        self.client_id = client_id
        self._secret = client_secret
        self.access_token = access_token

    def __repr__(self) -> str:  # never the secret
        return f"PddClient({self.url!r}, client_id={self.client_id!r})"

    def exhausted(self, message: str) -> Exception:
        return errors.PddRetriesExhausted(f"拼多多 {message}")

    def signed_params(self, api: str, params: Mapping[str, Any]) -> dict[str, str]:
        wire = encode(
            {
                **params,
                "type": api,
                "client_id": self.client_id,
                "timestamp": str(int(self.clock())),
                "data_type": "JSON",
                "access_token": self.access_token,
            }
        )
        wire["sign"] = sign(wire, self._secret)
        return wire

    async def call(self, api: str, params: Mapping[str, Any]) -> Json:
        """One API call; the inner object of its `…_response`, or the mapped error."""

        def inner(data: Json) -> Json:
            failure = data.get("error_response")
            if isinstance(failure, dict):
                code = _int(failure.get("error_code"))
                message = str(failure.get("error_msg") or "")
                sub_code = str(failure.get("sub_code") or "")
                sub_msg = str(failure.get("sub_msg") or "")
                text = f"{message} {sub_msg}"
                if (errors.is_throttled(code, text) or errors.is_busy(code, text)) and "备案" not in text:
                    raise Transient(f"error_code {code}")
                pid = str(params.get("p_id") or params.get("pid") or "")
                if not pid and isinstance(params.get("p_id_list"), list | tuple):
                    pid = ",".join(map(str, params["p_id_list"]))
                raise errors.classify(api, code, message, sub_code, sub_msg, pid)
            for key, value in data.items():
                if key.endswith("_response") and isinstance(value, dict):
                    return value
            raise errors.PddApiError(api, -1, "no …_response in the answer")

        return await self.post(api, lambda: self.signed_params(api, params), inner)

    # -- goods -------------------------------------------------------------------------------------

    async def goods_search(
        self,
        *,
        keyword: str = "",
        page: int = 1,
        page_size: int = 20,
        pid: str = "",
        custom_parameters: str = "",
        list_id: str = "",
        with_coupon: bool | None = None,
        sort_type: int | None = None,
        goods_sign_list: Sequence[str] = (),
        opt_id: int | None = None,
    ) -> Json:
        """`pdd.ddk.goods.search`: `goods_list`, `total_count`, and the `list_id` to echo on later pages."""
        return await self.call(
            "pdd.ddk.goods.search",
            {
                "keyword": keyword,
                "page": page,
                "page_size": page_size,
                "pid": pid,
                "custom_parameters": custom_parameters,
                "list_id": list_id,
                "with_coupon": with_coupon,
                "sort_type": sort_type,
                "goods_sign_list": list(goods_sign_list),
                "opt_id": opt_id,
            },
        )

    async def goods_detail(
        self, goods_sign: str, *, pid: str = "", custom_parameters: str = "", search_id: str = ""
    ) -> Json:
        """`pdd.ddk.goods.detail`: `goods_details[]` (empty when the goods is not on 多多进宝)."""
        return await self.call(
            "pdd.ddk.goods.detail",
            {
                "goods_sign": goods_sign,
                "pid": pid,
                "custom_parameters": custom_parameters,
                "search_id": search_id,
            },
        )

    # -- links -------------------------------------------------------------------------------------

    async def promotion_url(
        self,
        pid: str,
        goods_sign: str,
        *,
        custom_parameters: str = "",
        search_id: str = "",
        we_app: bool = True,
    ) -> Json:
        """`pdd.ddk.goods.promotion.url.generate` for one goods: its first `goods_promotion_url_list` entry."""
        data = await self.call(
            "pdd.ddk.goods.promotion.url.generate",
            {
                "p_id": pid,
                "goods_sign_list": [goods_sign],
                "custom_parameters": custom_parameters,
                "search_id": search_id,
                "generate_short_url": True,
                "generate_we_app": we_app,
            },
        )
        urls = data.get("goods_promotion_url_list") or []
        if not urls:
            raise errors.PddGoodsGone(f"pdd.ddk.goods.promotion.url.generate: no link for {goods_sign}")
        return dict(urls[0])

    async def convert_url(self, source_url: str, pid: str, *, custom_parameters: str = "") -> Json:
        """`pdd.ddk.goods.zs.unit.url.gen`: anyone's PDD goods link or 进宝 link → ours."""
        return await self.call(
            "pdd.ddk.goods.zs.unit.url.gen",
            {"source_url": source_url, "pid": pid, "custom_parameters": custom_parameters},
        )

    # -- promotion positions and 备案 --------------------------------------------------------------

    async def generate_pids(self, names: Sequence[str]) -> list[Json]:
        """`pdd.ddk.goods.pid.generate`: one new PID per name (`p_id`, `pid_name`)."""
        data = await self.call(
            "pdd.ddk.goods.pid.generate", {"number": len(names), "p_id_name_list": list(names)}
        )
        return list(data.get("p_id_list") or [])

    async def registration_link(self, pid: str, *, custom_parameters: str = "") -> Json:
        """`pdd.ddk.rp.prom.url.generate` channel_type 10: the link that binds (备案) `pid`."""
        data = await self.call(
            "pdd.ddk.rp.prom.url.generate",
            {
                "channel_type": REGISTER_CHANNEL,
                "p_id_list": [pid],
                "custom_parameters": custom_parameters,
                "generate_short_url": True,
            },
        )
        urls = data.get("url_list") or []
        if not urls:
            raise errors.PddApiError("pdd.ddk.rp.prom.url.generate", -1, "no registration link")
        return dict(urls[0])

    async def is_registered(self, pid: str, *, custom_parameters: str = "") -> bool:
        """`pdd.ddk.member.authority.query`: has `pid` been bound (备案)?"""
        data = await self.call(
            "pdd.ddk.member.authority.query", {"pid": pid, "custom_parameters": custom_parameters}
        )
        return _int(data.get("bind")) == 1

    # -- orders ------------------------------------------------------------------------------------

    async def order_page(
        self, start: datetime, end: datetime, *, page: int = 1, page_size: int = 50, return_count: bool = True
    ) -> Json:
        """`pdd.ddk.order.list.increment.get`: orders updated in [start, end] (at most 24 h), one page."""
        return await self.call(
            "pdd.ddk.order.list.increment.get",
            {
                "start_update_time": int(start.timestamp()),
                "end_update_time": int(end.timestamp()),
                "page": page,
                "page_size": page_size,
                "return_count": return_count,
            },
        )

    async def orders(self, start: datetime, end: datetime, *, page_size: int = 50) -> AsyncIterator[Json]:
        """Every order updated from `start` to `end`: 24-hour windows, each read from its last page back
        to the first (PDD's advice: orders updated while paging move to the end, not past us)."""
        window_start = start
        while window_start < end:
            window_end = min(window_start + ORDER_WINDOW, end)
            first = await self.order_page(window_start, window_end, page=1, page_size=page_size)
            total = _int(first.get("total_count"))
            pages = max(1, -(-total // page_size))
            seen: set[str] = set()
            for page in range(pages, 0, -1):
                data = (
                    first
                    if page == 1
                    else await self.order_page(window_start, window_end, page=page, page_size=page_size)
                )
                for order in data.get("order_list") or []:
                    key = str(order.get("order_sn") or order.get("order_id"))
                    if key not in seen:
                        seen.add(key)
                        yield order
            window_start = window_end


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
