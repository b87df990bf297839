"""The `[shops.shopify]` table: the operator's Shopify shop (a custom app's Admin API token).

Light on purpose (pydantic only): loading the config reads it, and it must not import the client."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator, model_validator

from bot.config import LeagueTable

_SHOP = re.compile(r"^[a-z0-9][a-z0-9\-]*\.myshopify\.com$")
_VERSION = re.compile(r"^(20\d\d-(01|04|07|10)|unstable)$")


class ShopifyShopSettings(LeagueTable):
    """Shopify Admin GraphQL API for one shop; docs/shops.md."""

    enabled: bool = False
    sandbox: bool = True
    shop: str = ""
    """The shop's own domain, `name.myshopify.com`."""
    base_url: str = ""
    """The GraphQL endpoint; empty: `https://{shop}/admin/api/{api_version}/graphql.json`. With
    sandbox = false every call goes here and nowhere else."""
    access_token: SecretStr = SecretStr("")
    """The custom app's Admin API token (`shpat_…`; scopes read_products, read_orders, write_discounts)."""
    api_version: str = "2025-07"
    discount_percent: int = Field(0, ge=0, le=100)
    """A discount code per group giving this much off (0 = no codes: links carry the group's UTM only)."""
    storefront: str = ""
    """Where members open products (the shop's own domain, e.g. `https://shop.example.com`); empty:
    `https://{shop}`."""
    margin_percent: int = Field(0, ge=0, le=100)
    """The operator's margin shown as a product's commission (own goods pay no affiliate commission)."""

    @field_validator("shop")
    @classmethod
    def _myshopify(cls, value: str) -> str:
        value = value.strip().lower().removeprefix("https://").rstrip("/")
        if value and not _SHOP.match(value):
            raise ValueError("the shop's myshopify domain, e.g. 'my-shop.myshopify.com'")
        return value

    @field_validator("api_version")
    @classmethod
    def _quarterly(cls, value: str) -> str:
        if not _VERSION.match(value):
            raise ValueError("a quarterly API version such as '2025-07'")
        return value

    @model_validator(mode="after")
    def _credentials_for_the_real_shop(self) -> ShopifyShopSettings:
        if self.enabled and not self.sandbox and not (self.shop and self.access_token.get_secret_value()):
            raise ValueError(
                "shop and access_token (or TUIKE_SHOPIFY_TOKEN) when sandbox = false "
                "(Shopify 后台 → 设置 → 应用和销售渠道 → 开发应用)"
            )
        return self

    @property
    def endpoint(self) -> str:
        return self.base_url or f"https://{self.shop}/admin/api/{self.api_version}/graphql.json"

    @property
    def store_url(self) -> str:
        return self.storefront or f"https://{self.shop}"
