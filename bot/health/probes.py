"""The part of `tuike check` that contacts what the config points at: the chat platforms (each channel's
plug-in probes its own: `ChannelPlugin.probe`), the real leagues. Each probe is one cheap call with a
short timeout and says what is wrong in one line.

Also the refusals that need no network: a real chat channel with a sandbox league (simulated links in
real groups), and what a channel checks of itself (`ChannelPlugin.check`: e.g. the legacy Wechaty
channel without its optional extra).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import AsyncExitStack

import httpx
from sqlalchemy import Engine

from bot.chat import registry
from bot.config import Settings, plugin_tables, sandbox_in_real_chat
from bot.leagues.base import League, LeagueError, SearchQuery, Spot

Line = tuple[bool, str]
PROBE_SECONDS = 5.0


def refusals(settings: Settings) -> Iterator[Line]:
    refusal = sandbox_in_real_chat(settings)
    if refusal:
        yield False, f"chat: {refusal}"
    for kind, channel in registry.CHANNELS.items():  # e.g. the legacy Wechaty channel without its extra
        if kind in settings.chat.kinds:
            yield from channel.check_offline(settings.chat.of(kind))


async def probe_league(league: League) -> Exception | None:
    """One cheap authenticated call to `league` (a one-item search): None when it answered, else what
    went wrong — the league's refusal, a timeout, a transport fault. `tuike check` and the console's
    "测试凭据" both ask this."""
    from bot.leagues.capabilities import HasTakeout

    try:
        if isinstance(league, HasTakeout):  # no products to search: its coupon links (the operator's own)
            await asyncio.wait_for(league.takeout_links(Spot(league.name)), PROBE_SECONDS * 3)
        else:
            await asyncio.wait_for(league.search(SearchQuery(keyword="手机", limit=1)), PROBE_SECONDS * 3)
    except (LeagueError, TimeoutError, httpx.HTTPError) as exc:
        return exc
    return None


async def _leagues(settings: Settings, engine: Engine | None) -> list[Line]:
    from bot.leagues.setup import open_leagues

    real = [name for name, table in plugin_tables(settings).items() if table.enabled and not table.sandbox]
    if not real:
        return []
    lines: list[Line] = []
    async with AsyncExitStack() as stack:
        try:
            leagues = await open_leagues(settings, engine, stack)
        except Exception as exc:
            return [(False, f"leagues: could not be set up: {type(exc).__name__}: {exc}".splitlines()[0])]
        for name in real:
            league = leagues.get(name)
            if league is None:
                continue
            failure = await probe_league(league)
            if failure is not None:
                lines.append(
                    (
                        False,
                        f"league {name}: one search failed: {type(failure).__name__}: {failure}".splitlines()[
                            0
                        ],
                    )
                )
            else:
                lines.append((True, f"league {name}: credentials accepted (one search)"))
                lines += await _funds(name, league)
    return lines


async def _funds(name: str, league: League) -> list[Line]:
    """The funds permission, said here once (a sync never repeats it): without it reconciliation (对账)
    cannot run, the bot itself can."""
    from bot.leagues.capabilities import HasFunds
    from bot.leagues.organisation import NotPermitted

    if not isinstance(league, HasFunds):
        return []
    try:
        await asyncio.wait_for(league.funds_balance(), PROBE_SECONDS * 3)
    except NotPermitted as exc:
        return [(True, f"league {name}: {exc} (no funds permission: `tuike funds` and 对账 are unavailable)")]
    except (LeagueError, TimeoutError, httpx.HTTPError) as exc:
        return [(False, f"league {name}: funds balance failed: {type(exc).__name__}: {exc}".splitlines()[0])]
    return [(True, f"league {name}: funds readable (对账 available)")]


def live_checks(settings: Settings, engine: Engine | None) -> Iterator[Line]:
    """Contact the configured chat platforms and real leagues (not the sandbox, not the console)."""

    async def probe() -> list[Line]:
        lines: list[Line] = []
        for kind, channel in registry.CHANNELS.items():
            if kind in settings.chat.kinds:
                for table in settings.chat.of(kind).per_account():  # each account, when there are several
                    lines += await channel.check_online(table, engine, PROBE_SECONDS)
        lines += await _leagues(settings, engine)
        return lines

    yield from asyncio.run(probe())
