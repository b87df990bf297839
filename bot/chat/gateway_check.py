"""What `tuike check` and the web console ask of a gateway account without running the channel: one
cheap call to the gateway, whether the webhook can listen, and whether the account was last seen
logged in (`chat_state.AccountStatus`, kept by the running channel)."""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

from sqlalchemy import Engine

from bot.chat.base import LoginHealth
from bot.chat.gateway import GatewayClient, GatewayError
from bot.chat.gateway_settings import GatewaySettings
from bot.store import chat_state

Line = tuple[bool, str]


async def probe(settings: GatewaySettings, engine: Engine | None, call_seconds: float) -> list[Line]:
    """`tuike check`: the gateway takes the token and the account is logged in; the webhook can listen."""
    return [*await _probe_api(settings, call_seconds), *_probe_webhook(settings)]


def login_health(settings: GatewaySettings, engine: Engine) -> LoginHealth:
    """The configured account as its channel last recorded it: a process that never saw it log out (or
    never ran) counts it as logged in."""
    status = chat_state.get_status(engine, settings.account)
    who = f"微信网关账号 {settings.app_id}"
    if status is None or status.online:
        return LoginHealth(True, who)
    return LoginHealth(False, who, since=status.since, why=status.why, stopped="群里的消息和推送都停了")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


async def _probe_api(gw: GatewaySettings, call_seconds: float) -> list[Line]:
    client = GatewayClient(
        gw.base_url, gw.token.get_secret_value(), gw.app_id, timeout=call_seconds, retry_delays=()
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


def _probe_webhook(gw: GatewaySettings) -> Iterator[Line]:
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
