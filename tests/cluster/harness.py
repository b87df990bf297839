"""The multi-process lease tests' side: the recorder replicas report to, the replica processes, and a
TCP proxy in front of PostgreSQL that can be cut and restored (the database unreachable for a while)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

SCRIPT = Path(__file__).with_name("replica.py")
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Event:
    at: float
    """When the recorder got it (the test's monotonic clock)."""
    kind: str
    account: str
    replica: str
    n: int


@dataclass
class Recorder:
    """What every replica sent or was refused, in the order it arrived; `before_ack` hooks run before a
    send is acknowledged (e.g. to pause the sender while its message is in flight)."""

    events: list[Event] = field(default_factory=list)
    before_ack: list[Callable[[Event], None]] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while line := await reader.readline():
                kind, account, replica, n = line.decode().split()
                event = Event(time.monotonic(), kind, account, replica, int(n))
                self.events.append(event)
                for hook in list(self.before_ack):
                    hook(event)
                writer.write(b"ok\n")
                await writer.drain()
        writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    def of(self, kind: str, account: str = "", replica: str = "", after: float = 0.0) -> list[Event]:
        return [
            e
            for e in self.events
            if e.kind == kind
            and (not account or e.account == account)
            and (not replica or e.replica == replica)
            and e.at > after
        ]

    def holders(self, account: str) -> list[str]:
        """The replicas that sent for `account`, in turn: ["r1", "r2"] is one handover."""
        turns: list[str] = []
        for event in self.of("send", account):
            if not turns or turns[-1] != event.replica:
                turns.append(event.replica)
        return turns


@dataclass
class Replica:
    name: str
    process: asyncio.subprocess.Process

    @property
    def pid(self) -> int:
        return self.process.pid

    def signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)


async def start_replica(
    url: str,
    name: str,
    accounts: list[str],
    recorder: Recorder,
    logs: Path,
    *,
    lease: int = 3,
    skew: float = 0.0,
    interval: float = 0.1,
) -> Replica:
    args = {
        "url": url,
        "replica": name,
        "lease": lease,
        "accounts": accounts,
        "recorder": recorder.port,
        "interval": interval,
        "skew": skew,
    }
    log = (logs / f"{name}-{time.monotonic_ns()}.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        json.dumps(args),
        cwd=ROOT,
        stdout=log,
        stderr=log,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    log.close()
    return Replica(name, process)


async def reap(replicas: list[Replica]) -> None:
    """Kill what is still running (only the processes this test started)."""
    for replica in replicas:
        if replica.process.returncode is None:
            replica.signal(signal.SIGCONT)
            replica.signal(signal.SIGKILL)
            await replica.process.wait()


class Proxy:
    """A TCP proxy on 127.0.0.1 in front of PostgreSQL: `cut` closes the port and every connection
    through it (the database unreachable), `restore` opens the same port again."""

    def __init__(self, url: str) -> None:
        target = make_url(url)
        self.target = (target.host or "127.0.0.1", target.port or 5432)
        self.url = url
        self.port = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()

    async def start(self) -> str:
        """Listen; returns the database URL through the proxy."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return make_url(self.url).set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()
            return
        self._pipes |= {client_writer, server_writer}

        async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            writer.close()

        await asyncio.gather(pump(client_reader, server_writer), pump(server_reader, client_writer))
        self._pipes -= {client_writer, server_writer}

    async def cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._pipes):
            writer.transport.abort()
        self._pipes.clear()
        if server is not None:
            await server.wait_closed()

    async def restore(self) -> None:
        await self.start()
