"""Shopify links a member may paste: a product page of a `*.myshopify.com` shop, or a page of it that is
no one product (the home page, a collection) — recognised so the member hears it is not a product
(`not_product="shop_home"`). A shop's own custom domain (`storefront`, e.g. shop.example.com) is read
the same way once the config names it (`own_hosts`). Pure and linear: anchored patterns, no I/O."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot.leagues.links import LinkMatch

if TYPE_CHECKING:
    from bot.leagues.shopify.settings import ShopifyShopSettings

HOSTS = ("myshopify.com",)
_PRODUCT = re.compile(
    r"^/(?:[a-z]{2}(?:-[a-zA-Z]{2})?/)?(?:collections/[^/]+/)?products/([A-Za-z0-9\-_.%]{1,200})/?$"
)


def recognise_link(host: str, path: str, query: str) -> LinkMatch | None:
    if host == "myshopify.com":
        return None
    m = _PRODUCT.match(path)
    if m:
        return LinkMatch("item", m.group(1))
    if not path.strip("/") or path.startswith(("/collections", "/pages/", "/discount/")):
        return LinkMatch("short_link", not_product="shop_home")
    return None


def own_hosts(table: ShopifyShopSettings) -> tuple[str, ...]:
    """The shop's own storefront domain, when it has one besides `*.myshopify.com`."""
    host = (urlsplit(table.storefront).hostname or "").lower().rstrip(".") if table.storefront else ""
    return (host,) if host and not host.endswith(".myshopify.com") else ()
