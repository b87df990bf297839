"""`JdLeague`: JD union behind the `League` protocol, and the issuer of each group's `subUnionId`.

Links are made with `promotion.bysubunionid.get` (社交媒体转链: a group chat is social media) carrying
the group's `subUnionId` (the Spot's `tag`) and the operator's `positionId` (the Spot's `pid`); an
operator whose position is a website/APP one sets `link_api = "common"` and the `site_id`. A member's
pasted JD link (anyone's: item page, u.jd.com, union-click, 3.cn in a 京口令) is looked up with
`goods.query` (its keyword takes union links) and converted again for this group. Orders come back
with the `subUnionId` and `positionId` they were made with, which is how they map back to groups.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from bot.leagues.base import (
    Category,
    NotPromotable,
    Order,
    Platform,
    Product,
    ProductNotFound,
    PromotionLink,
    SearchQuery,
    Spot,
)
from bot.leagues.jd.client import JdClient
from bot.leagues.jd.errors import JdCouponRefused, JdNotPromotable
from bot.leagues.jd.mapping import item_url, product_from_item
from bot.leagues.jd.money import yuan_to_fen
from bot.leagues.jd.signing import parse_timestamp
from bot.leagues.ttlcache import TtlCache

log = logging.getLogger(__name__)

PAGE = 30
MIN_PAGE = 1
ELITE_HOT, ELITE_COUPONS = 22, 1
VALID_PENDING = frozenset({15, 16, 24})
VALID_DONE = frozenset({17, 18})


def order_status(valid_code: int) -> str:
    """JD's `validCode`: 15/16/24 not yet complete, 17/18 complete, anything else void."""
    if valid_code in VALID_PENDING:
        return "pending"
    if valid_code in VALID_DONE:
        return "settled"
    return "cancelled"


def sub_union_id(group_key: str, salt: str = "") -> str:
    """A group's stable subUnionId: letters, digits and `_` only (what JD accepts), same key → same id."""
    digest = hashlib.blake2b(f"{group_key}{salt}".encode(), digest_size=8).hexdigest()
    return f"tk_{digest}"


