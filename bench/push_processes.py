"""N bot processes on one database: groups whose daily slot is due, pushed by one process and then
(the push log emptied) by N (default two), against one sandbox league in its own process.

Each bot process runs the real push service: it reserves a due slot, composes it (Channels over HTTP:
the deals and a link per deal for the group's sharer), and sends it through an unpaced sender that
only counts. The processes start, import and connect first, then are let go together: the time is
from "go" until the last process has sent all it could (start-up is not the push's work, and a
process that starts later would find the slots taken). Prints that time for one process and for N,
their ratio (aim: about 1/N), how the slots split, whether any slot went out twice, and the bot
processes' CPU seconds over the same span (dividing the slots, they compose each once).
The last line is one JSON object.

    .venv/bin/python bench/push_processes.py [--groups 500] [--processes 2] [--database-url URL]
                                             [--league-latency-ms MS]

`--league-latency-ms` makes the sandbox answer each call that much later (a real league is far away:
its round trips, not this machine's CPU, set the pace), and empties the link cache before each run, so
each group's links are league calls. Without it the links stay cached from a warm-up run and the
processes share this machine's CPU (and the sandbox's), which is then what sets the pace.

Without --database-url: an SQLite file (one writer at a time, so expect less from two processes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/helpers.py (a PostgreSQL schema)

from sqlalchemy import text
from sqlmodel import Session

from bot.store import db, subscriptions
from bot.store.groups import ensure_group
from bot.store.models import Subscription

NOW = datetime(2026, 11, 22, 0, 31, tzinfo=UTC)  # 08:31 in Shanghai: the 08:30 slot is due


async def child(url: str, sandbox_url: str, instance: str) -> None:
    """One bot process: recover, tick once (reserve, compose, queue every due slot it can), send all."""
    from bot.chat.base import Outgoing
    from bot.config import parse_settings
    from bot.leagues.base import Spot
    from bot.leagues.linkcache import LinkCache
    from bot.leagues.wechat.client import ChannelsClient
    from bot.leagues.wechat.league import ChannelsLeague
    from bot.push.sender import PacedSender
    from bot.push.service import PushService
    from bot.render.engine import Renderer

    engine = db.make_engine(url)
    settings = parse_settings({"push": {"deals_per_push": 5, "repeat_days": 0, "instance": instance}})
    sent: list[str] = []

    async def send(outgoing: Outgoing) -> None:
        sent.append(outgoing.chat_id)

    league = ChannelsLeague(ChannelsClient(sandbox_url, "wx_bench", "bench", engine=engine))
    sender = PacedSender(send, rate_per_minute=None, jitter=(0, 0))
    service = PushService(
        settings,
        engine,
        league,
        Renderer(None),
        sender,
        LinkCache(engine),
        lambda g: Spot("channels", sharer_appid=f"wx_sharer_{g.id:04d}"),
        clock=lambda: NOW,
        owner=instance,
    )
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # "go": every process starts its push at once
    cpu = time.process_time()
    sender.start()
    await service.start(schedule=False)
    await sender.close(drain=True)
    await service.stop()
    done_at, cpu = time.time(), time.process_time() - cpu
    await league.aclose()
    engine.dispose()
    print(json.dumps({"sent": sent, "cpu_s": cpu, "done_at": done_at}), flush=True)


def sandbox_process(latency_ms: float) -> None:
    """The sandbox league, answering each call `latency_ms` late; says where it listens."""
    from tuike_sandbox.server import SandboxServer

    async def serve() -> None:
        async with SandboxServer() as server:
            server.state.reset_faults(latency_s=latency_ms / 1000)
            print(f"sandbox league on {server.base_url}", flush=True)
            await asyncio.Event().wait()

    asyncio.run(serve())


@contextmanager
def database(url: str | None) -> Iterator[str]:
    if url is None:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    from tests.helpers import postgres_schema

    with postgres_schema(url) as schema_url:
        yield schema_url


def cpu_seconds(pid: int) -> float:
    """A process's CPU seconds so far (user + system, from /proc: Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


SANDBOX_PID: list[int] = []
"""The sandbox process (its CPU per run says whether it set the pace)."""
SANDBOX_CPU: list[float] = []
"""The sandbox's CPU seconds in each run (with the processes' exits: a little over the pushes' span)."""


