"""`build_taobao`: the Taobao league from `[leagues.taobao]` (the sandbox's TOP face when it serves it)."""

from __future__ import annotations

from sqlalchemy import Engine

from bot.config import Settings
from bot.leagues.base import Spot
from bot.leagues.taobao.client import TopClient
from bot.leagues.taobao.league import TaobaoLeague
from bot.leagues.taobao.sandbox_account import (
    SANDBOX_APP_KEY,
    SANDBOX_APP_SECRET,
    SANDBOX_MEMBER,
    SANDBOX_SITE,
)

SANDBOX_PID = f"mm_{SANDBOX_MEMBER}_{SANDBOX_SITE}_110000000001"
SANDBOX_ADZONES = tuple(str(110_000_000_002 + i) for i in range(200))
"""With no adzones configured the sandbox gives each group one of these (the face accepts any)."""


def taobao_spot(settings: Settings) -> Spot:
    """The operator's default identity: the configured PID (the sandbox's when none is set)."""
    taobao = settings.leagues.taobao
    return Spot("taobao", pid=taobao.pid or (SANDBOX_PID if taobao.sandbox else ""))


def build_taobao(settings: Settings, sandbox_base_url: str | None, engine: Engine | None) -> TaobaoLeague:
    taobao = settings.leagues.taobao
    url, key, secret = taobao.base_url, taobao.app_key, taobao.app_secret.get_secret_value()
    pid, adzones = taobao.pid, taobao.adzones
    if sandbox_base_url is not None:
        url = sandbox_base_url + "/router/rest"
        key, secret = SANDBOX_APP_KEY, SANDBOX_APP_SECRET  # the sandbox's own app, whatever is configured
        pid = pid or SANDBOX_PID
        adzones = adzones or SANDBOX_ADZONES
    client = TopClient(
        url,
        key,
        secret,
        sign_method=taobao.sign_method,
        session=taobao.session.get_secret_value(),
        timeout=taobao.timeout_seconds,
        max_retries=taobao.max_retries,
    )
    return TaobaoLeague(client, pid=pid, adzones=adzones)
