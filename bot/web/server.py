"""Serving the console: inside `tuike run` (next to the chat channels) or alone (`tuike web`)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bot.chat.asgi import AsgiServer, ListenError
from bot.store import webauth
from bot.web.app import build_app
from bot.web.security import SetupLinks
from bot.web.services import WebServices

log = logging.getLogger(__name__)

__all__ = ["ListenError", "WebConsole", "start_web"]


@dataclass
class WebConsole:
    server: AsgiServer
    url: str

    async def stop(self) -> None:
        await self.server.stop()


async def start_web(services: WebServices) -> WebConsole:
    """Listen at `[web] listen` and serve the console; raises ListenError when the address is taken.

    With no password set yet, the log carries a one-time setup link (valid until a password is set, at
    most `SETUP_LINK_LIFETIME`; it works at every replica over the same database). Its
    parameter is `code`, not `token`: the log's secret masking hides any `token=` value, which would
    make the link useless — this one is meant to be read, once, by the operator."""
    web = services.settings.web
    app = build_app(services)
    server = AsgiServer(app, web.host, web.port, name="web-console")
    port = await server.start()
    host = f"[{web.host}]" if ":" in web.host else web.host
    url = f"http://{host}:{port}"
    log.info("运营后台 web console: %s", url)
    if not web.loopback_only:
        log.warning(
            "运营后台监听在 %s，其他机器也能访问：请在前面加 TLS（HTTPS 反向代理）"
            " / the console is reachable from other machines: put TLS in front of it",
            web.listen,
        )
    if await asyncio.to_thread(webauth.password_hash, services.engine) is None:
        links: SetupLinks = app.state.setup_links
        token = await links.issue()
        log.warning(
            "运营后台还没有密码：打开 %s/setup?code=%s 设置（只能用一次），或运行 tuike web passwd",
            url,
            token.value,
        )
    return WebConsole(server, url)
