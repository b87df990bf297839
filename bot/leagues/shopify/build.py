"""`build_shopify`: the operator's Shopify shop from `[shops.shopify]` (the sandbox's face when it serves it)."""

from __future__ import annotations

from sqlalchemy import Engine

from bot.config import Settings
from bot.leagues.base import Spot
from bot.leagues.shopify.client import ShopifyClient
from bot.leagues.shopify.league import ShopifyShop
from bot.leagues.shopify.sandbox_account import DEFAULT_SHOP, DEFAULT_TOKEN, PATH

CONTEXT_SINCE = "2025-04"
"""From this API version a discount's buyers are `context`, before it `customerSelection`."""


def shopify_spot(settings: Settings) -> Spot:
    """The operator's default: links with `utm_source=tuike` and no campaign (no group)."""
    return Spot("shopify")


def build_shopify(settings: Settings, sandbox_base_url: str | None, engine: Engine | None) -> ShopifyShop:
    shop = settings.shops.shopify
    endpoint, token, domain = shop.endpoint, shop.access_token.get_secret_value(), shop.shop
    store = shop.store_url
    if sandbox_base_url is not None:  # the sandbox's own shop, whatever is configured
        endpoint = f"{sandbox_base_url}{PATH}/admin/api/{shop.api_version}/graphql.json"
        token, domain, store = DEFAULT_TOKEN, DEFAULT_SHOP, f"https://{DEFAULT_SHOP}"
    client = ShopifyClient(endpoint, token, timeout=shop.timeout_seconds, max_retries=shop.max_retries)
    return ShopifyShop(
        client,
        store_url=store,
        shop_domain=domain,
        discount_percent=shop.discount_percent,
        margin_ppm=shop.margin_percent * 10_000,
        context_buyers=shop.api_version >= CONTEXT_SINCE,
    )
