"""Build the configured leagues, and the one in-process sandbox when any of them selects it.

The sandbox serves every league's wire face on one loopback port; each league package has a
`build_<league>(settings, sandbox_base_url | None, engine)` and a default spot for the operator.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

from sqlalchemy import Engine

from bot.config import Settings
from bot.leagues.base import League, Spot, SpotIssuer
from bot.leagues.wechat.build import SANDBOX_APPID, SANDBOX_SHARER, build_channels, channels_spot

log = logging.getLogger(__name__)

__all__ = [
    "SANDBOX_APPID",
    "SANDBOX_SHARER",
    "default_spots",
    "enabled_leagues",
    "open_leagues",
    "spot_issuers",
]

SANDBOX_SERVER = "tuike_sandbox.server"
"""The simulator lives outside the product (`tuike_sandbox`, same distribution); it is loaded by name
only when a league says `sandbox = true`, so nothing in `bot` imports it (an import-linter contract)."""

Builder = Callable[[Settings, str | None, Engine | None], Any]


def _lazy(module: str, name: str) -> Callable[..., Any]:
    """`module.name`, imported at the first call: a league's client and mapping cost start-up time
    only when it is enabled."""

    def call(*args: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args)

    return call


BUILDERS: dict[str, tuple[Builder, Callable[[Settings], Spot]]] = {
    "channels": (build_channels, channels_spot),  # always needed: its spot is looked up by name
    "union": (
        _lazy("bot.leagues.wechat.union_setup", "build_union"),
        _lazy("bot.leagues.wechat.union_setup", "union_spot"),
    ),
    "taobao": (
        _lazy("bot.leagues.taobao.build", "build_taobao"),
        _lazy("bot.leagues.taobao.build", "taobao_spot"),
    ),
    "jd": (_lazy("bot.leagues.jd.build", "build_jd"), _lazy("bot.leagues.jd.build", "jd_spot")),
    "pdd": (_lazy("bot.leagues.pdd.build", "build_pdd"), _lazy("bot.leagues.pdd.build", "pdd_spot")),
}
"""League name → (build, the operator's default spot). One line per league."""


def enabled_leagues(settings: Settings) -> list[str]:
    return [name for name in BUILDERS if getattr(settings.leagues, name).enabled]


def default_spots(settings: Settings) -> dict[str, Spot]:
    """One Spot per enabled league (Channels always: older callers look it up by name)."""
    names = {"channels", *enabled_leagues(settings)}
    return {name: BUILDERS[name][1](settings) for name in BUILDERS if name in names}


async def open_leagues(settings: Settings, engine: Engine | None, stack: AsyncExitStack) -> dict[str, League]:
    """Leagues by name; everything opened here is closed when `stack` closes."""
    names = enabled_leagues(settings)
    sandbox_url: str | None = None
    if any(getattr(settings.leagues, name).sandbox for name in names):
        SandboxServer = importlib.import_module(SANDBOX_SERVER).SandboxServer
        channels = settings.leagues.channels
        sandbox = await stack.enter_async_context(
            SandboxServer(port=channels.sandbox_port, token_lifetime=channels.sandbox_token_lifetime)
        )
        sandbox.state.reset_faults(
            latency_s=channels.sandbox_latency_ms / 1000, error_rate=channels.sandbox_error_rate
        )
        sandbox_url = sandbox.base_url
        log.info("sandbox leagues serving on %s", sandbox_url)
    leagues: dict[str, League] = {}
    for name in names:
        build = BUILDERS[name][0]
        # built off the event loop: an HTTP client loads the system's CA certificates (~100 ms)
        league = await asyncio.to_thread(
            build, settings, sandbox_url if getattr(settings.leagues, name).sandbox else None, engine
        )
        stack.push_async_callback(league.aclose)
        leagues[league.name] = league
    return leagues


def spot_issuers(leagues: dict[str, League]) -> dict[str, SpotIssuer]:
    """The leagues that give each group its own identity (a Taobao adzone, a PDD PID)."""
    return {
        name: league  # type: ignore[misc]
        for name, league in leagues.items()
        if callable(getattr(league, "choose_identity", None))
    }
