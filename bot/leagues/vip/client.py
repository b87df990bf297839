"""The Vipshop union API over the vop gateway, one reused httpx.AsyncClient.

Every call is a POST to the gateway's root: the system parameters (`service`, `method`, `version`,
`timestamp` in Unix seconds, `format=json`, `appKey`, `accessToken` when configured, `sign`) in the
query string and the business parameters as the raw JSON body, serialised once so that the signed bytes
are the sent bytes (`signing.py`). The answer is the envelope `{"returnCode": "0", "result": …}`;
any other `returnCode` is mapped by `errors.classify`. Timeouts, 5xx, malformed JSON, a busy gateway
and call-rate refusals are retried with backoff and jitter inside the caller's budget; a throttle that
outlasts them is `VipThrottled` (the league then cools down, see `league.py`).

Each business call carries a fresh `requestId` (the union wants one per call; a retry resends the same
body, so the same id). Arguments are wrapped as the union expects: one struct argument nested under its
parameter name (`{"request": {…}}`, `{"queryModel": {…}}`, `{"pidGenRequest": {…}}`), several scalar
or list arguments flat (`getByGoodsIds`, `genByGoodsId`, `genByVIPUrl`). Money stays the yuan strings
the gateway sends; `mapping.py` turns them into fen.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx

from bot.leagues import wire
from bot.leagues.form_gateway import FormGatewayClient, Transient
from bot.leagues.vip import errors
from bot.leagues.vip.signing import body_json, sign

Json = dict[str, Any]

SERVICE = "com.vip.adp.api.open.service."
GOODS = SERVICE + "UnionGoodsService"
URLS = SERVICE + "UnionUrlService"
PIDS = SERVICE + "UnionPidService"
ORDERS = SERVICE + "UnionOrderService"
VERSION = "1.0.0"

ORDER_WINDOW = timedelta(days=1)
"""`orderList` windows we ask for (one doc mirror says 10 days at most; a day stays well inside it)."""
ORDER_PAGE = 100
"""`orderList` pageSize upper bound."""
SEARCH_PAGE = 50
"""`query` pageSize we never exceed (50 per one doc mirror, 100 per another: the smaller)."""
PID_NAME = 50
"""Characters a PID name may have."""


def loads(content: bytes | str) -> Any:
    """JSON with every non-integer number as an exact Decimal (money should be strings, but be lenient)."""
    return wire.loads(content, exact=True)


def request_id() -> str:
    return uuid.uuid4().hex


class VipClient(FormGatewayClient):
    league = "vip"

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
        new_request_id: Callable[[], str] = request_id,
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
        self._token = access_token
        self.new_request_id = new_request_id

    def __repr__(self) -> str:  # never the secret nor the token
        return f"VipClient({self.url!r}, app_key={self.app_key!r})"

    def exhausted(self, message: str) -> Exception:
        return errors.VipRetriesExhausted(f"唯品会联盟 {message}")

    def gave_up(self, name: str, tries: int, fault: Exception) -> Exception:
        if isinstance(fault, _Throttled):
            return errors.VipThrottled(f"唯品会联盟 {name}: 调用太频繁，{tries} 次都被限流 ({fault})")
        return super().gave_up(name, tries, fault)

    def decode(self, content: bytes) -> Any:
        return loads(content)

    # -- transport ---------------------------------------------------------------------------------

    def system_params(self, service: str, method: str, body: str) -> dict[str, str]:
        """The signed query string of one try (the timestamp is taken now)."""
        params = {
            "service": service,
            "method": method,
            "version": VERSION,
            "timestamp": str(int(self.clock())),
            "format": "json",
            "appKey": self.app_key,
        }
        if self._token:
            params["accessToken"] = self._token
        params["sign"] = sign(params, body, self._secret)
        return params

    async def call(self, service: str, method: str, business: Json) -> Any:
        """One business call; the envelope's `result`, or the mapped error."""
        body = body_json(business)
        name = f"{service.rsplit('.', 1)[-1]}.{method}"

        def result(data: Json) -> Any:
            code = str(data.get("returnCode", ""))
            if code == errors.OK:
                return data.get("result")
            message = str(data.get("returnMessage") or "")
            if not code:
                raise Transient("no returnCode in the answer")
            if errors.is_throttled(code, message):
                raise _Throttled(f"{code}: {message}")
            if errors.is_busy(code, message):
                raise Transient(f"{code}: {message}")
            raise errors.classify(name, code, message)

        return await self.post(
            name,
            lambda: self.system_params(service, method, body),
            result,
            headers={"Content-Type": "application/json; charset=UTF-8"},
            body=body.encode(),
        )

    # -- goods -------------------------------------------------------------------------------------

    async def goods_query(
        self,
        keyword: str,
        *,
        page: int = 1,
        page_size: int = 20,
        field_name: str = "",
        order: int | None = None,
        price_start: str = "",
        price_end: str = "",
        chan_tag: str = "",
    ) -> Json:
        """`UnionGoodsService.query`: `goodsInfoList[]`, `total`, `page`, `pageSize`."""
        req: Json = {
            "keyword": keyword,
            "page": page,
            "pageSize": min(page_size, SEARCH_PAGE),
            "requestId": self.new_request_id(),
            "queryStock": True,
        }
        if field_name:
            req["fieldName"] = field_name
            req["order"] = 1 if order is None else order
        if price_start:
            req["priceStart"] = price_start
        if price_end:
            req["priceEnd"] = price_end
        if chan_tag:
            req["chanTag"] = chan_tag
        return _object(await self.call(GOODS, "query", {"request": req}))

    async def goods_list(
        self, channel_type: int, *, page: int = 1, page_size: int = 50, chan_tag: str = ""
    ) -> Json:
        """`UnionGoodsService.goodsList`: a curated list (0 超高佣, 1 出单爆款); same answer as `query`."""
        req: Json = {
            "channelType": channel_type,
            "page": page,
            "pageSize": min(page_size, 100),
            "requestId": self.new_request_id(),
            "queryStock": True,
        }
        if chan_tag:
            req["chanTag"] = chan_tag
        return _object(await self.call(GOODS, "goodsList", {"request": req}))

    async def goods_by_ids(self, goods_ids: Sequence[str], *, chan_tag: str = "") -> list[Json]:
        """`UnionGoodsService.getByGoodsIds`: the goods among `goods_ids` the union has (a plain list)."""
        business: Json = {"goodsIdList": list(goods_ids), "requestId": self.new_request_id()}
        if chan_tag:
            business["chanTag"] = chan_tag
        result = await self.call(GOODS, "getByGoodsIds", business)
        if isinstance(result, dict):  # lenient: a wrapper some mirrors show
            result = result.get("goodsInfoList") or []
        return [g for g in result or [] if isinstance(g, dict)]

    # -- links -------------------------------------------------------------------------------------

    async def links_by_goods_ids(
        self, goods_ids: Sequence[str], *, chan_tag: str = "", stat_param: str = ""
    ) -> list[Json]:
        """`UnionUrlService.genByGoodsId`: one `urlInfoList` entry per goods id."""
        business: Json = {"goodsIdList": list(goods_ids), "requestId": self.new_request_id()}
        if chan_tag:
            business["chanTag"] = chan_tag
        if stat_param:
            business["statParam"] = stat_param
        return _url_infos(await self.call(URLS, "genByGoodsId", business))

    async def links_by_urls(
        self, urls: Sequence[str], *, chan_tag: str = "", stat_param: str = ""
    ) -> list[Json]:
        """`UnionUrlService.genByVIPUrl`: vip.com product links and t.vip.com short links → ours."""
        business: Json = {"urlList": list(urls), "requestId": self.new_request_id()}
        if chan_tag:
            business["chanTag"] = chan_tag
        if stat_param:
            business["statParam"] = stat_param
        return _url_infos(await self.call(URLS, "genByVIPUrl", business))

    # -- promotion positions -----------------------------------------------------------------------

    async def gen_pids(self, names: Sequence[str]) -> list[Json]:
        """`UnionPidService.genPid`: one new PID (`pid`, `pidName`, `status`) per name (≤ 50 characters)."""
        request = {"pidNameList": [n[:PID_NAME] for n in names], "requestId": self.new_request_id()}
        result = _object(await self.call(PIDS, "genPid", {"pidGenRequest": request}))
        return [p for p in result.get("pidInfoList") or [] if isinstance(p, dict)]

    # -- orders ------------------------------------------------------------------------------------

    async def order_page(
        self, start: datetime, end: datetime, *, page: int = 1, page_size: int = ORDER_PAGE
    ) -> Json:
        """`UnionOrderService.orderList`: orders updated in [start, end], one page (`orderInfoList`, `total`)."""
        model: Json = {
            "updateTimeStart": _ms(start),
            "updateTimeEnd": _ms(end),
            "page": page,
            "pageSize": min(page_size, ORDER_PAGE),
            "requestId": self.new_request_id(),
        }
        return _object(await self.call(ORDERS, "orderList", {"queryModel": model}))

    async def orders_by_sn(self, order_sns: Sequence[str]) -> list[Json]:
        """`UnionOrderService.orderList` by `orderSnList` (no window needed)."""
        model: Json = {
            "orderSnList": list(order_sns),
            "page": 1,
            "pageSize": ORDER_PAGE,
            "requestId": self.new_request_id(),
        }
        result = _object(await self.call(ORDERS, "orderList", {"queryModel": model}))
        return [o for o in result.get("orderInfoList") or [] if isinstance(o, dict)]

    async def orders(
        self, start: datetime, end: datetime, *, page_size: int = ORDER_PAGE
    ) -> AsyncIterator[Json]:
        """Every order updated from `start` to `end`: day-long windows, each paged until `total` is read."""
        window_start = start
        while window_start < end:
            window_end = min(window_start + ORDER_WINDOW, end)
            page, seen = 1, set()
            while True:
                data = await self.order_page(window_start, window_end, page=page, page_size=page_size)
                rows = [o for o in data.get("orderInfoList") or [] if isinstance(o, dict)]
                for row in rows:
                    key = str(row.get("orderSn", ""))
                    if key not in seen:
                        seen.add(key)
                        yield row
                total = _int(data.get("total"))
                if len(rows) < page_size or page * page_size >= total:
                    break
                page += 1
            window_start = window_end


class _Throttled(Transient):
    """A call-rate refusal: retried, and reported as `VipThrottled` if it outlasts the retries."""


def _object(result: Any) -> Json:
    return result if isinstance(result, dict) else {}


def _url_infos(result: Any) -> list[Json]:
    infos = _object(result).get("urlInfoList") or []
    return [i for i in infos if isinstance(i, dict)]


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
