"""`PddLeague`: Pinduoduo 多多进宝 behind the `League` protocol, and the issuer of each group's PID.

Each group gets its own PID, made with `pdd.ddk.goods.pid.generate` the first time the group needs a
link and kept in the store (`league_spots`), plus `custom_parameters` `{"uid": <group tag>}`; both come
back on orders, which is how orders map to groups. A new PID must be registered (备案) before links can
be made with it: until then link calls raise `PddNotRegistered`, an operator error that names the
`tuike pdd register` command. A member's pasted PDD link is looked up with `goods.search` (its keyword
takes goods and 进宝 links); someone else's 进宝 link is converted with `goods.zs.unit.url.gen`, which
keeps a 招商 unit's terms, and anything else with `goods.promotion.url.generate`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

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
from bot.leagues.pdd.client import PddClient
from bot.leagues.pdd.errors import PddGoodsGone
from bot.leagues.pdd.mapping import product_from_goods, s_time
from bot.leagues.ttlcache import TtlCache

log = logging.getLogger(__name__)

PAGE = 50
MIN_PAGE = 10
ORDER_PENDING = frozenset({0, 1, 2, 3})
ORDER_SETTLED = frozenset({5})


def order_status(code: int) -> str:
    """`order_status`: 0 paid, 1 grouped, 2 received, 3 verified → pending; 5 settled; 4/10 void."""
    if code in ORDER_PENDING:
        return "pending"
    if code in ORDER_SETTLED:
        return "settled"
    return "cancelled"


def custom_parameters(uid: str) -> str:
    """The `custom_parameters` JSON a group's links carry (PDD wants `uid`; at most 64 bytes)."""
    return json.dumps({"uid": uid}, separators=(",", ":"))


def group_uid(group_key: str) -> str:
    return "g" + hashlib.blake2b(group_key.encode(), digest_size=8).hexdigest()


def goods_link(goods_id: str) -> str:
    return f"https://mobile.yangkeduo.com/goods.html?goods_id={goods_id}"


