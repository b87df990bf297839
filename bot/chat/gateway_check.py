"""What `tuike check` and the web console ask of a gateway account without running the channel: one
cheap call to the gateway, whether the webhook can listen, and whether the account was last seen
logged in (`chat_state.AccountStatus`, kept by the running channel)."""

from __future__ import annotations

import errno
import ipaddress
import re
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

from sqlalchemy import Engine

from bot.chat.base import LoginHealth
from bot.chat.gateway_client import GatewayClient, GatewayError
from bot.chat.gateway_login import kept_app_id
from bot.chat.gateway_settings import CALLBACK_PATH, DEFAULT_ACCOUNT, GatewaySettings
from bot.store import chat_state

Line = tuple[bool, str]


async def probe(settings: GatewaySettings, engine: Engine | None, call_seconds: float) -> list[Line]:
    """`tuike check`: the gateway takes the token and the account is logged in; the webhook can listen."""
    app_id = kept_app_id(settings, engine)
    lines = [*await _probe_api(settings, app_id, call_seconds), *_probe_webhook(settings)]
    name = settings.account_name
    if name == DEFAULT_ACCOUNT:
        return lines
    # one of several accounts: each line says which
    return [(ok, re.sub(r"^(gateway|webhook):", rf"\1 {name}:", text)) for ok, text in lines]


def login_health(settings: GatewaySettings, engine: Engine) -> LoginHealth:
    """The configured account as its channel last recorded it: a process that never saw it log out (or
    never ran) counts it as logged in."""
    app_id = kept_app_id(settings, engine)
    status = chat_state.get_status(engine, f"gateway:{app_id}")
    who = f"微信网关账号 {app_id}" if app_id else "微信网关账号（还没有第一次登录）"
    if settings.account_name != DEFAULT_ACCOUNT:
        who = f"{who}「{settings.account_name}」"
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


async def _probe_api(gw: GatewaySettings, app_id: str, call_seconds: float) -> list[Line]:
    """One call, and what it said in the words of what happened: a refusal (the gateway's own words),
    no answer, a server error, or an address that is not the gateway's API at all."""
    if not app_id:
        return [
            (
                True,
                f"gateway: no app_id yet: the first `tuike run` asks {gw.base_url} for one, shows the login "
                "QR code and keeps the appId it gets",
            )
        ]
    client = GatewayClient(
        gw.base_url, gw.token.get_secret_value(), app_id, timeout=call_seconds, retry_delays=()
    )
    try:
        online = await client.is_online()
    except GatewayError as exc:
        return [(False, _what_went_wrong(gw.base_url, exc))]
    finally:
        await client.aclose()
    if online:
        return [(True, f"gateway: {gw.base_url} reachable, account {app_id} logged in")]
    return [(False, f"gateway: account {app_id} is not logged in: `tuike run` shows its login QR code")]


def _what_went_wrong(base_url: str, exc: GatewayError) -> str:
    if exc.unreachable:
        return f"gateway: {base_url} unreachable: {exc}"
    if exc.not_api:
        return (
            f"gateway: {base_url} answered HTTP {exc.status} with {exc.not_api}, not the gateway's API: "
            "is base_url the API root (GeWe: https://api.geweapi.com/gewe/v2/api)?"
        )
    if exc.status is not None and exc.status >= 500:
        return f"gateway: {base_url} answered HTTP {exc.status}, a server error on its side (not the token): {exc}"
    return f"gateway: {base_url} refused the token or app_id: {exc}"


def _probe_webhook(gw: GatewaySettings) -> Iterator[Line]:
    gateway_host = urlsplit(gw.base_url).hostname or ""
    name = gw.account_name
    path = CALLBACK_PATH if name == DEFAULT_ACCOUNT else f"{CALLBACK_PATH}/{name}"
    # {replica} stays as written: each replica fills in its own id when it registers
    callback = (gw.callback_url or f"http://{gw.listen}{path}").replace("{account}", name)
    callback_host = urlsplit(callback).hostname or ""
    if _is_loopback(callback_host) and not _is_loopback(gateway_host):
        yield (
            False,
            f"webhook: the gateway at {gateway_host} cannot call {callback_host}: set [chat.gateway] "
            "callback_url to an address it can reach (and listen on an interface behind it)",
        )
        return  # one verdict: whether the port is free does not matter until the gateway can call it
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
