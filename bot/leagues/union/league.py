"""The WeChat mini-program union (小程序联盟 推客): the `League` mapping.

Wire facts (../shared/reference/league-apis.md §2): `/union/promoter/*` under the same base URL and
token endpoints as Channels, but with the promoter account's own appid/secret; camelCase fields; list
endpoints are GET with every parameter in the query string, offset pages (`from`/`limit`,
`start`/`limit`) and numbered pages for orders (`page` from 1); commission ratios in 1/10000; prices
in fen, except order amounts, which are display strings ("¥0.20", "-" while pending) turned into fen by
`display_fen` and nowhere else.

Promotion spots (推广位, `pid`) are how orders map back to groups: each group gets its own on first use,
named after the group, created exactly once however many messages race for it. The account allows
about 100 (`promotionMaxCnt`); one is kept for a shared default spot, so when the rest run out the
operator is told and further groups share the default, still told apart by `customizeInfo` (the
spot's `tag`), which the union echoes back in orders. A group never fails for want of a spot.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.leagues.base import (
    Category,
    Commission,
    Coupon,
    LeagueConfigError,
    Order,
    Platform,
    Product,
    ProductNotFound,
    PromotionLink,
    SearchQuery,
    Spot,
)
from bot.leagues.ttlcache import TtlCache
from bot.leagues.union.client import (
    LIST_LIMIT,
    ORDER_INFO_BATCH,
    ORDER_STATUS,
    AmountFormatError,
    T,
    UnionClient,
    _int,
    _ts,
    display_fen,
    ratio_ppm,
)
from bot.leagues.union.spots import OperatorNotice, SpotUsage, UnionSpots, group_tag, spot_name
from bot.leagues.wechat.client import Json
from bot.leagues.wechat.errors import QuotaExhausted, WechatApiError

log = logging.getLogger(__name__)


def _coupon(info: Json, price_fen: int) -> Coupon | None:
    if not _int(info.get("hasCoupon")):
        return None
    detail = info.get("couponDetail") or {}
    discount = detail.get("discountInfo") or {}
    condition = discount.get("discountCondition") or {}
    valid = detail.get("validInfo") or {}
    fee = _int(discount.get("discountFee"))
    permille = _int(discount.get("discountNum")) // 10  # 9.5折 is 9500 on the wire [U: as Channels]
    amount = fee if fee else (price_fen - price_fen * permille // 1000 if permille else 0)
    rest = detail.get("restNum")
    return Coupon(
        coupon_id=str(info.get("couponId", "")),
        amount_fen=amount,
        threshold_fen=_int(condition.get("productPrice")),
        discount_permille=permille if not fee else 0,
        valid_from=_ts(valid.get("startTime")),
        valid_until=_ts(valid.get("endTime")),
        remaining=_int(rest) if rest is not None else None,
    )


def to_product(item: Json) -> Product:
    """One `productList[]` element as a domain product; raises ProductNotFound when it cannot be sold."""
    raw = item.get("product") or {}
    info = raw.get("info") or {}
    product_id = str(item.get("productId") or raw.get("productId") or "")
    prices = [
        _int((s.get("productSkuInfo") or {}).get("salePrice"), -1)
        for s in raw.get("skus") or []
        if (s.get("productSkuInfo") or {}).get("salePrice") is not None
    ]
    price = _int(info.get("minPrice"), -1)
    if price < 0:
        price = min((p for p in prices if p >= 0), default=-1)
    if price < 0 or not product_id:
        raise ProductNotFound(f"union product {product_id or '?'} has no price")
    ex = item.get("leagueExInfo") or {}
    ratio = ratio_ppm(ex.get("commissionRatio"))
    value = ex.get("commissionValue")
    amount = _int(value) if value is not None else price * ratio // 1_000_000
    shop = item.get("shopInfo") or {}
    cats = info.get("category") or []
    coupon = _coupon(item.get("couponInfo") or {}, price)
    return Product(
        platform="union",
        product_id=product_id,
        title=str(info.get("title", "")),
        price_fen=price,
        shop_id=str(shop.get("appId") or item.get("appId") or ""),
        shop_name=str(shop.get("name", "")),
        images=tuple(str(u) for u in info.get("headImg") or ()),
        sales=_int(info.get("totalSoldNum")),
        category=str(cats[0].get("catId", "")) if cats else "",
        commission=Commission(ratio_ppm=ratio, amount_fen=amount if _int(ex.get("hasCommission", 1)) else 0),
        coupons=(coupon,) if coupon else (),
    )


class UnionLeague:
    name = "union"
    platform: Platform = "union"

    def __init__(
        self,
        client: UnionClient,
        *,
        spots: UnionSpots | None = None,
        ttl: float = 300.0,
        order_window: timedelta = timedelta(days=1),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.spots = spots or UnionSpots(client)
        self.order_window = order_window
        self.clock = clock
        self._searches = TtlCache(ttl)
        self._details = TtlCache(ttl)
        self._cats = TtlCache(ttl * 12)
        self._moved: dict[str, str] = {}
        """Stored pid → the pid used instead, for spots deleted from the account."""
        self._issued: dict[str, tuple[str, str]] = {}
        """promotionUrl → (productId, shop appid) for links this process made."""
        self.degraded = False
        self.unparsed_amounts = 0
        """Order amounts in a form `display_fen` refused (the orders are kept; the operator is told)."""

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _degradable(
        self, key: tuple[Any, ...], cache: TtlCache, fetch: Callable[[], Awaitable[T]]
    ) -> T:
        """Fresh cache, else the league; when the quota is gone, a stale cache entry of any age."""
        fresh = cache.get(key)
        if fresh is not None:
            return fresh  # type: ignore[no-any-return]
        try:
            value = await fetch()
        except QuotaExhausted:
            self.degraded = True
            stale = cache.get(key, stale_ok=True)
            if stale is not None:
                log.info("union quota used up: serving %s from cache", key)
                return stale  # type: ignore[no-any-return]
            raise
        self.degraded = False
        cache.put(key, value)
        return value

    def _products(self, data: Json) -> list[Product]:
        out = []
        for item in data.get("productList") or []:
            try:
                product = to_product(item)
            except ProductNotFound as exc:
                log.info("skipping %s", exc)
                continue
            self._details.put(("product", product.product_id), product)
            out.append(product)
        return out

    async def _paged(self, fetch: Callable[[int, int], Awaitable[Json]], limit: int) -> list[Product]:
        products: list[Product] = []
        offset = 0
        while len(products) < limit:
            want = min(LIST_LIMIT, limit - len(products))
            data = await fetch(offset, want)
            page = data.get("productList") or []
            products += self._products(data)
            offset += len(page)
            if len(page) < want or offset >= _int(data.get("total"), offset + 1):
                break
        return products[:limit]

    async def search(self, query: SearchQuery) -> list[Product]:
        """Products for a keyword; with no keyword and no filter, the union's own picks (联盟精选)."""
        unfiltered = query.min_price_fen is None and query.max_price_fen is None
        if not query.keyword and unfiltered:
            return await self.featured(query.category_id, query.limit)

        def page(offset: int, limit: int) -> Awaitable[Json]:
            return self.client.product_list(
                query=query.keyword,
                offset=offset,
                limit=limit,
                category_id=query.category_id,
                min_price=query.min_price_fen,
                max_price=query.max_price_fen,
            )

        key = (
            "search",
            query.keyword,
            query.category_id,
            query.min_price_fen,
            query.max_price_fen,
            query.limit,
        )
        return await self._degradable(key, self._searches, lambda: self._paged(page, query.limit))

    async def featured(self, category_id: str, limit: int) -> list[Product]:
        """联盟精选 for daily pushes, per category (a union catId, or a category name such as "食品生鲜")."""
        if category_id:
            cats = await self.categories()
            if all(c.category_id != category_id for c in cats):
                category_id = next((c.category_id for c in cats if c.name == category_id), category_id)

        def page(offset: int, size: int) -> Awaitable[Json]:
            return self.client.product_select(offset=offset, limit=size, category_id=category_id)

        key = ("select", category_id, limit)
        return await self._degradable(key, self._searches, lambda: self._paged(page, limit))

    async def product(self, product_id: str, shop_id: str = "") -> Product:
        async def fetch() -> Product:
            data = await self.client.product_list(
                product_ids=(product_id,), shop_appids=(shop_id,) if shop_id else (), limit=1
            )
            found = [p for p in self._products(data) if p.product_id == product_id]
            if not found:
                raise ProductNotFound(f"union product {product_id} is not in the union (removed or unknown)")
            return found[0]

        return await self._degradable(("product", product_id), self._details, fetch)

    async def lookup_link(self, url: str) -> Product:
        """A promotionUrl this process issued; others cannot be resolved (the union has no such API)."""
        hit = self._issued.get(url.strip().rstrip("/"))
        if hit is None:
            raise ProductNotFound(f"cannot resolve {url}: not a link this bot issued")
        return await self.product(*hit)

    async def _generate(self, product: Product, spot: Spot) -> tuple[Json, str]:
        """Material (and the pid used) on the spot's pid; a spot deleted from the account is replaced."""
        pid = self._moved.get(spot.pid, spot.pid) or (await self.spots.default()).pid
        try:
            return await self.client.generate(pid, [(product.product_id, product.shop_id, spot.tag)]), pid
        except WechatApiError:
            if await self.spots.exists(pid):
                raise
        replacement = await (self.spots.for_tag(spot.tag) if spot.tag else self.spots.default())
        self._moved[spot.pid] = replacement.pid
        await self.spots.tell(
            f"小程序联盟推广位 {pid} 已不在账号里（后台删了？）：这个群改用推广位 {replacement.pid}，"
            f"订单仍按 customizeInfo={spot.tag or '-'} 归群"
        )
        items = [(product.product_id, product.shop_id, spot.tag)]
        return await self.client.generate(replacement.pid, items), replacement.pid

    async def promote(self, product: Product, spot: Spot) -> PromotionLink:
        data, pid = await self._generate(product, spot)
        spot = Spot(league="union", pid=pid, tag=spot.tag)
        item = next(
            (
                i
                for i in data.get("list") or []
                if str((i.get("productInfo") or {}).get("productId", product.product_id))
                == product.product_id
            ),
            None,
        )
        share = (item or {}).get("shareInfo") or {}
        url = str(share.get("promotionUrl") or "")
        if not url:
            raise ProductNotFound(f"union product {product.product_id} has no promotion material (removed?)")
        appid = str(share.get("appId") or product.shop_id)
        self._issued[url.rstrip("/")] = (product.product_id, appid)
        return PromotionLink(
            product_id=product.product_id,
            spot=spot,
            shop_id=appid,
            http_short_link=url,
            short_link=str(share.get("couponPromotionUrl") or ""),
            qrcode_url=str(share.get("wxaCode") or ""),
            mini_path=str(share.get("path") or ""),
            card_param=str(share.get("promotionWording") or ""),
        )

    async def categories(self) -> list[Category]:
        async def fetch() -> list[Category]:
            data = await self.client.categories()
            return [
                Category(category_id=str(c.get("catId", "")), name=str(c.get("name", "")))
                for c in data.get("productCats") or []
            ]

        return await self._degradable(("categories",), self._cats, fetch)

    def set_operator_notice(self, notify: OperatorNotice) -> None:
        """Where spot trouble (limit reached, a spot deleted) is told; the app passes its admin-chat notice."""
        self.spots.notify = notify

    # -- per-group identity (SpotIssuer) -----------------------------------------------------------------

    async def choose_identity(self, group_key: str, taken: set[tuple[str, str]]) -> tuple[str, str]:
        return await self.choose_named_identity(group_key, "", taken)

    async def choose_named_identity(
        self, group_key: str, group_name: str, taken: set[tuple[str, str]]
    ) -> tuple[str, str]:
        """The group's (pid, tag): its own spot, named after the group; the shared default beyond the limit.

        The caller keeps the answer per group; `taken` only matters if two group keys hash to one tag.
        """
        key = group_key
        for attempt in range(1, 5):
            spot = await self.spots.for_group(key, group_name or group_key)
            if (spot.pid, spot.tag) not in taken:
                return spot.pid, spot.tag
            key = f"{group_key}#{attempt}"
        raise LeagueConfigError(f"no free union identity for group {group_key}")  # 2^-128 territory

    # -- orders ----------------------------------------------------------------------------------------

    def _orders(self, data: Json) -> list[Order]:
        """One domain order per product line; amounts through `display_fen`, odd ones kept and reported."""
        out: list[Order] = []
        for raw in data.get("orderList") or []:
            order_id = str(raw.get("orderId", ""))
            paid_at = _ts(raw.get("payTime")) or self.clock()
            for line in raw.get("productList") or []:
                promotion = line.get("promotionInfo") or {}
                paid = self._amount(order_id, "price", line.get("price"))
                commission = self._amount(order_id, "commission", line.get("commission"))
                if commission is None:  # "-" while pending (or unreadable): the union's estimate, in fen
                    commission = _int(line.get("estimatedCommission"))
                updated = _ts(line.get("commissionStatusUpdateTime")) or paid_at
                status = str(line.get("commissionStatus", ""))
                out.append(
                    Order(
                        order_id=order_id,
                        sku_id=str(line.get("skuId", "")),
                        product_id=str(line.get("productId", "")),
                        title=str(line.get("title", "")),
                        paid_fen=paid or 0,
                        commission_fen=commission,
                        status=ORDER_STATUS.get(status, status.lower() or "unknown"),
                        sharer_appid="",
                        created_at=paid_at,
                        updated_at=updated,
                        pid=str(promotion.get("promotionSourcePid", "")),
                        tag=str(line.get("customizeInfo") or raw.get("customizeInfo") or ""),
                    )
                )
        return out

    def _amount(self, order_id: str, name: str, value: Any) -> int | None:
        try:
            return display_fen(value)
        except AmountFormatError:
            self.unparsed_amounts += 1
            log.warning(
                "联盟订单 %s 的 %s 格式看不懂 (%r)：订单照常记下，佣金按联盟预估记，请人工核对",
                order_id,
                name,
                value,
            )
            return None

    async def orders_between(self, start: datetime, end: datetime) -> list[Order]:
        """Orders paid in [start, end), window by window, every page of each."""
        out: list[Order] = []
        low = start
        while low < end:
            high = min(low + self.order_window, end)
            first = int(low.timestamp())
            last = max(int(high.timestamp()) - 1, first)  # whole seconds: a window within one reads it
            page = 1
            while True:
                data = await self.client.order_search(page, first, last)
                rows = data.get("orderList") or []
                out += self._orders(data)
                size = _int(data.get("pageSize"), len(rows)) or len(rows)
                if not rows or page * size >= _int(data.get("totalNum"), 0):
                    break
                page += 1
            low = high
        return out

    async def orders_since(self, since: datetime, until: datetime | None = None) -> list[Order]:
        """Orders paid in [since, until) (until: now). The union finds orders by payment time only, so
        a later settlement or refund is read with `refresh_orders` (the order sync does, for the
        orders it holds open)."""
        return await self.orders_between(since, until or self.clock() + timedelta(seconds=1))

    async def refresh_orders(self, order_ids: Sequence[str]) -> list[Order]:
        """Current state of known orders (`order/info`), in batches."""
        out: list[Order] = []
        ids = list(dict.fromkeys(order_ids))
        for i in range(0, len(ids), ORDER_INFO_BATCH):
            out += self._orders(await self.client.order_info(ids[i : i + ORDER_INFO_BATCH]))
        return out


__all__ = [
    "AmountFormatError",
    "LeagueConfigError",
    "SpotUsage",
    "UnionClient",
    "UnionLeague",
    "UnionSpots",
    "display_fen",
    "group_tag",
    "spot_name",
]
