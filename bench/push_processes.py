"""Two bot processes on one database: 500 groups whose daily slot is due, pushed by one process and
then (the push log emptied) by two, against one sandbox league in its own process.

Each bot process runs the real push service: it reserves a due slot, composes it (Channels over HTTP:
the deals and a link per deal for the group's sharer), and sends it through an unpaced sender that
only counts. Prints the seconds from start until every slot is sent, for one process and for two,
their ratio (aim: about 1/2), how the slots split between the two, and whether any slot went out
twice, and the bot processes' CPU seconds (two processes racing for every slot each compose all of
them; dividing the slots, they compose each once). The last line is one JSON object.

    .venv/bin/python bench/push_processes.py [--groups 500] [--database-url URL]

Without --database-url: an SQLite file (one writer at a time, so expect less from two processes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
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
    sender.start()
    await service.start(schedule=False)
    await sender.close(drain=True)
    await service.stop()
    await league.aclose()
    engine.dispose()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"sent": sent, "cpu_s": usage.ru_utime + usage.ru_stime}), flush=True)


@contextmanager
def database(url: str | None) -> Iterator[str]:
    if url is None:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    from tests.helpers import postgres_schema

    with postgres_schema(url) as schema_url:
        yield schema_url


@contextmanager
def sandbox() -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "sandbox"], stdout=subprocess.PIPE, text=True, cwd=tempfile.mkdtemp()
    )
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


def run(url: str, sandbox_url: str, processes: int) -> tuple[float, float, list[list[str]]]:
    """Seconds until every process has sent all it could, their CPU seconds, and what each sent."""
    engine = db.make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM push_log"))
    engine.dispose()
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--child", url, sandbox_url, f"bench{n}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(processes)
    ]
    outputs = [p.communicate(timeout=900) for p in procs]
    took = time.perf_counter() - start
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    results = [json.loads(out.strip().splitlines()[-1]) for out, _err in outputs]
    return took, sum(r["cpu_s"] for r in results), [r["sent"] for r in results]


def main(groups: int, url: str | None) -> dict[str, object]:
    with database(url) as db_url, sandbox() as sandbox_url:
        subscribed(db_url, groups)
        run(db_url, sandbox_url, 1)  # warm: the sandbox's and the store's caches, the link cache
        one, one_cpu, [alone] = run(db_url, sandbox_url, 1)
        two, two_cpu, split = run(db_url, sandbox_url, 2)
    both = Counter(room for sent in split for room in sent)
    figures: dict[str, object] = {
        "database": "postgresql" if url else "sqlite",
        "groups": groups,
        "one_process_s": round(one, 2),
        "two_processes_s": round(two, 2),
        "two_to_one_ratio": round(two / one, 3),
        "one_process_cpu_s": round(one_cpu, 2),
        "two_processes_cpu_s": round(two_cpu, 2),
        "split": [len(sent) for sent in split],
        "sent_once": len(alone) == groups and len(both) == groups and set(both.values()) == {1},
    }
    print(
        f"{figures['database']}: {groups} due groups; one process {one:.2f} s, two processes {two:.2f} s "
        f"(ratio {two / one:.3f}, aim ~0.5), split {figures['split']}, every slot once: {figures['sent_once']}; "
        f"CPU seconds of the bot processes: one {one_cpu:.2f}, two together {two_cpu:.2f}"
    )
    return figures


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        asyncio.run(child(*sys.argv[2:5]))
        sys.exit(0)
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    print(json.dumps(main(args.groups, args.database_url)))
