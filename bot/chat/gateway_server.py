"""One webhook server for every gateway account of a process, with a route per account.

Several accounts (`[[chat.gateway.accounts]]`) share `[chat.gateway] listen`: one port, one server,
one cap on connections. The gateway calls /gateway/callback/<name> (or what the operator's
`callback_url` template makes of it); the server hands the call to that account's webhook app, which
checks the account's own secret. An account's channel attaches its app when it starts and withdraws it
when it stops: the server starts with the first account and stops with the last, and one account's
start or stop never touches another's route (a replica that takes over an account attaches it while
the others go on being served).

Routing: the last path segment names the account. A path that names none (the single form's
/gateway/callback, or an operator's own callback path) goes to the only account served, else to the
account named "default". A call for an account not served here right now (stopping, or taken over by
another replica) is answered 503: the gateway may resend it, by then to the address the new holder
registered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.chat.asgi import AsgiServer
from bot.chat.gateway_settings import DEFAULT_ACCOUNT

log = logging.getLogger("bot.chat.gateway")

Asgi = Callable[[dict[str, Any], Any, Any], Awaitable[None]]

_NOT_HERE = b'{"ret":503,"msg":"account not served here"}'


class WebhookServer:
    """The ASGI app and its server on `host:port`, shared by the accounts that attach to it."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        max_connections: int | None = None,
        header_seconds: float | None = None,
    ) -> None:
        self.host = host
        self.port = port
        """The port served (the real one once started, when 0 was asked for; kept for a restart)."""
        self.max_connections = max_connections
        self.header_seconds = header_seconds
        self._routes: dict[str, Asgi] = {}
        self._known: set[str] = set()
        """Every account ever served here: a call naming one not served now is not another's."""
        self._server: AsgiServer | None = None
        self._lock = asyncio.Lock()
        self.not_served = 0
        """Calls answered 503 because no account served here matched them."""

    @property
    def server(self) -> AsgiServer | None:
        """The running server (its connection guard and all), None when no account is served."""
        return self._server

    @property
    def accounts(self) -> tuple[str, ...]:
        """The accounts whose calls are served now."""
        return tuple(self._routes)

    async def attach(self, account: str, app: Asgi) -> int:
        """Serve `account`'s calls with `app` (starting the server when it is the first); returns the
        port. Raises `bot.chat.asgi.ListenError` when the port cannot be listened on."""
        async with self._lock:
            if account in self._routes:
                raise ValueError(f"gateway account {account!r} is already served by this webhook server")
            if self._server is None:
                limits: dict[str, Any] = {}
                if self.max_connections is not None:
                    limits["max_connections"] = self.max_connections
                if self.header_seconds is not None:
                    limits["header_seconds"] = self.header_seconds
                server = AsgiServer(self, self.host, self.port, name="gateway-webhook-server", **limits)
                self.port = await server.start()
                self._server = server
                log.info("webhook server listening on %s:%d", self.host, self.port)
            self._routes[account] = app
            self._known.add(account)
            return self.port

    def withdraw(self, account: str) -> None:
        """Stop serving `account`'s calls at once (they are answered 503 from now on); the others go on."""
        self._routes.pop(account, None)

    async def release(self, account: str) -> None:
        """`withdraw`, and stop the server when no account is left on it."""
        async with self._lock:
            self.withdraw(account)
            if not self._routes and self._server is not None:
                server, self._server = self._server, None
                await server.stop()

    def route(self, path: str) -> Asgi | None:
        segment = path.rstrip("/").rsplit("/", 1)[-1]
        if segment in self._known:
            return self._routes.get(segment)
        if len(self._routes) == 1:
            return next(iter(self._routes.values()))
        return self._routes.get(DEFAULT_ACCOUNT)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        app = self.route(str(scope.get("path") or "/"))
        if app is not None:
            await app(scope, receive, send)
            return
        self.not_served += 1
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(_NOT_HERE)).encode())]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": _NOT_HERE})
