"""`build_pdd`: the PDD league from `[leagues.pdd]` (the sandbox's router face when it serves it)."""

from __future__ import annotations

from sqlalchemy import Engine

from bot.config import Settings
from bot.leagues.base import Spot
from bot.leagues.pdd.client import PddClient
from bot.leagues.pdd.league import PddLeague
from bot.leagues.pdd.sandbox_account import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_PID, PATH


def pdd_spot(settings: Settings) -> Spot:
    """The operator's default identity: the configured PID (the sandbox member's when none is set)."""
    pdd = settings.leagues.pdd
    return Spot("pdd", pid=pdd.pid or (DEFAULT_PID if pdd.sandbox else ""))


def build_pdd(settings: Settings, sandbox_base_url: str | None, engine: Engine | None) -> PddLeague:
    pdd = settings.leagues.pdd
    url, client_id, secret, pid = pdd.base_url, pdd.client_id, pdd.client_secret.get_secret_value(), pdd.pid
    if sandbox_base_url is not None:
        url = sandbox_base_url + PATH
        # the sandbox's own member and its registered PID, whatever is configured
        client_id, secret, pid = DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_PID
    client = PddClient(url, client_id, secret, timeout=pdd.timeout_seconds, max_retries=pdd.max_retries)
    return PddLeague(client, pid=pid)
