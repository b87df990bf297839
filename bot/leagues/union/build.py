"""`build_union`: the mini-program union league from `[leagues.union]` (the sandbox's URL when it serves it)."""

from __future__ import annotations

from sqlalchemy import Engine

from bot.config import Settings
from bot.leagues.base import Spot
from bot.leagues.union.client import UnionClient
from bot.leagues.union.league import UnionLeague

SANDBOX_UNION_APPID = "wx_sandbox_union"
"""The promoter account the sandbox knows when `[leagues.union] appid` is left empty."""


def union_spot(settings: Settings) -> Spot:
    """The operator's default: no pid, so links go through the account's shared default spot."""
    return Spot("union")


def build_union(settings: Settings, sandbox_base_url: str | None, engine: Engine | None) -> UnionLeague:
    union = settings.leagues.union
    base_url, appid, secret = union.base_url, union.appid, union.secret.get_secret_value()
    if sandbox_base_url is not None:
        base_url, appid, secret = sandbox_base_url, appid or SANDBOX_UNION_APPID, secret or "sandbox"
    client = UnionClient(
        base_url,
        appid,
        secret,
        token_mode=union.token_mode,
        # The sandbox forgets its tokens when the process ends: a stored one would only be refused.
        engine=None if sandbox_base_url is not None else engine,
        timeout=union.timeout_seconds,
        max_retries=union.max_retries,
    )
    return UnionLeague(client)
