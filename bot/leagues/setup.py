"""Build the configured leagues (and the in-process sandbox when the config selects it)."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack

from sqlalchemy import Engine

from bot.config import Settings
from bot.leagues.base import League, Spot
from bot.leagues.sandbox.server import SandboxServer
from bot.leagues.wechat.client import ChannelsClient
from bot.leagues.wechat.league import ChannelsLeague

log = logging.getLogger(__name__)

SANDBOX_APPID = "wx_sandbox_org"
SANDBOX_SHARER = "wx_sharer_demo01"


def default_spots(settings: Settings) -> dict[str, Spot]:
    channels = settings.leagues.channels
    sharer = channels.sharer_appid or (SANDBOX_SHARER if channels.sandbox else "")
    return {"channels": Spot("channels", sharer_appid=sharer)}


async def open_leagues(settings: Settings, engine: Engine | None, stack: AsyncExitStack) -> dict[str, League]:
    """Leagues by name; everything opened here is closed when `stack` closes."""
    leagues: dict[str, League] = {}
    channels = settings.leagues.channels
    if channels.enabled:
        base_url, appid, secret = channels.base_url, channels.appid, channels.secret.get_secret_value()
        if channels.sandbox:
            sandbox = await stack.enter_async_context(
                SandboxServer(port=channels.sandbox_port, token_lifetime=channels.sandbox_token_lifetime)
            )
            sandbox.state.reset_faults(
                latency_s=channels.sandbox_latency_ms / 1000, error_rate=channels.sandbox_error_rate
            )
            base_url, appid, secret = sandbox.base_url, appid or SANDBOX_APPID, secret or "sandbox"
            log.info("sandbox league serving on %s", sandbox.base_url)
        # built off the event loop: an HTTP client loads the system's CA certificates (~100 ms)
        client = await asyncio.to_thread(
            ChannelsClient,
            base_url,
            appid,
            secret,
            token_mode=channels.token_mode,
            engine=engine,
            timeout=channels.timeout_seconds,
            max_retries=channels.max_retries,
        )
        league = ChannelsLeague(
            client,
            mini_program_appid=channels.mini_program_appid or ("wx_sandbox_mp" if channels.sandbox else ""),
        )
        stack.push_async_callback(league.aclose)
        leagues[league.name] = league
    return leagues
