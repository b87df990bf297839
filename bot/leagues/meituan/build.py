"""`build_meituan`: the Meituan league from `[leagues.meituan]` (the sandbox's face when it serves it)."""

from __future__ import annotations

from sqlalchemy import Engine

from bot.config import Settings
from bot.leagues.base import Spot
from bot.leagues.meituan.client import MeituanClient
from bot.leagues.meituan.league import MeituanLeague
from bot.leagues.meituan.sandbox_account import PATH, SANDBOX_ACT_IDS, SANDBOX_APP_KEY, SANDBOX_APP_SECRET


def meituan_spot(settings: Settings) -> Spot:
    """The operator's own identity: no sid (its links' orders belong to no group)."""
    return Spot("meituan")


def build_meituan(settings: Settings, sandbox_base_url: str | None, engine: Engine | None) -> MeituanLeague:
    meituan = settings.leagues.meituan
    url, key, secret = meituan.base_url, meituan.app_key, meituan.app_secret.get_secret_value()
    act_ids = meituan.act_ids
    if sandbox_base_url is not None:
        url = sandbox_base_url + PATH
        key, secret = SANDBOX_APP_KEY, SANDBOX_APP_SECRET  # the sandbox's own app, whatever is configured
        act_ids = act_ids or SANDBOX_ACT_IDS
    client = MeituanClient(url, key, secret, timeout=meituan.timeout_seconds, max_retries=meituan.max_retries)
    return MeituanLeague(client, act_ids=act_ids)
