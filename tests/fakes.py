"""Test doubles at the League seam: an in-memory league that counts its calls."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from bot.leagues.base import (
    Category,
    Coupon,
    LeagueError,
    LeagueUnavailable,
    LiveEvent,
    Order,
    Platform,
    Product,
    ProductNotFound,
    PromotionLink,
    SearchQuery,
    Spot,
)
from bot.leagues.metering import count_call


def product(
    pid: str, title: str, price: int, *, coupon: int = 0, sales: int = 100, threshold: int = 0
) -> Product:
    coupons = (
        (Coupon(coupon_id=f"c{pid}", amount_fen=coupon, threshold_fen=threshold, remaining=10),)
        if coupon
        else ()
    )
    return Product(
        platform="channels",
        product_id=pid,
        title=title,
        price_fen=price,
        shop_id="shop1",
        shop_name="测试旗舰店",
        images=(f"https://img.example.test/{pid}.jpg",),
        sales=sales,
        coupons=coupons,
    )


class FakeLeague:
    """Products in memory; `fail_with` makes every call raise, as a league in trouble would."""

    def __init__(
        self, products: Sequence[Product], name: str = "channels", platform: Platform = "channels"
    ) -> None:
        self.name = name
        self.platform = platform
        self.products = {p.product_id: p for p in products}
        self.calls: Counter[str] = Counter()
        self.fail_with: LeagueError | None = None

    def _enter(self, op: str) -> None:
        self.calls[op] += 1
        count_call()
        if self.fail_with is not None:
            raise self.fail_with

    async def search(self, query: SearchQuery) -> list[Product]:
        self._enter("search")
        hits = [p for p in self.products.values() if query.keyword in p.title]
        return hits[: query.limit]

    async def product(self, product_id: str, shop_id: str = "") -> Product:
        self._enter("product")
        try:
            return self.products[product_id]
        except KeyError:
            raise ProductNotFound(product_id) from None

    async def lookup_link(self, url: str) -> Product:
        self._enter("lookup_link")
        token = url.rstrip("/").rsplit("/", 1)[-1]
        if token in self.products:
            return self.products[token]
        raise ProductNotFound(url)

    async def promote(self, product: Product, spot: Spot) -> PromotionLink:
        self._enter("promote")
        return PromotionLink(
            product_id=product.product_id,
            spot=spot,
            short_link=f"#小店://{product.product_id}/{spot.key}",
            http_short_link=f"https://store.weixin.qq.com/shop/a/{product.product_id}x{spot.key}",
        )

    async def featured(self, category_id: str, limit: int) -> list[Product]:
        self._enter("featured")
        return list(self.products.values())[:limit]

    async def categories(self) -> list[Category]:
        self._enter("categories")
        return []

    async def lives(self, talent_appids: Sequence[str], spot: Spot) -> list[LiveEvent]:
        self._enter("lives")
        return []

    async def orders_since(self, since: datetime) -> list[Order]:
        self._enter("orders_since")
        return []

    async def aclose(self) -> None:
        return None


__all__ = ["FakeLeague", "LeagueUnavailable", "product"]
