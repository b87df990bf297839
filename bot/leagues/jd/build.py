"""`build_jd`: the JD league from `[leagues.jd]` (the sandbox's JOS face when it serves it)."""

from __future__ import annotations

from sqlalchemy import Engine

from bot.config import Settings
from bot.leagues.base import Spot
from bot.leagues.jd.client import JdClient
from bot.leagues.jd.league import JdLeague
from bot.leagues.jd.sandbox_account import (
    DEFAULT_APP_KEY,
    DEFAULT_APP_SECRET,
    PATH,
    SOCIAL_SITE_ID,
    WEBSITE_SITE_ID,
)

SANDBOX_POSITION = "3100012345"


def jd_spot(settings: Settings) -> Spot:
    """The operator's default identity: the configured positionId (the sandbox's when none is set)."""
    jd = settings.leagues.jd
    return Spot("jd", pid=jd.position_id or (SANDBOX_POSITION if jd.sandbox else ""))


def build_jd(settings: Settings, sandbox_base_url: str | None, engine: Engine | None) -> JdLeague:
    jd = settings.leagues.jd
    url, key, secret = jd.base_url, jd.app_key, jd.app_secret.get_secret_value()
    position, site = jd.position_id, jd.site_id
    if sandbox_base_url is not None:
        url = sandbox_base_url + PATH
        key, secret = DEFAULT_APP_KEY, DEFAULT_APP_SECRET  # the sandbox's own app, whatever is configured
        position = position or SANDBOX_POSITION
        site = site or (WEBSITE_SITE_ID if jd.link_api == "common" else SOCIAL_SITE_ID)
    client = JdClient(url, key, secret, timeout=jd.timeout_seconds, max_retries=jd.max_retries)
    return JdLeague(client, position_id=position, site_id=site, link_api=jd.link_api)
