"""The shopify shop's plug-in: the operator's own Shopify shop: its products beside affiliate deals, a
UTM campaign (and discount code) per group, orders attributed by either."""

from __future__ import annotations

from datetime import timedelta

from bot.leagues.plugin import LeaguePlugin
from bot.leagues.shopify.links import HOSTS
from bot.leagues.shopify.settings import ShopifyShopSettings

SHOPIFY = LeaguePlugin(
    name="shopify",
    display_name="自营",
    short_name="Shopify",
    settings=ShopifyShopSettings,
    build="bot.leagues.shopify.build:build_shopify",
    default_spot="bot.leagues.shopify.build:shopify_spot",
    env={"TUIKE_SHOPIFY_TOKEN": "access_token"},
    order_window=timedelta(days=7),
    identity_label="Shopify 群标识",
    color="#5e8e3e",
    link_hosts=HOSTS,
    links="bot.leagues.shopify.links:recognise_link",
    own_hosts="bot.leagues.shopify.links:own_hosts",
    section="shops",
)
