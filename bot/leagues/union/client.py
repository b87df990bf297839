"""The mini-program union's HTTP client: `/union/promoter/*`, and the one place order amounts become fen."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from bot.leagues.wechat.client import Json, WechatApi

log = logging.getLogger(__name__)


T = TypeVar("T")

UNION = "/union/promoter/"
LIST_LIMIT = 50
"""Most products one `product/list` or `product/select` page returns (doc: ≤ 50)."""
SPOT_LIST_LIMIT = 100
SPOT_NAME_MAX = 20
"""推广位名称最长 20 个字, and names must be unique on the account."""
SPOTS_FULL = 14005
SPOT_NAME_TAKEN = 14007
DEFAULT_SPOT_NAME = "推客默认推广位"
ORDER_INFO_BATCH = 20
"""Order ids per `order/info` call [U: the doc gives no limit]."""
ORDER_STATUS = {
    "SETTLEMENT_PENDING": "pending",
    "SETTLEMENT_SUCCESS": "settled",
    "SETTLEMENT_CANCELED": "cancelled",
}


# ---- money ---------------------------------------------------------------------------------------


class AmountFormatError(ValueError):
    """An order amount in a form we do not know; the order is kept and the operator told."""


_AMOUNT = re.compile(r"^(?:[¥￥]|RMB|CNY)?\s*(-?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?\s*元?$")


def display_fen(value: Any) -> int | None:
    """A union order amount in fen: "¥0.20" → 20, "¥0" → 0, "￥1,299.00" → 129900; "-" (pending) → None.

    A JSON number is taken as fen already [U: the docs say display strings; SKIT types them int].
    Anything else raises `AmountFormatError` rather than guess: no float ever touches the amount.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise AmountFormatError(f"amount {value!r}")
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        raise AmountFormatError(f"amount {value!r}")
    text = value.strip()
    if text in ("", "-", "--", "—"):
        return None
    m = _AMOUNT.match(text)
    if m is None:
        raise AmountFormatError(f"amount {value!r}")
    sign, whole, frac = m.groups()
    fen = int(whole.replace(",", "")) * 100 + int(((frac or "") + "00")[:2])
    return -fen if sign else fen


def ratio_ppm(ratio_1e4: Any) -> int:
    """The union's 1/10000 commission ratio in the domain's parts per million."""
    try:
        return max(int(ratio_1e4 or 0), 0) * 100
    except (TypeError, ValueError):
        return 0


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _ts(value: Any) -> datetime | None:
    seconds = _int(value)
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None


def _query(**params: Any) -> dict[str, str]:
    """GET parameters as the union wants them: omitted when unset, lists comma-joined, ints as text."""
    out: dict[str, str] = {}
    for name, value in params.items():
        if value is None or value == "" or value == ():
            continue
        if isinstance(value, list | tuple):
            value = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = int(value)
        out[name] = str(value)
    return out


# ---- client --------------------------------------------------------------------------------------


class UnionClient(WechatApi):
    """The `/union/promoter/*` endpoints; returns decoded JSON (wire field names)."""

    league = "union"

    async def categories(self) -> Json:
        return await self.call(UNION + "product/category", method="GET")

    async def product_list(
        self,
        *,
        query: str = "",
        offset: int = 0,
        limit: int = 20,
        category_id: str = "",
        min_price: int | None = None,
        max_price: int | None = None,
        min_commission_ratio: int | None = None,
        has_coupon: bool | None = None,
        shop_appids: Sequence[str] = (),
        product_ids: Sequence[str] = (),
        sort_type: int | None = None,
    ) -> Json:
        params = _query(
            **{"from": max(offset, 0)},
            limit=min(max(limit, 1), LIST_LIMIT),
            query=query,
            queryType=0 if query else None,
            categoryId=category_id,
            minPrice=min_price,
            maxPrice=max_price,
            minCommissionRatio=min_commission_ratio,
            hasCoupon=has_coupon,
            shopAppIds=tuple(shop_appids),
            productId=tuple(product_ids),
            sortType=sort_type,
        )
        return await self.call(UNION + "product/list", method="GET", query=params)

    async def product_select(
        self,
        *,
        offset: int = 0,
        limit: int = 20,
        category_id: str = "",
        min_price: int | None = None,
        max_price: int | None = None,
        has_coupon: bool | None = None,
        sort_type: int | None = None,
    ) -> Json:
        """联盟精选: like `product_list` without a keyword."""
        params = _query(
            **{"from": max(offset, 0)},
            limit=min(max(limit, 1), LIST_LIMIT),
            categoryId=category_id,
            minPrice=min_price,
            maxPrice=max_price,
            hasCoupon=has_coupon,
            sortType=sort_type,
        )
        return await self.call(UNION + "product/select", method="GET", query=params)

    async def generate(self, pid: str, products: Iterable[tuple[str, str, str]]) -> Json:
        """Promotion material for (productId, shop appId, customizeInfo) triples on spot `pid`."""
        items = [
            {"productId": pid_, "appId": appid, **({"customizeInfo": tag} if tag else {})}
            for pid_, appid, tag in products
        ]
        return await self.call(UNION + "product/generate", {"pid": pid, "productList": items})

    async def spot_add(self, name: str) -> Json:
        return await self.call(UNION + "promotion/add", {"promotionSourceName": name})

    async def spot_list(self, start: int = 0, limit: int = SPOT_LIST_LIMIT) -> Json:
        return await self.call(UNION + "promotion/list", method="GET", query=_query(start=start, limit=limit))

    async def spot_delete(self, pid: str, name: str) -> Json:
        body = {"promotionSourcePid": pid, "promotionSourceName": name}
        return await self.call(UNION + "promotion/del", body)

    async def spot_rename(self, pid: str, old_name: str, new_name: str) -> Json:
        body = {
            "previousPromotionInfo": {"promotionSourcePid": pid, "promotionSourceName": old_name},
            "promotionInfo": {"promotionSourceName": new_name},
        }
        return await self.call(UNION + "promotion/upd", body)

    async def order_search(
        self, page: int, start: int | None = None, end: int | None = None, commission_status: str = ""
    ) -> Json:
        params = _query(
            page=max(page, 1),
            startTimestamp=start,
            endTimestamp=end,
            commissionStatus=commission_status,
        )
        return await self.call(UNION + "order/search", method="GET", query=params)

    async def order_info(self, order_ids: Sequence[str]) -> Json:
        return await self.call(UNION + "order/info", {"orderIdList": [str(o) for o in order_ids]})


# ---- spots ---------------------------------------------------------------------------------------
