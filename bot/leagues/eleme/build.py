"""`build_eleme`: the Ele.me league from `[leagues.eleme]` (the sandbox's TOP face when it serves it)."""

from __future__ import annotations

from sqlalchemy import Engine

from bot.config import Settings
from bot.leagues.base import Spot
from bot.leagues.eleme.client import ElemeClient
from bot.leagues.eleme.league import ElemeLeague
from bot.leagues.eleme.sandbox_account import PATH, SANDBOX_APP_KEY, SANDBOX_APP_SECRET, SANDBOX_PID


def eleme_spot(settings: Settings) -> Spot:
    """The operator's own identity: no sid (its links' orders belong to no group)."""
    return Spot("eleme")


def build_eleme(settings: Settings, sandbox_base_url: str | None, engine: Engine | None) -> ElemeLeague:
    eleme = settings.leagues.eleme
    url, key, secret, pid = eleme.base_url, eleme.app_key, eleme.app_secret.get_secret_value(), eleme.pid
    if sandbox_base_url is not None:
        url = sandbox_base_url + PATH
        key, secret = SANDBOX_APP_KEY, SANDBOX_APP_SECRET  # the sandbox's own app, whatever is configured
        pid = pid or SANDBOX_PID
    client = ElemeClient(
        url,
        key,
        secret,
        sign_method=eleme.sign_method,
        timeout=eleme.timeout_seconds,
        max_retries=eleme.max_retries,
    )
    return ElemeLeague(client, pid=pid, activity_ids=eleme.activity_ids)