class PddLeague:
    name = "pdd"
    platform: Platform = "pdd"

    def __init__(
        self, client: PddClient, *, pid: str = "", we_app: bool = True, cache_seconds: float = 300.0
    ) -> None:
        self.client = client
        self.pid = pid
        self.we_app = we_app
        self.cache_seconds = cache_seconds
        self._cache = TtlCache(cache_seconds)
        self._pasted: dict[str, str] = {}
        """goods_sign → the 进宝 link a member pasted for it (converted with zs.unit.url.gen)."""

    async def aclose(self) -> None:
        await self.client.aclose()

    def _cached(self, key: tuple[Any, ...]) -> Any | None:
        return self._cache.get(key)

    def _keep(self, key: tuple[Any, ...], value: Any) -> None:
        self._cache.put(key, value)

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
        page, list_id = 1, ""
        size = min(PAGE, max(MIN_PAGE, query.limit * 2))  # a margin for goods filtered out
        while len(products) < query.limit:
            data = await self.client.goods_search(
                keyword=query.keyword, page=page, page_size=size, pid=self.pid, list_id=list_id
            )
            goods = data.get("goods_list") or []
            products += [p for p in map(product_from_goods, goods) if query.admits_price(p.final_price_fen)]
            list_id = str(data.get("list_id") or "")
            if len(goods) < size or page * size >= int(data.get("total_count") or 0):
                break
            page += 1
        products = products[: query.limit]
        self._keep(key, tuple(products))
        return products

    async def product(self, product_id: str, shop_id: str = "") -> Product:
        """By goods_sign; a bare number is a legacy goods_id, found through its goods page link."""
        hit = self._cached(("goods", product_id))
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        if product_id.isdigit():
            return await self.lookup_link(goods_link(product_id))
        data = await self.client.goods_detail(product_id, pid=self.pid)
        details = data.get("goods_details") or []
        if not details:
            raise NotPromotable("not_alliance", f"拼多多商品 {product_id} 已不在多多进宝推广中")
        return self._kept(product_from_goods(details[0]))

    async def lookup_link(self, url: str) -> Product:
        data = await self.client.goods_search(keyword=url.strip(), page_size=10, pid=self.pid)
        goods = data.get("goods_list") or []
        if not goods:
            raise ProductNotFound(f"多多进宝找不到这个链接的商品：{url}")
        product = self._kept(product_from_goods(goods[0]))
        if "p.pinduoduo.com" in url or "duo_coupon_landing" in url:
            self._pasted[product.product_id] = url.strip()
        return product

    def _kept(self, product: Product) -> Product:
        if product.commission is None or product.commission.ratio_ppm <= 0:
            raise NotPromotable("not_alliance", f"拼多多商品 {product.product_id} 没有佣金")
        self._keep(("goods", product.product_id), product)
        return product

    async def promote(self, product: Product, spot: Spot) -> PromotionLink:
        pid = spot.pid or self.pid
        custom = spot.tag
        try:
            pasted = self._pasted.pop(product.product_id, "")  # once: the link that was just pasted
            if pasted:
                data = await self.client.convert_url(pasted, pid, custom_parameters=custom)
            else:
                data = await self.client.promotion_url(
                    pid,
                    product.product_id,
                    custom_parameters=custom,
                    search_id=product.promotion_param,
                    we_app=self.we_app,
                )
        except PddGoodsGone as exc:
            raise NotPromotable("not_alliance", str(exc)) from None
        we_app = data.get("we_app_info") or {}
        return PromotionLink(
            product_id=product.product_id,
            spot=spot,
            shop_id=product.shop_id,
            http_short_link=str(
                data.get("short_url") or data.get("mobile_short_url") or data.get("url") or ""
            ),
            mini_path=str(we_app.get("page_path") or ""),
        )

    async def featured(self, category_id: str, limit: int) -> list[Product]:
        """Pushes draw from the 综合 list with coupons first."""
        data = await self.client.goods_search(
            with_coupon=True, page_size=max(10, min(limit * 2, 100)), pid=self.pid
        )
        products = [p for p in map(product_from_goods, data.get("goods_list") or []) if p.commission]
        if category_id:
            products = [p for p in products if p.category == category_id]
        return products[:limit]

    async def categories(self) -> list[Category]:
        return []

    # -- 备案 --------------------------------------------------------------------------------------

    async def registration_link(self, pid: str, custom: str = "") -> str:
        data = await self.client.registration_link(pid or self.pid, custom_parameters=custom)
        return str(data.get("short_url") or data.get("url") or "")

    async def is_registered(self, pid: str, custom: str = "") -> bool:
        return await self.client.is_registered(pid or self.pid, custom_parameters=custom)

    # -- orders and identities ---------------------------------------------------------------------

    async def orders_since(self, since: datetime, until: datetime | None = None) -> list[Order]:
        out: list[Order] = []
        async for row in self.client.orders(since, until or datetime.now(UTC)):
            created = s_time(row.get("order_create_time")) or since
            out.append(
                Order(
                    order_id=str(row.get("order_sn") or row.get("order_id") or ""),
                    sku_id=str(row.get("goods_sign", "")),
                    product_id=str(row.get("goods_sign", "")),
                    title=str(row.get("goods_name", "")),
                    paid_fen=int(row.get("order_amount", 0) or 0),
                    commission_fen=int(row.get("promotion_amount", 0) or 0),
                    status=order_status(
                        int(row.get("order_status", -1) if row.get("order_status") is not None else -1)
                    ),
                    sharer_appid="",
                    created_at=created,
                    updated_at=s_time(row.get("order_modify_at")) or created,
                    pid=str(row.get("p_id", "")),
                    tag=str(row.get("custom_parameters", "")),
                )
            )
        return out

    async def choose_identity(self, group_key: str, taken: set[tuple[str, str]]) -> tuple[str, str]:
        """A new PID for the group (made once: the caller keeps it) and its `custom_parameters`."""
        [made] = await self.client.generate_pids([f"tuike {group_key}"[:64]])
        return str(made["p_id"]), custom_parameters(group_uid(group_key))
