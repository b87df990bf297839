"""`build_vip`: the Vipshop union league from `[leagues.vip]` (the sandbox's vop face when it serves it)."""

from __future__ import annotations

from sqlalchemy import Engine

from bot.config import Settings
from bot.leagues.base import Spot
from bot.leagues.vip.client import VipClient
from bot.leagues.vip.league import VipLeague
from bot.leagues.vip.sandbox_account import DEFAULT_APP_KEY, DEFAULT_APP_SECRET, PATH


def vip_spot(settings: Settings) -> Spot:
    """The operator's default identity: no PID (such links credit the developer's own account); each
    group gets a PID of its own on first use."""
    return Spot("vip")


def build_vip(settings: Settings, sandbox_base_url: str | None, engine: Engine | None) -> VipLeague:
    vip = settings.leagues.vip
    url, key = vip.base_url, vip.app_key
    secret, token = vip.app_secret.get_secret_value(), vip.access_token.get_secret_value()
    if sandbox_base_url is not None:
        url = sandbox_base_url + PATH
        # the sandbox's own app, whatever is configured
        key, secret, token = DEFAULT_APP_KEY, DEFAULT_APP_SECRET, ""
    client = VipClient(
        url, key, secret, access_token=token, timeout=vip.timeout_seconds, max_retries=vip.max_retries
    )
    return VipLeague(client)
