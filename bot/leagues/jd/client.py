"""The JD union API over JOS `routerjson`, one reused httpx.AsyncClient.

Each call is a POST form of the system parameters plus `360buy_param_json` (the business object as one
compact JSON string, signed and sent byte for byte). The answer has two layers: the outer
`jd_union_open_<method tail>_responce` object (note the spelling; `_response` is accepted too) holds a
result that is a JSON *string* (sometimes already an object) with its own `code` (200 is success).

Transient faults (timeouts, 5xx, malformed JSON, call-rate limits, a busy inner code) are retried with
backoff and jitter; everything else becomes a domain error (`errors.py`). JSON is decoded with
`parse_float=Decimal`, so yuan amounts reach `money.yuan_to_fen` exactly as written. Methods return the
inner result (wire field names); `JdLeague` maps them to domain types.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx

from bot.leagues import wire
from bot.leagues.form_gateway import FormGatewayClient, Transient
from bot.leagues.http import time_to_retry
from bot.leagues.jd import errors
from bot.leagues.jd.signing import BEIJING, TIMESTAMP_FORMAT, param_json, sign, timestamp

Json = dict[str, Any]

ORDER_WINDOW = timedelta(hours=1)
"""`order.row.query` refuses a time window longer than one hour."""


def loads(text: str | bytes) -> Any:
    """JSON with every non-integer number as an exact Decimal (JD money is yuan with decimals)."""
    return wire.loads(text, exact=True)


def response_key(method: str) -> str:
    """`jd.union.open.goods.query` → `jd_union_open_goods_query_responce` (JOS spells it so)."""
    return method.replace(".", "_") + "_responce"


class JdClient(FormGatewayClient):
    league = "jd"

    def __init__(
        self,
        base_url: str,
        app_key: str,
        app_secret: str,
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
        self.app_key = app_key
        self._secret = app_secret
        self.access_token = access_token

    def __repr__(self) -> str:  # never the secret
        return f"JdClient({self.url!r}, app_key={self.app_key!r})"

    def exhausted(self, message: str) -> Exception:
        return errors.JdRetriesExhausted(f"京东联盟 {message}")

    def decode(self, content: bytes) -> Any:
        return loads(content)

    # -- transport ---------------------------------------------------------------------------------

    def signed_params(self, method: str, business: str) -> dict[str, str]:
        """The form to send: system parameters, the business JSON string, and their signature."""
        params = {
            "360buy_param_json": business,
            "app_key": self.app_key,
            "format": "json",
            "method": method,
            "sign_method": "md5",
            "timestamp": timestamp(self.clock()),
            "v": "1.0",
        }
        if self.access_token:
            params["access_token"] = self.access_token
        params["sign"] = sign(params, self._secret)
        return params

    async def _exchange(self, method: str, business: str) -> Json:
        """One signed POST with retries for transport trouble and rate limits; the decoded outer object.

        Every try and every pause stays inside the caller's budget (`bot.leagues.budget`), and an
        answer is read whole within one try's time and up to a size cap (`bot.leagues.http`)."""

        def outer(data: Json) -> Json:
            gateway = data.get("error_response")
            if isinstance(gateway, dict) and str(gateway.get("code", "")) in errors.GATEWAY_THROTTLED:
                raise Transient(f"rate limited (code {gateway.get('code')})")
            return data

        return await self.post(method, lambda: self.signed_params(method, business), outer)

    async def call(self, method: str, body: Json, result_key: str) -> Json:
        """A business call; returns the inner result (`code` 200) or raises the mapped error."""
        business = param_json(body)
        for attempt in range(self.max_retries + 1):
            data = await self._exchange(method, business)
            inner = self._inner(method, data, result_key)
            code = _int(inner.get("code"), -1)
            if code == errors.INNER_OK:
                return inner
            error = errors.classify_inner(method, code, str(inner.get("message", "")))
            delay = self.retry_delay(attempt)
            if (
                isinstance(error, errors.JdRetriesExhausted)
                and attempt < self.max_retries
                and time_to_retry(delay)
            ):
                await self.sleep(delay)
                continue
            raise error
        raise AssertionError("unreachable")

    @staticmethod
    def _inner(method: str, data: Json, result_key: str) -> Json:
        gateway = data.get("error_response")
        if isinstance(gateway, dict):
            code = str(gateway.get("code", ""))
            message = str(gateway.get("zh_desc") or gateway.get("en_desc") or gateway.get("msg") or "")
            raise errors.classify_gateway(method, code, message)
        outer = data.get(response_key(method)) or data.get(method.replace(".", "_") + "_response")
        if not isinstance(outer, dict):
            raise errors.JdApiError(method, "-", f"no {response_key(method)} in the answer")
        if str(outer.get("code", "0")) != "0":
            raise errors.classify_gateway(method, str(outer.get("code")), str(outer.get("zh_desc", "")))
        raw = outer.get(result_key)
        if isinstance(raw, str):
            try:
                raw = loads(raw)
            except ValueError:
                raise errors.JdApiError(method, "-", f"{result_key} is not JSON") from None
        if not isinstance(raw, dict):
            raise errors.JdApiError(method, "-", f"no {result_key} in the answer")
        return raw

    # -- goods -------------------------------------------------------------------------------------

    async def goods_query(
        self,
        *,
        keyword: str = "",
        sku_ids: Sequence[int | str] = (),
        cid1: int | None = None,
        page_index: int = 1,
        page_size: int = 20,
        is_coupon: bool = False,
        owner: str = "",
        sort_name: str = "",
        sort: str = "",
        pid: str = "",
    ) -> Json:
        """`jd.union.open.goods.query`: keyword (or union link) or skuIds; `data[]` and `totalCount`."""
        req: Json = {"pageIndex": page_index, "pageSize": min(page_size, 30)}
        if keyword:
            req["keyword"] = keyword
        if sku_ids:
            req["skuIds"] = [int(s) for s in sku_ids][:20]
        if cid1 is not None:
            req["cid1"] = cid1
        if is_coupon:
            req["isCoupon"] = 1
        if owner:
            req["owner"] = owner
        if sort_name:
            req["sortName"] = sort_name
            req["sort"] = sort or "desc"
        if pid:
            req["pid"] = pid
        return await self.call("jd.union.open.goods.query", {"goodsReqDTO": req}, "queryResult")

    async def jingfen_query(
        self, elite_id: int, *, page_index: int = 1, page_size: int = 20, sort_name: str = "", pid: str = ""
    ) -> Json:
        """`jd.union.open.goods.jingfen.query`: a curated list (1 好券, 2 超级大卖场, 10 9.9专区, 22 热销爆品)."""
        req: Json = {"eliteId": elite_id, "pageIndex": page_index, "pageSize": min(page_size, 50)}
        if sort_name:
            req["sortName"] = sort_name
            req["sort"] = "desc"
        if pid:
            req["pid"] = pid
        return await self.call("jd.union.open.goods.jingfen.query", {"goodsReq": req}, "queryResult")

    # -- links -------------------------------------------------------------------------------------

    async def promotion_by_subunionid(
        self,
        material_id: str,
        *,
        sub_union_id: str = "",
        position_id: str = "",
        pid: str = "",
        coupon_url: str = "",
        chain_type: int = 3,
    ) -> Json:
        """`jd.union.open.promotion.bysubunionid.get` (社交媒体转链): any JD URL → our u.jd.com link."""
        req = _link_request(material_id, sub_union_id, position_id, pid, coupon_url, chain_type)
        data = await self.call(
            "jd.union.open.promotion.bysubunionid.get", {"promotionCodeReq": req}, "getResult"
        )
        return dict(data.get("data") or {})

    async def promotion_common(
        self,
        material_id: str,
        *,
        site_id: str,
        position_id: str = "",
        sub_union_id: str = "",
        ext1: str = "",
        coupon_url: str = "",
        chain_type: int = 3,
    ) -> Json:
        """`jd.union.open.promotion.common.get` (网站/APP 转链): needs a website/APP `siteId`."""
        req = _link_request(material_id, sub_union_id, position_id, "", coupon_url, chain_type)
        req["siteId"] = site_id
        if ext1:
            req["ext1"] = ext1
        data = await self.call("jd.union.open.promotion.common.get", {"promotionCodeReq": req}, "getResult")
        return dict(data.get("data") or {})

    # -- orders ------------------------------------------------------------------------------------

    async def order_rows(
        self, start: datetime, end: datetime, *, time_type: int = 3, page_index: int = 1, page_size: int = 200
    ) -> Json:
        """`jd.union.open.order.row.query` for one window of at most an hour (type 3: by update time)."""
        req: Json = {
            "pageIndex": page_index,
            "pageSize": min(page_size, 500),
            "type": time_type,
            "startTime": start.astimezone(BEIJING).strftime(TIMESTAMP_FORMAT),
            "endTime": end.astimezone(BEIJING).strftime(TIMESTAMP_FORMAT),
        }
        return await self.call("jd.union.open.order.row.query", {"orderReq": req}, "queryResult")

    async def orders(
        self, start: datetime, end: datetime, *, time_type: int = 3, page_size: int = 200
    ) -> AsyncIterator[Json]:
        """Every order row from `start` to `end`: hour-long windows, each paged until `hasMore` is false."""
        window_start = start
        while window_start < end:
            window_end = min(window_start + ORDER_WINDOW, end)
            page = 1
            while True:
                data = await self.order_rows(
                    window_start, window_end, time_type=time_type, page_index=page, page_size=page_size
                )
                rows = data.get("data") or []
                for row in rows:
                    yield row
                if not rows or not data.get("hasMore"):
                    break
                page += 1
            window_start = window_end


def _link_request(
    material_id: str, sub_union_id: str, position_id: str, pid: str, coupon_url: str, chain_type: int
) -> Json:
    req: Json = {"materialId": material_id, "chainType": chain_type}
    if sub_union_id:
        req["subUnionId"] = sub_union_id
    if position_id:
        req["positionId"] = int(position_id) if position_id.isdigit() else position_id
    if pid:
        req["pid"] = pid
    if coupon_url:
        req["couponUrl"] = coupon_url
    return req


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
