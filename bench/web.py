"""The web console under a busy operator's data: 500 groups over four chat accounts, their
subscriptions, 100,000 orders over 60 days across four leagues, as many request log rows and a week
of pushes (tests/web/seed.py), in a fresh SQLite store (or `--database-url`).

Serves the console on loopback (uvicorn, as `tuike web` does, with the sandbox leagues), logs in,
requests each page once to warm up (`page_first_ms`) and then `--rounds` times with httpx, and
prints p50/p95 per page. The 概览 reuses its figures for a minute: `dashboard_figures_ms` is what
summing them afresh costs (best of 3, before serving). The last line is one JSON object:
{"page_p50_ms": {...}, "page_p95_ms": {...}, "page_first_ms": {...}, "dashboard_figures_ms": ...,
"groups": 500, "orders": 100000, ...}. Aim: every page's p50 under 200 ms.

    .venv/bin/python bench/web.py [--groups N] [--orders N] [--rounds N] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/web/seed.py, the tests' console

from bot.leagues.setup import open_leagues
from bot.orders.dashboard import overview
from bot.store import db
from tests.web.conftest import console_settings, login, serve_console
from tests.web.seed import seed

PAGES = (
    "/",
    "/groups",
    "/groups?page=5",
    "/groups/{id}",
    "/templates",
    "/pushes",
    "/broadcasts",
    "/leagues",
    "/orders",
    "/orders?page=20",
    "/rebates",
)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


async def main(groups: int, orders: int, rounds: int, database_url: str | None) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        url = database_url or f"sqlite:///{tmp / 'bench.db'}"
        engine = db.make_engine(url)
        db.upgrade(engine)
        started = time.perf_counter()
        seeded = seed(engine, groups=groups, orders=orders)
        seed_s = time.perf_counter() - started
        print(f"seeded {groups} groups, {orders} orders, {len(seeded.requests)} requests in {seed_s:.1f} s")
        settings = console_settings(tmp)
        zone = ZoneInfo(settings.bot.timezone)
        sums = []
        for _ in range(3):  # what a view of the 概览 costs when its figures are not kept
            start = time.perf_counter()
            overview(engine, datetime.now(UTC), zone)
            sums.append((time.perf_counter() - start) * 1000)
        print(f"概览 figures summed afresh: {min(sums):.1f} ms (best of 3)")
        p50: dict[str, float] = {}
        p95: dict[str, float] = {}
        statuses: dict[str, int] = {}
        cold: dict[str, float] = {}
        async with AsyncExitStack() as stack:
            leagues = await open_leagues(settings, engine, stack)
            serving = serve_console(tmp, engine, settings=settings, leagues=leagues)
            console = await anext(serving)
            stack.push_async_callback(serving.aclose)
            client = console.client()
            response = await login(client)
            assert response.status_code == 303, response.text
            paths = [p.replace("{id}", str(seeded.group_ids[len(seeded.group_ids) // 3])) for p in PAGES]
            for page, path in zip(PAGES, paths, strict=True):  # warm: templates compiled, caches filled
                start = time.perf_counter()
                statuses[page] = (await client.get(path)).status_code
                cold[page] = round((time.perf_counter() - start) * 1000, 1)
            for page, path in zip(PAGES, paths, strict=True):
                times = []
                for _ in range(rounds):
                    start = time.perf_counter()
                    answer = await client.get(path)
                    times.append((time.perf_counter() - start) * 1000)
                    statuses[page] = answer.status_code
                p50[page], p95[page] = round(percentile(times, 0.5), 1), round(percentile(times, 0.95), 1)
                note = "" if statuses[page] == 200 else f"  (HTTP {statuses[page]})"
                print(f"{page:18} p50 {p50[page]:7.1f} ms   p95 {p95[page]:7.1f} ms{note}")
        engine.dispose()
    return {
        "page_p50_ms": p50,
        "page_p95_ms": p95,
        "page_first_ms": cold,
        "dashboard_figures_ms": round(min(sums), 1),
        "groups": groups,
        "orders": orders,
        "requests": len(seeded.requests),
        "rounds": rounds,
        "seed_s": round(seed_s, 1),
        "not_ok": {page: status for page, status in statuses.items() if status != 200},
        "database": engine.dialect.name,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument(
        "--database-url", default=None, help="e.g. postgresql+psycopg://postgres@127.0.0.1/bench"
    )
    args = parser.parse_args()
    figures = asyncio.run(main(args.groups, args.orders, args.rounds, args.database_url))
    print(json.dumps(figures, ensure_ascii=False))
