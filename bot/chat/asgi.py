"""A small ASGI app on uvicorn inside the bot's own event loop: the gateway's webhook and the web console.

The socket is bound here, not by uvicorn: uvicorn calls sys.exit() from inside the event loop when a
port is taken, which would take the whole bot down; we raise `ListenError` instead, with the reason.
uvicorn's signal handling is off: `tuike run` owns SIGINT/SIGTERM and stops the server itself.

Each server guards its connections, because a public port is open to anyone (the gateway's webhook
must be reachable from the gateway): a client that opens connections and never finishes a request
(half-open, slowloris) would otherwise hold them all, until the process has no file descriptor left —
not for the real callback, not for the leagues, not for the database.

* **A cap** (`max_connections`; by default a quarter of the process's file-descriptor limit, at most
  256) per server, so one server can never take the descriptors another, or the bot's own calls,
  need. At the cap, a new connection closes the one that has waited longest without a request in
  progress (a half-open head or an idle keep-alive), so a real caller still gets in; only when every
  connection is busy with a request is the new one closed.
* **A deadline for request headers** (`header_seconds`): a connection that has not sent a whole request
  head that long after it opened, or after the first byte of its next request, is closed. (uvicorn
  times out idle keep-alive connections itself, but not a head that never ends.)
* **Repeated errors are logged once a minute with a count**: the event loop's "socket.accept() out of
  system resource" (once per accept attempt while descriptors are out) and uvicorn's "Invalid HTTP
  request received." (once per garbage request) would otherwise write a line each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable, Generator
from typing import Any

import uvicorn
from uvicorn.protocols.http.auto import AutoHTTPProtocol

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 256
HEADER_SECONDS = 10.0
_QUIETED = {
    "asyncio": ("socket.accept() out of system resource",),
    "uvicorn.error": ("Invalid HTTP request received.",),
}


class LogEvery:
    """Says a repeated event once per `seconds` with how often it happened since: a flood of errors
    must not become a flood of log lines."""

    def __init__(self, seconds: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self.clock = seconds, clock
        self._at: float | None = None
        self.count = 0

    def due(self) -> int:
        """Counts one; returns how many to report now (this one and the unreported), or 0."""
        self.count += 1
        now = self.clock()
        if self._at is not None and now - self._at < self.seconds:
            return 0
        self._at, count, self.count = now, self.count, 0
        return count


class RepeatedErrors(logging.Filter):
    """Lets a record starting with one of `prefixes` through once per `LogEvery` period, its text cut to
    its first line and the count added (the traceback of the 10,000th "Too many open files" says
    nothing the first did not)."""

    def __init__(self, prefixes: tuple[str, ...], clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.prefixes = prefixes
        self.every = {prefix: LogEvery(clock=clock) for prefix in prefixes}

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        prefix = next((p for p in self.prefixes if text.startswith(p)), None)
        if prefix is None:
            return True
        count = self.every[prefix].due()
        if not count:
            return False
        error = record.exc_info[1] if record.exc_info else None
        record.msg = "%s%s (%d time(s) since the last report; said at most once a minute)"
        record.args = (prefix, f": {error}" if error else "", count)
        record.exc_info = record.exc_text = None
        return True


def quiet_repeated_errors() -> None:
    """Install `RepeatedErrors` on the loggers that repeat them (once per process)."""
    for name, prefixes in _QUIETED.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, RepeatedErrors) for f in logger.filters):
            logger.addFilter(RepeatedErrors(prefixes))


def default_max_connections() -> int:
    """A quarter of the process's file-descriptor limit, at most `MAX_CONNECTIONS` (at least 8)."""
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return MAX_CONNECTIONS
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(8, min(MAX_CONNECTIONS, soft // 4))


class ConnectionGuard:
    """One server's connections: the cap and the header deadline (see the module docstring)."""

    def __init__(self, name: str, limit: int, header_seconds: float) -> None:
        self.name, self.limit, self.header_seconds = name, limit, header_seconds
        self.open: dict[Any, None] = {}
        self.waiting: dict[Any, None] = {}
        """Connections with no request in progress, longest waiting first: the ones a newcomer evicts."""
        self.evicted = 0
        self.timed_out = 0
        self._timers: dict[Any, asyncio.TimerHandle] = {}
        self._evictions = LogEvery()
        self._timeouts = LogEvery()

    def opened(self, conn: Any) -> None:
        self.open[conn] = None
        self._wait(conn, deadline=True)
        if len(self.open) > self.limit:
            victim = next(iter(self.waiting))  # the newcomer is waiting too: it goes when none else is
            self.evicted += 1
            if count := self._evictions.due():
                log.warning(
                    "%s: %d connections open (its cap): %d waiting connection(s) closed for newer ones "
                    "since the last report",
                    self.name,
                    self.limit,
                    count,
                )
            self._close(victim)

    def changed(self, conn: Any, *, data: bool) -> None:
        """After bytes arrived (`data`) or a response ended: is a request in progress now?"""
        if conn not in self.open:
            return
        cycle = getattr(conn, "cycle", None)
        if cycle is not None and not cycle.response_complete:
            self.waiting.pop(conn, None)
            timer = self._timers.pop(conn, None)
            if timer is not None:
                timer.cancel()
        else:
            self._wait(conn, deadline=data)

    def closed(self, conn: Any) -> None:
        self.open.pop(conn, None)
        self.waiting.pop(conn, None)
        timer = self._timers.pop(conn, None)
        if timer is not None:
            timer.cancel()

    def _wait(self, conn: Any, *, deadline: bool) -> None:
        self.waiting.setdefault(conn, None)
        if deadline and conn not in self._timers:
            loop = asyncio.get_running_loop()
            self._timers[conn] = loop.call_later(self.header_seconds, self._too_slow, conn)

    def _too_slow(self, conn: Any) -> None:
        self._timers.pop(conn, None)
        if conn in self.waiting:
            self.timed_out += 1
            if count := self._timeouts.due():
                log.warning(
                    "%s: %d connection(s) closed for not sending a request within %.0f s since the last report",
                    self.name,
                    count,
                    self.header_seconds,
                )
            self._close(conn)

    def _close(self, conn: Any) -> None:
        self.closed(conn)
        transport = getattr(conn, "transport", None)
        if transport is not None:  # no request in progress: nothing to flush, the client sees an end
            transport.close()


def guarded_protocol(guard: ConnectionGuard, base: type = AutoHTTPProtocol) -> type:
    """uvicorn's HTTP protocol (httptools or h11, whichever it would use), reporting to `guard`."""

    class Guarded(base):  # type: ignore[misc]
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            guard.opened(self)

        def connection_lost(self, exc: Exception | None) -> None:
            guard.closed(self)
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            guard.changed(self, data=True)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            guard.changed(self, data=False)

    return Guarded


class ListenError(Exception):
    """The server cannot listen where it was asked to (the text says why)."""


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    def install_signal_handlers(self) -> None:  # uvicorn < 0.29
        return None


class AsgiServer:
    def __init__(
        self,
        app: Any,
        host: str,
        port: int,
        *,
        name: str,
        max_connections: int | None = None,
        header_seconds: float = HEADER_SECONDS,
    ) -> None:
        self.app, self.host, self.port, self.name = app, host, port, name
        self.guard = ConnectionGuard(name, max_connections or default_max_connections(), header_seconds)
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
            http=guarded_protocol(self.guard),
        )
        quiet_repeated_errors()
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
