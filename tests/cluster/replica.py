"""One cluster replica in a process of its own, for the multi-process lease tests.

It runs the product's parts of a replica — `Leases` (the heartbeat on PostgreSQL), a `LeasedChannel`
per account and the account's `PacedSender` asking `held` — around a recording channel: each send is
one line to the test's recorder on 127.0.0.1, acknowledged before the send returns. Every `interval`
it tries one message per account, held or not, and reports each one the seam left out, so the test
sees both what was sent and what was refused.

    python tests/cluster/replica.py '{"url": ..., "replica": "r1", "lease": 3, "accounts": ["a"],
                                      "recorder": 45678, "interval": 0.1, "skew": 0}'

`skew` (seconds) moves this process's wall clock (`time.time`, `datetime.now`): the leases must not
care, since they read only the database's clock and the monotonic one.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _datetime
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

ARGS: dict[str, Any] = json.loads(sys.argv[1])
SKEW = float(ARGS.get("skew", 0))
if SKEW:
    _real_time = time.time
    time.time = lambda: _real_time() + SKEW  # type: ignore[assignment]

    class _Skewed(_datetime.datetime):
        @classmethod
        def now(cls, tz: _datetime.tzinfo | None = None) -> _Skewed:  # type: ignore[override]
            return super().now(tz) + _datetime.timedelta(seconds=SKEW)  # type: ignore[return-value]

        @classmethod
        def utcnow(cls) -> _Skewed:  # type: ignore[override]
            return super().utcnow() + _datetime.timedelta(seconds=SKEW)  # type: ignore[return-value]

    _datetime.datetime = _Skewed  # type: ignore[misc]

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bot.chat.base import Incoming, MessageHandler, Outgoing, Reply  # noqa: E402
from bot.cluster.leases import Leases  # noqa: E402
from bot.cluster.rows import ReplicaTaken, lease_engine  # noqa: E402
from bot.cluster.serving import LeasedChannel  # noqa: E402
from bot.config import ClusterSettings  # noqa: E402
from bot.push.sender import PacedSender  # noqa: E402


class Recorder:
    """The line connection to the test: `<kind> <account> <replica> <n>`, each answered `ok`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, replica: str) -> None:
        self.reader, self.writer, self.replica = reader, writer, replica
        self.lock = asyncio.Lock()

    async def report(self, kind: str, account: str = "-", n: int = 0) -> None:
        async with self.lock:
            self.writer.write(f"{kind} {account} {self.replica} {n}\n".encode())
            await self.writer.drain()
            await self.reader.readline()


class RecordingChannel:
    """A chat account whose every send is a line to the recorder."""

    name = "recording"

    def __init__(self, account: str, recorder: Recorder) -> None:
        self.account = account
        self.recorder = recorder
        self.stopped = asyncio.Event()

    async def run(self, handler: MessageHandler) -> None:
        await self.stopped.wait()
        self.stopped.clear()  # it may run again at the next gain

    async def send(self, message: Outgoing) -> None:
        text = message.reply.parts[0]
        await self.recorder.report("send", self.account, int(getattr(text, "text", "0")))

    async def stop(self) -> None:
        self.stopped.set()


async def main() -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", ARGS["recorder"])
    replica = ARGS["replica"]
    recorder = Recorder(reader, writer, replica)
    accounts: list[str] = ARGS["accounts"]
    settings = ClusterSettings(enabled=True, replica_id=replica, lease_seconds=ARGS["lease"])
    engine = lease_engine(ARGS["url"], settings.lease_seconds)
    channels: dict[str, LeasedChannel] = {}

    async def gain(account: str) -> None:
        await channels[account].gain()
        await recorder.report("gain", account)

    async def lose(account: str) -> None:
        await channels[account].lose()
        await recorder.report("loss", account)

    leases = Leases(engine, settings, accounts, on_gain=gain, on_loss=lose)
    for account in accounts:
        channels[account] = LeasedChannel(
            RecordingChannel(account, recorder), lambda a=account: leases.held(a), account
        )
    senders = {
        a: PacedSender(
            channels[a].send, rate_per_minute=None, jitter=(0, 0), may_send=lambda a=a: leases.held(a)
        )
        for a in accounts
    }
    try:
        await leases.start()
    except ReplicaTaken as exc:
        await recorder.report("refused")
        print(exc, file=sys.stderr, flush=True)
        return 3

    async def ignore(_message: Incoming) -> None:
        return None

    runs = [asyncio.create_task(channel.run(ignore)) for channel in channels.values()]
    for sender in senders.values():
        sender.start()
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    await recorder.report("ready")
    n = 0
    while not stopping.is_set():
        n += 1
        for account, sender in senders.items():
            if not await sender.reply(Outgoing(f"{account}@chatroom", Reply.text(str(n)))):
                await recorder.report("refused", account, n)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), ARGS.get("interval", 0.1))
    for sender in senders.values():
        await sender.close(drain=False)
    for channel in channels.values():
        await channel.stop()
    await asyncio.gather(*runs)
    await leases.stop()
    await recorder.report("left")
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
