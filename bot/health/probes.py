"""The part of `tuike check` that contacts what the config points at: the chat gateway, the iLink API,
the real leagues. Each probe is one cheap call with a short timeout and says what is wrong in one line.

Also the two refusals that need no network: a real chat channel with a sandbox league (simulated links
in real groups) and the legacy Wechaty channel without its optional extra.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
from collections.abc import Iterator
from contextlib import AsyncExitStack
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Engine

from bot.chat.gateway import GatewayClient, GatewayError
from bot.chat.ilink import CURSOR_KEY, TOKEN_KEY, IlinkClient, IlinkError
from bot.config import Settings, plugin_tables, sandbox_in_real_chat
from bot.leagues.base import League, LeagueError, SearchQuery
from bot.store import chat_state

Line = tuple[bool, str]
PROBE_SECONDS = 5.0


def refusals(settings: Settings) -> Iterator[Line]:
    refusal = sandbox_in_real_chat(settings)
    if refusal:
        yield False, f"chat: {refusal}"
    if "wechaty" in settings.chat.kinds:
        from bot.chat.wechaty import INSTALL_HINT, wechaty_installed

        if wechaty_installed():
            yield True, "wechaty: the legacy extra is installed (python-wechaty 2022, unmaintained)"
        else:
            yield False, f"wechaty: {INSTALL_HINT}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


async def _gateway(settings: Settings) -> list[Line]:
    gw = settings.chat.gateway
    client = GatewayClient(
        gw.base_url, gw.token.get_secret_value(), gw.app_id, timeout=PROBE_SECONDS, retry_delays=()
    )
    lines: list[Line] = []
    try:
        online = await client.is_online()
    except GatewayError as exc:
        if exc.unreachable:
            lines.append((False, f"gateway: {gw.base_url} unreachable: {exc}"))
        else:
            lines.append((False, f"gateway: {gw.base_url} refused the token or app_id: {exc}"))
        return lines
    finally:
        await client.aclose()
    if online:
        lines.append((True, f"gateway: {gw.base_url} reachable, account {gw.app_id} logged in"))
    else:
        lines.append(
            (False, f"gateway: account {gw.app_id} is not logged in: `tuike run` shows its login QR code")
        )
    return lines


def _webhook(settings: Settings) -> Iterator[Line]:
    gw = settings.chat.gateway
    gateway_host = urlsplit(gw.base_url).hostname or ""
    callback = gw.callback_url or f"http://{gw.listen}/gateway/callback"
    callback_host = urlsplit(callback).hostname or ""
    if _is_loopback(callback_host) and not _is_loopback(gateway_host):
        yield (
            False,
            f"webhook: the gateway at {gateway_host} cannot call {callback_host}: set [chat.gateway] "
            "callback_url to an address it can reach (and listen on an interface behind it)",
        )
    if gw.listen_port == 0:
        return
    family = socket.AF_INET6 if ":" in gw.listen_host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((gw.listen_host, gw.listen_port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                yield True, f"webhook: something already listens on {gw.listen} (the running bot?)"
            else:
                yield False, f"webhook: cannot listen on {gw.listen}: {exc.strerror}"
            return
    yield (
        True,
        f"webhook: {gw.listen} is free for the bot's server; the gateway will call {callback.split('?')[0]}",
    )


async def _ilink(settings: Settings, engine: Engine | None) -> list[Line]:
    il = settings.chat.ilink
    account = f"ilink:{il.account}"
    token = il.token.get_secret_value()
    base_url = il.base_url
    cursor = ""
    if engine is not None:

        def kept(key: str) -> str:
            return chat_state.get(engine, account, key) or ""

        token = token or await asyncio.to_thread(kept, TOKEN_KEY)
        cursor = await asyncio.to_thread(kept, CURSOR_KEY)
        base_url = await asyncio.to_thread(kept, "base_url") or base_url
    if not token:
        return [(True, "iLink: no bot token yet: `tuike run` shows the login QR code and keeps the token")]
    client = IlinkClient(base_url, token, timeout=PROBE_SECONDS)
    try:
        # the server holds a long poll with a good token and answers -14 at once with a bad one; the
        # stored cursor is sent and not advanced, so the bot misses nothing
        await client.get_updates(cursor, hold=3.0)
    except httpx.TimeoutException:
        return [(True, f"iLink: {base_url} accepted the bot token (long poll held)")]
    except IlinkError as exc:
        if exc.session_expired:
            return [
                (
                    False,
                    "iLink: the bot token has expired (errcode -14): `tuike run` shows a new login QR code",
                )
            ]
        return [(False, f"iLink: {exc}")]
    finally:
        await client.aclose()
    return [(True, f"iLink: {base_url} accepted the bot token")]


async def probe_league(league: League) -> Exception | None:
    """One cheap authenticated call to `league` (a one-item search): None when it answered, else what
    went wrong — the league's refusal, a timeout, a transport fault. `tuike check` and the console's
    "测试凭据" both ask this."""
    try:
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
    """Contact the configured gateway, iLink and real leagues (not the sandbox, not the console)."""
    kinds = settings.chat.kinds

    async def probe() -> list[Line]:
        lines: list[Line] = []
        if "gateway" in kinds:
            lines += await _gateway(settings)
            lines += list(_webhook(settings))
        if "ilink" in kinds:
            lines += await _ilink(settings, engine)
        lines += await _leagues(settings, engine)
        return lines

    yield from asyncio.run(probe())
