"""What keeping the console's sessions in the database costs each request (issue 31): the session
lookup every page request makes (`lookup`, with the password read beside it), the same when it also
moves the last-seen time (`touch`, at most once a minute per session), a login's new session
(`create`) and a counted login attempt (`attempt`, under the cross-replica lock), each through the
worker thread as the console calls them. On a fresh SQLite store, and on PostgreSQL with
`--database-url` (a fresh schema there, dropped after).

The last line is one JSON object: {"sqlite": {"lookup_p50_ms": …, "lookup_p95_ms": …, "touch_p50_ms":
…, "create_p50_ms": …, "attempt_p50_ms": …}, "postgresql": {…}, "rounds": N}.

    .venv/bin/python bench/console_sessions.py [--rounds N] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/helpers.py: a fresh PG schema

from sqlalchemy import Engine

from bot.store import db, webauth
from bot.web.security import LoginLimiter, Sessions, hash_password, password_stamp
from tests.helpers import postgres_schema


async def timed(rounds: int, act: Callable[[int], Awaitable[object]]) -> list[float]:
    times = []
    for n in range(rounds):
        start = time.perf_counter()
        await act(n)
        times.append((time.perf_counter() - start) * 1000)
    return times


def figures(name: str, times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        f"{name}_p50_ms": round(statistics.median(ordered), 3),
        f"{name}_p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 3),
    }


async def measure(engine: Engine, rounds: int) -> dict[str, float]:
    stored = hash_password("bench password")
    webauth.set_password_hash(engine, stored)
    now = [1_800_000_000.0]
    sessions = Sessions(lambda: engine, idle_seconds=12 * 3600, clock=lambda: now[0])
    limiter = LoginLimiter(lambda: engine, per_minute=10**6, clock=lambda: now[0])
    session = await sessions.create(password_stamp(stored))

    async def lookup(_n: int) -> object:
        return await sessions.get(session.id)

    async def touch(_n: int) -> object:
        now[0] += 61
        return await sessions.get(session.id)

    async def create(_n: int) -> object:
        return await sessions.create(password_stamp(stored))

    async def attempt(n: int) -> object:
        return await limiter.attempt(f"198.51.100.{n % 250}")

    result: dict[str, float] = {}
    for name, act in (("lookup", lookup), ("touch", touch), ("create", create), ("attempt", attempt)):
        await timed(min(20, rounds), act)  # warm the pool and the caches
        result.update(figures(name, await timed(rounds, act)))
    return result


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    out: dict[str, object] = {"rounds": args.rounds}
    with tempfile.TemporaryDirectory() as tmp:
        engine = db.make_engine(f"sqlite:///{tmp}/bench.db")
        db.upgrade(engine)
        out["sqlite"] = await measure(engine, args.rounds)
        engine.dispose()
    if args.database_url:
        with postgres_schema(args.database_url) as url:
            engine = db.make_engine(url)
            db.upgrade(engine)
            out["postgresql"] = await measure(engine, args.rounds)
            engine.dispose()
    for backend in ("sqlite", "postgresql"):
        if backend in out:
            print(backend, out[backend])
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main())