@contextmanager
def sandbox(latency_ms: float = 0.0) -> Iterator[str]:
    command = [sys.executable, "-m", "bot", "sandbox"]
    if latency_ms:
        command = [sys.executable, str(Path(__file__).resolve()), "--sandbox", str(latency_ms)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=tempfile.mkdtemp())
    SANDBOX_PID[:] = [proc.pid]
    assert proc.stdout is not None
    found = re.search(r"http://127\.0\.0\.1:\d+", proc.stdout.readline())
    assert found, "the sandbox did not say where it listens"
    try:
        yield found.group(0)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def subscribed(url: str, groups: int) -> None:
    engine = db.make_engine(url)
    db.upgrade(engine)
    for n in range(groups):
        group = ensure_group(engine, f"room{n:04d}@chatroom", f"群{n:04d}")
        assert group.id is not None
        sub = subscriptions.subscribe(engine, group.id, "daily", "08:30")
        with Session(engine) as session:
            row = session.get(Subscription, sub.id)
            assert row is not None
            row.created_at = row.updated_at = NOW - timedelta(days=3)
            session.add(row)
            session.commit()
    engine.dispose()


def run(
    url: str, sandbox_url: str, processes: int, *, cold_links: bool = False
) -> tuple[float, float, list[list[str]]]:
    """Seconds from "go" until every process has sent all it could, their CPU seconds over that span,
    and what each sent (the sandbox's CPU seconds over the run go to `SANDBOX_CPU`)."""
    engine = db.make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM push_log"))
        if cold_links:
            connection.execute(text("DELETE FROM link_cache"))
    engine.dispose()
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--child", url, sandbox_url, f"bench{n}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(processes)
    ]
    for proc in procs:  # imported, connected, the league client made
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "ready", proc.communicate(timeout=60)[1]
    start, sandbox_cpu = time.time(), cpu_seconds(SANDBOX_PID[0])
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outputs = [p.communicate(timeout=900) for p in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    results = [json.loads(out.strip().splitlines()[-1]) for out, _err in outputs]
    took = max(r["done_at"] for r in results) - start
    SANDBOX_CPU.append(cpu_seconds(SANDBOX_PID[0]) - sandbox_cpu)
    return took, sum(r["cpu_s"] for r in results), [r["sent"] for r in results]


def main(groups: int, url: str | None, processes: int = 2, latency_ms: float = 0.0) -> dict[str, object]:
    cold = latency_ms > 0
    with database(url) as db_url, sandbox(latency_ms) as sandbox_url:
        subscribed(db_url, groups)
        run(db_url, sandbox_url, 1)  # warm: the sandbox's and the store's caches, the link cache
        one, one_cpu, [alone] = run(db_url, sandbox_url, 1, cold_links=cold)
        many, many_cpu, split = run(db_url, sandbox_url, processes, cold_links=cold)
    both = Counter(room for sent in split for room in sent)
    figures: dict[str, object] = {
        "database": "postgresql" if url else "sqlite",
        "groups": groups,
        "league_latency_ms": latency_ms,
        "processes": processes,
        "one_process_s": round(one, 2),
        "n_processes_s": round(many, 2),
        "n_to_one_ratio": round(many / one, 3),
        "ideal_ratio": round(1 / processes, 3),
        "one_process_cpu_s": round(one_cpu, 2),
        "n_processes_cpu_s": round(many_cpu, 2),
        "one_process_sandbox_cpu_s": round(SANDBOX_CPU[-2], 2),
        "n_processes_sandbox_cpu_s": round(SANDBOX_CPU[-1], 2),
        "split": [len(sent) for sent in split],
        "sent_once": len(alone) == groups and len(both) == groups and set(both.values()) == {1},
    }
    if processes == 2:  # the names the figures had when the bench ran two processes only
        figures["two_processes_s"] = figures["n_processes_s"]
        figures["two_to_one_ratio"] = figures["n_to_one_ratio"]
        figures["two_processes_cpu_s"] = figures["n_processes_cpu_s"]
    print(
        f"{figures['database']}: {groups} due groups, league latency {latency_ms:g} ms; one process "
        f"{one:.2f} s, {processes} processes {many:.2f} s (ratio {many / one:.3f}, aim ~{1 / processes:.2f}), "
        f"split {figures['split']}, every slot once: {figures['sent_once']}; CPU seconds of the bot "
        f"processes: one {one_cpu:.2f}, {processes} together {many_cpu:.2f}; of the sandbox: "
        f"{SANDBOX_CPU[-2]:.2f} and {SANDBOX_CPU[-1]:.2f}"
    )
    return figures


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        asyncio.run(child(*sys.argv[2:5]))
        sys.exit(0)
    if len(sys.argv) > 1 and sys.argv[1] == "--sandbox":
        sandbox_process(float(sys.argv[2]))
        sys.exit(0)
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--league-latency-ms", type=float, default=0.0)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    print(json.dumps(main(args.groups, args.database_url, args.processes, args.league_latency_ms)))
