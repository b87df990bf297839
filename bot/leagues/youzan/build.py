"""`build_youzan`: the operator's Youzan shop from `[shops.youzan]` (the sandbox's face when it serves it)."""

from __future__ import annotations

from sqlalchemy import Engine

from bot.config import Settings
from bot.leagues.base import Spot
from bot.leagues.youzan.client import YouzanClient
from bot.leagues.youzan.league import YouzanShop
from bot.leagues.youzan.sandbox_account import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_KDT_ID, PATH


def youzan_spot(settings: Settings) -> Spot:
    """The operator's default: no salesman (the item's own page); each group gets its own salesman."""
    return Spot("youzan")


def build_youzan(settings: Settings, sandbox_base_url: str | None, engine: Engine | None) -> YouzanShop:
    shop = settings.shops.youzan
    url, client_id, secret, kdt = (
        shop.base_url,
        shop.client_id,
        shop.client_secret.get_secret_value(),
        shop.kdt_id,
    )
    if sandbox_base_url is not None:  # the sandbox's own app and shop, whatever is configured
        url, client_id, secret, kdt = (
            sandbox_base_url + PATH,
            DEFAULT_CLIENT_ID,
            DEFAULT_CLIENT_SECRET,
            DEFAULT_KDT_ID,
        )
    client = YouzanClient(
        url, client_id, secret, kdt, timeout=shop.timeout_seconds, max_retries=shop.max_retries
    )
    return YouzanShop(client, margin_ppm=shop.margin_percent * 10_000, engine=engine)
