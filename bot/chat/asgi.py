"""A small ASGI app on uvicorn inside the bot's own event loop: the gateway's webhook and the web console.

The socket is bound here, not by uvicorn: uvicorn calls sys.exit() from inside the event loop when a
port is taken, which would take the whole bot down; we raise `ListenError` instead, with the reason.
uvicorn's signal handling is off: `tuike run` owns SIGINT/SIGTERM and stops the server itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator
from typing import Any

import uvicorn

log = logging.getLogger(__name__)


class ListenError(Exception):
    """The server cannot listen where it was asked to (the text says why)."""


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    def install_signal_handlers(self) -> None:  # uvicorn < 0.29
        return None


class AsgiServer:
    def __init__(self, app: Any, host: str, port: int, *, name: str) -> None:
        self.app, self.host, self.port, self.name = app, host, port, name
        self._server: _QuietServer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> int:
        """Listen and serve in the background; returns the port (the real one when 0 was asked for)."""
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
            server_header=False,
            proxy_headers=False,  # uvicorn believes X-Forwarded-For from loopback; a caller adds its own
            # proxy middleware for the proxies it was told about (the web console: [web] trusted_proxies)
        )
        server = _QuietServer(config)
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on connections whose socket says TCP, and
        # without it every keep-alive response waits ~40 ms for a delayed ACK (Nagle).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise ListenError(f"cannot listen on {self.host}:{self.port}: {exc.strerror}") from None
        self.port = int(sock.getsockname()[1])
        task = asyncio.create_task(server.serve(sockets=[sock]), name=self.name)
        while not server.started and not task.done():  # noqa: ASYNC110  (uvicorn has no started event)
            await asyncio.sleep(0.01)
        if task.done():
            sock.close()
            with contextlib.suppress(Exception):
                task.result()
            raise ListenError(f"the server on {self.host}:{self.port} did not start")
        self._server, self._task = server, task
        return self.port

    def signal_exit(self) -> None:
        """Ask the server to stop without waiting for it (`stop` waits)."""
        if self._server is not None:
            self._server.should_exit = True

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 5)
        self._server = self._task = None
