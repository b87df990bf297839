"""`ShopifyShop`: the operator's Shopify shop behind the `League` protocol, and the issuer of each
group's identity.

Attribution: each group gets a tag (its `utm_campaign`) and, when `discount_percent` is set, a
discount code of its own (`discountCodeBasicCreate`, made once and kept in the store: pid = the code,
tag = the campaign). A group's links carry `utm_source=tuike&utm_campaign=<tag>` (through the shop's
discount link when it has a code). Order sync reads the shop's orders and names each one's group by the
code it used, else by the UTM campaign of the visit that led to it (`customerJourneySummary`).

A shop is a league that sells its own goods: a product's commission is the operator's margin
(`margin_percent`, 0 by default). Prices stay in the shop's currency; a shop not in yuan says which
currency is shown (a badge on every product) instead of converting silently.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from bot.leagues.base import (
    Category,
    LeagueUnavailable,
    NotPromotable,
    Order,
    Platform,
    Product,
    ProductNotFound,
    PromotionLink,
    SearchQuery,
    Spot,
)
from bot.leagues.shop_search import cached_search
from bot.leagues.shopify.client import ShopifyClient, ShopifyThrottled, ShopifyUserError
from bot.leagues.shopify.mapping import (
    group_code,
    group_tag,
    order_from_node,
    product_from_node,
    product_url,
    why_not_promotable,
)
from bot.leagues.ttlcache import TtlCache

log = logging.getLogger(__name__)

HANDLE = re.compile(
    r"^/(?:[a-z]{2}(?:-[a-zA-Z]{2})?/)?(?:collections/[^/]+/)?products/([A-Za-z0-9\-_%.]+)/?$"
)
"""A product page: `/products/<handle>` (also under a collection or a language prefix)."""
_UNSAFE = re.compile(r"[\"'\\:()]")


def handle_of_url(url: str) -> str:
    parts = urlsplit(url.strip() if "://" in url else "https://" + url.strip())
    m = HANDLE.match(parts.path)
    return m.group(1) if m else ""


class ShopProductGone(ProductNotFound):
    """A product taken off the shop (draft, archived, unpublished, sold out, deleted)."""


class ShopifyShop:
    name = "shopify"
    platform: Platform = "shopify"

    def __init__(
        self,
        client: ShopifyClient,
        *,
        store_url: str,
        shop_domain: str = "",
        discount_percent: int = 0,
        margin_ppm: int = 0,
        context_buyers: bool = True,
        cache_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.store_url = store_url.rstrip("/")
        self.hosts = {h for h in (urlsplit(self.store_url).hostname, shop_domain) if h}
        """This shop's own hosts: a pasted page of another myshopify shop is not ours."""
        self.discount_percent = discount_percent
        self.margin_ppm = margin_ppm
        self.context_buyers = context_buyers
        self._cache = TtlCache(cache_seconds, clock=clock)
        self._currency = ""

    async def aclose(self) -> None:
        await self.client.aclose()

    async def currency(self) -> str:
        """The shop's currency (asked once)."""
        if not self._currency:
            self._currency = str((await self.client.shop()).get("currencyCode") or "CNY")
        return self._currency

    # -- products ------------------------------------------------------------------------------------

    async def search(self, query: SearchQuery) -> list[Product]:
        """Active products matching the keyword (the newest with none: a push's picks)."""
        words = _UNSAFE.sub(" ", query.keyword).strip()
        key = ("search", words, query.limit, query.min_price_fen, query.max_price_fen)

        async def fetch() -> list[Product]:
            currency = await self.currency()
            nodes = await self.client.products(f"{words} status:active".strip(), max(query.limit * 2, 10))
            return [
                product_from_node(node, currency, self.margin_ppm)
                for node in nodes
                if not why_not_promotable(node)
            ]

        return await cached_search(
            self._cache,
            key,
            query,
            fetch,
            unavailable=ShopifyThrottled,
            product_key="product",
            degraded="shopify: throttled",
        )

    async def product(self, product_id: str, shop_id: str = "") -> Product:
        """By the numeric id, or by the handle of its page."""
        ident = product_id.strip()
        hit = self._cache.get(("product", ident))
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        if ident.isdigit():
            node = await self.client.product(ident)
        elif ident:
            node = await self.client.product_by_handle(ident)
        else:
            raise ProductNotFound("Shopify 商品 id 是空的")
        if node is None:
            raise ShopProductGone(f"店铺里没有这个商品（可能已删除）：{ident}")
        why = why_not_promotable(node)
        if why:
            raise ShopProductGone(f"店铺的商品 {ident} {why}")
        p = product_from_node(node, await self.currency(), self.margin_ppm)
        self._cache.put(("product", p.product_id), p)
        return p

    async def lookup_link(self, url: str) -> Product:
        """A pasted product page of this shop (`/products/<handle>`); a page of another shop is not ours."""
        host = (urlsplit(url if "://" in url else "https://" + url).hostname or "").lower()
        if host.endswith(".myshopify.com") and host not in self.hosts:
            raise NotPromotable("not_own_shop", f"这不是本店的商品：{url}")
        handle = handle_of_url(url)
        if not handle:
            raise ProductNotFound(f"这不是 Shopify 商品页：{url}")
        return await self.product(handle)

    async def promote(self, product: Product, spot: Spot) -> PromotionLink:
        """The product's page with the group's UTM campaign (and its discount code, when it has one)."""
        url = product_url(self.store_url, product.shop_id, spot.tag, spot.pid)
        return PromotionLink(
            product_id=product.product_id,
            spot=spot,
            shop_id=product.shop_id,
            http_short_link=url,
            code=spot.pid,
        )

    async def featured(self, category_id: str, limit: int) -> list[Product]:
        """Pushes draw from the shop's active products (a category is a product type)."""
        picks = await self.search(SearchQuery(limit=max(limit * 2, limit)))
        return [p for p in picks if not category_id or p.category == category_id][:limit]

    async def categories(self) -> list[Category]:
        return []

    # -- identities and orders -----------------------------------------------------------------------

    async def choose_identity(self, group_key: str, taken: set[tuple[str, str]]) -> tuple[str, str]:
        return await self.choose_named_identity(group_key, "", taken)

    async def choose_named_identity(
        self, group_key: str, group_name: str, taken: set[tuple[str, str]]
    ) -> tuple[str, str]:
        """(discount code or "", campaign tag) for a group, the code made once (the caller keeps it)."""
        tag = group_tag(group_key)
        code = group_code(group_key) if self.discount_percent else ""
        if any(held_tag == tag or (code and held == code) for held, held_tag in taken):
            raise LeagueUnavailable(f"Shopify 群标识 {tag} 已被别的群占用")
        if code:
            title = f"推客 {group_name[:40]} {self.discount_percent}% off".replace("  ", " ")
            starts = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
            try:
                await self.client.create_discount(
                    code, title, self.discount_percent, starts, context=self.context_buyers
                )
            except ShopifyUserError as exc:
                if "TAKEN" not in exc.codes and not any(
                    "taken" in str(e.get("message", "")).lower() for e in exc.errors
                ):
                    raise
                log.info("shopify: discount code %s already exists; the group keeps it", code)
        return code, tag

    async def orders_since(self, since: datetime, until: datetime | None = None) -> list[Order]:
        """The shop's orders updated from `since` to `until` (now); each names its group's code or
        campaign (orders through neither stay unattributed)."""
        end = until or datetime.now(UTC)
        nodes = await self.client.orders(_iso(since), _iso(end))
        return [order_from_node(node, self.margin_ppm) for node in nodes]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