class JdLeague:
    name = "jd"
    platform: Platform = "jd"

    def __init__(
        self,
        client: JdClient,
        *,
        position_id: str = "",
        site_id: str = "",
        link_api: Literal["bysubunionid", "common"] = "bysubunionid",
        cache_seconds: float = 300.0,
    ) -> None:
        self.client = client
        self.position_id = position_id
        self.site_id = site_id
        self.link_api = link_api
        self.cache_seconds = cache_seconds
        self._cache = TtlCache(cache_seconds)

    async def aclose(self) -> None:
        await self.client.aclose()

    def _cached(self, key: tuple[Any, ...]) -> Any | None:
        return self._cache.get(key)

    def _keep(self, key: tuple[Any, ...], value: Any) -> None:
        self._cache.put(key, value)

    def _products(self, items: Sequence[dict[str, Any]]) -> list[Product]:
        now = datetime.now(UTC)
        return [product_from_item(item, now) for item in items]

    # -- products ----------------------------------------------------------------------------------

    async def search(self, query: SearchQuery) -> list[Product]:
        """Products for a keyword; with none (a push asking for picks), the league's curated list."""
        key = ("search", query)
        hit = self._cached(key)
        if hit is not None:
            return list(hit)
        if not query.keyword.strip():
            picks = [
                p
                for p in await self.featured(query.category_id, query.limit * 2)
                if query.admits_price(p.final_price_fen)
            ]
            self._keep(key, tuple(picks[: query.limit]))
            return picks[: query.limit]
        products: list[Product] = []
        page = 1
        size = min(PAGE, max(MIN_PAGE, query.limit * 2))  # a margin for items without commission
        while len(products) < query.limit:
            data = await self.client.goods_query(keyword=query.keyword, page_index=page, page_size=size)
            batch = [
                p
                for p in self._products(data.get("data") or [])
                if _promotable(p) and query.admits_price(p.final_price_fen)
            ]
            products += batch
            if len(data.get("data") or []) < size or page * size >= int(data.get("totalCount") or 0):
                break
            page += 1
        products = products[: query.limit]
        self._keep(key, tuple(products))
        return products

    async def product(self, product_id: str, shop_id: str = "") -> Product:
        if not product_id.isdigit():
            raise ProductNotFound(f"JD skuIds are digits: {product_id!r}")
        hit = self._cached(("sku", product_id))
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        data = await self.client.goods_query(sku_ids=[product_id])
        return self._one(data, product_id)

    async def lookup_link(self, url: str) -> Product:
        data = await self.client.goods_query(keyword=url.strip())
        return self._one(data, url)

    def _one(self, data: dict[str, Any], what: str) -> Product:
        products = self._products(data.get("data") or [])
        if not products:
            raise ProductNotFound(f"京东联盟没有这个商品：{what}")
        product = products[0]
        if not _promotable(product):
            raise NotPromotable("not_alliance", f"京东商品 {product.product_id} 没有佣金，不在联盟推广中")
        self._keep(("sku", product.product_id), product)
        return product

    async def promote(self, product: Product, spot: Spot) -> PromotionLink:
        material = product.promotion_param or item_url(product.product_id)
        coupon = product.best_coupon()
        try:
            data = await self._convert(material, spot, coupon.coupon_id if coupon else "")
        except JdCouponRefused:
            log.info("jd coupon refused for %s; converting without it", product.product_id)
            data = await self._convert(material, spot, "")
        except JdNotPromotable as exc:
            raise NotPromotable("not_alliance", str(exc)) from None
        return PromotionLink(
            product_id=product.product_id,
            spot=spot,
            shop_id=product.shop_id,
            http_short_link=str(data.get("shortURL") or data.get("clickURL") or ""),
            code=str(data.get("jCommand") or data.get("jShortCommand") or ""),
        )

    async def _convert(self, material: str, spot: Spot, coupon_url: str) -> dict[str, Any]:
        position = spot.pid or self.position_id
        if self.link_api == "common":
            return await self.client.promotion_common(
                material,
                site_id=self.site_id,
                position_id=position,
                sub_union_id=spot.tag,
                coupon_url=coupon_url,
            )
        return await self.client.promotion_by_subunionid(
            material, sub_union_id=spot.tag, position_id=position, coupon_url=coupon_url
        )

    async def featured(self, category_id: str, limit: int) -> list[Product]:
        """Pushes draw from 京粉精选: 热销爆品, then 好券; the category is JD's cid1 when given."""
        out: list[Product] = []
        for elite in (ELITE_HOT, ELITE_COUPONS):
            data = await self.client.jingfen_query(elite, page_size=50)
            for p in self._products(data.get("data") or []):
                fits = not category_id or p.category == category_id
                if fits and _promotable(p) and all(q.product_id != p.product_id for q in out):
                    out.append(p)
            if len(out) >= limit:
                break
        return out[:limit]

    async def categories(self) -> list[Category]:
        return []

    # -- orders and identities ---------------------------------------------------------------------

    async def orders_since(self, since: datetime, until: datetime | None = None) -> list[Order]:
        out: list[Order] = []
        async for row in self.client.orders(since, until or datetime.now(UTC)):
            created = _jd_time(row.get("orderTime")) or since
            out.append(
                Order(
                    order_id=str(row.get("orderId", "")),
                    sku_id=str(row.get("skuId", "")),
                    product_id=str(row.get("skuId", "")),
                    title=str(row.get("skuName", "")),
                    paid_fen=yuan_to_fen(row.get("actualCosPrice") or row.get("estimateCosPrice")),
                    commission_fen=yuan_to_fen(row.get("actualFee") or row.get("estimateFee")),
                    status=order_status(int(row.get("validCode", -1) or -1)),
                    sharer_appid="",
                    created_at=created,
                    updated_at=_jd_time(row.get("modifyTime")) or created,
                    pid=str(row.get("positionId") or ""),
                    tag=str(row.get("subUnionId") or ""),
                )
            )
        return out

    async def choose_identity(self, group_key: str, taken: set[tuple[str, str]]) -> tuple[str, str]:
        """The group's (positionId, subUnionId): the operator's position and a subUnionId made from the
        group's key, so it is the same for the group however often it is asked."""
        salt = ""
        while (self.position_id, sub_union_id(group_key, salt)) in taken:
            salt += "+"
        return self.position_id, sub_union_id(group_key, salt)


def _promotable(product: Product) -> bool:
    """Only items with commission are worth a link: the others are not in the union now."""
    return product.commission is not None and product.commission.ratio_ppm > 0


def _jd_time(value: Any) -> datetime | None:
    try:
        return parse_timestamp(str(value)) if value else None
    except ValueError:
        return None
