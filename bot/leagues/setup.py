"""Build the configured leagues from the registry, and the one in-process sandbox when any selects it.

The sandbox serves every league's wire face on one loopback port; each league's plug-in names its
builder `build(settings, sandbox_base_url | None, engine)` and the operator's default spot.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from contextlib import AsyncExitStack

from sqlalchemy import Engine

from bot.config import Settings
from bot.leagues import registry
from bot.leagues.base import League, Spot
from bot.leagues.capabilities import IssuesSpots

log = logging.getLogger(__name__)

__all__ = [
    "default_spots",
    "enabled_leagues",
    "open_leagues",
    "spot_issuers",
]

SANDBOX_SERVER = "tuike_sandbox.server"
"""The simulator lives outside the product (`tuike_sandbox`, same distribution); it is loaded by name
only when a league says `sandbox = true`, so nothing in `bot` imports it (an import-linter contract)."""


def enabled_leagues(settings: Settings) -> list[str]:
    return [plugin.name for plugin in registry.LEAGUES if plugin.enabled(settings)]


def default_spots(settings: Settings) -> dict[str, Spot]:
    """One Spot per enabled league (and the leagues whose spot older callers look up by name)."""
    return {p.name: p.spot(settings) for p in registry.LEAGUES if p.always_spot or p.enabled(settings)}


async def open_leagues(settings: Settings, engine: Engine | None, stack: AsyncExitStack) -> dict[str, League]:
    """Leagues by name; everything opened here is closed when `stack` closes."""
    plugins = [plugin for plugin in registry.LEAGUES if plugin.enabled(settings)]
    sandbox_url: str | None = None
    if any(plugin.table(settings).sandbox for plugin in plugins):
        SandboxServer = importlib.import_module(SANDBOX_SERVER).SandboxServer
        knobs = registry.LEAGUES[0].table(settings)  # the first league's table holds the sandbox's own knobs
        sandbox = await stack.enter_async_context(
            SandboxServer(port=knobs.sandbox_port, token_lifetime=knobs.sandbox_token_lifetime)
        )
        sandbox.state.reset_faults(
            latency_s=knobs.sandbox_latency_ms / 1000, error_rate=knobs.sandbox_error_rate
        )
        sandbox_url = sandbox.base_url
        log.info("sandbox leagues serving on %s", sandbox_url)
    leagues: dict[str, League] = {}
    for plugin in plugins:
        # built off the event loop: an HTTP client loads the system's CA certificates (~100 ms)
        league = await asyncio.to_thread(
            plugin.make, settings, sandbox_url if plugin.table(settings).sandbox else None, engine
        )
        stack.push_async_callback(league.aclose)
        leagues[league.name] = league
    return leagues


def spot_issuers(leagues: dict[str, League]) -> dict[str, IssuesSpots]:
    """The leagues that give each group its own identity (a Taobao adzone, a PDD PID)."""
    return {name: league for name, league in leagues.items() if isinstance(league, IssuesSpots)}
