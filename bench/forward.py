"""线报 forwarding through conversion: source messages remade for 200 target groups on the sandbox
leagues (Taobao 淘口令, JD and PDD links someone else made), over HTTP on 127.0.0.1.

Each source message is resolved once (`Remaker.prepare`) and remade for every target group
(`Remaker.for_group`, a few groups at a time): every link becomes the group's own, through the link
cache. Prints, for a first pass (cold link cache: each group's links are made), a repeat of the same
messages, and the same deals from another source (other links for the same products: each is looked
up once, the groups' links come from the cache), the forwards per second
(one forward = one message remade for one group, rendered through the template `forward`) and the
league calls per forwarded message per group (aim for the repeat: 0). Sending is not measured here
(the paced sender's figures are bench/push.py's).

    .venv/bin/python bench/forward.py [--groups 200] [--messages 5] [--database-url URL]

The last line is a JSON object of the figures (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (the sandbox parts, a PG schema)

from bot.forward.remake import Prepared, Remaker
from bot.leagues.metering import metered
from bot.store import db
from bot.store.groups import ensure_group
from bot.store.models import Group
from tests.forward.sandbox_parts import Foreign, sandbox_parts
from tuike_sandbox.jd_face import jd_sku
from tuike_sandbox.server import SandboxServer

GROUPS_AT_ONCE = 16
"""Target groups remade at the same time (the pipeline's workers)."""


@contextmanager
def schema(url: str | None) -> Iterator[str | None]:
    """A fresh PostgreSQL schema for `url` (dropped afterwards); None stays None (SQLite)."""
    if url is None:
        yield None
        return
    from tests.helpers import postgres_schema

    with postgres_schema(url) as schema_url:
        yield schema_url


def messages(foreign: Foreign, count: int, source: str) -> list[str]:
    """`count` 线报 of three products each (淘口令, JD, PDD), no product in two of them, with the links
    `source` made (another source: other JD and PDD links for the same products)."""
    tb, jd, pdd = foreign.taobao_products(), foreign.jd_products(), foreign.pdd_products()
    out = []
    for n in range(count):
        jd_link = foreign.jd.issue_link(jd_sku(jd[n].product_id), source, "777", "4000999999", "")
        pdd_link = foreign.pdd.issue_link(pdd[n], "10000001_123456789", json.dumps({"uid": source}))
        out.append(
            f"🔥线报 {n + 1}\n{tb[n].title[:16]} 到手 ¥9.9 ￥{foreign.taobao_code(tb[n])}￥\n"
            f"京东 {jd[n].title[:12]} 券后 199 https://u.jd.com/{jd_link.token}\n"
            f"拼多多 {pdd[n].title[:12]} https://p.pinduoduo.com/{pdd_link.token}"
        )
    return out


async def forward_all(
    remaker: Remaker, texts: list[str], groups: list[Group]
) -> tuple[float, int, dict[str, int], list[float]]:
    """Every message prepared once and remade for every group: (seconds, forwards, league calls by
    league, prepare times in ms)."""
    gate = asyncio.Semaphore(GROUPS_AT_ONCE)

    async def one(prepared: Prepared, group: Group) -> bool:
        async with gate:
            remade = await remaker.for_group(prepared, group)
        if not remade.forward:
            raise RuntimeError(f"not forwarded to {group.room_id}: {remade.reason}")
        return True

    prepares: list[float] = []
    done = 0
    start = time.perf_counter()
    with metered() as counter:
        for text in texts:
            at = time.perf_counter()
            prepared = await remaker.prepare(text)
            prepares.append((time.perf_counter() - at) * 1000)
            if prepared.reason is not None:
                raise RuntimeError(f"not forwardable: {prepared.reason}")
            done += sum(await asyncio.gather(*(one(prepared, group) for group in groups)))
    return time.perf_counter() - start, done, dict(counter.by_league), prepares


async def main(groups: int, count: int, url: str | None) -> dict[str, float]:
    with schema(url) as schema_url:
        return await _main(groups, count, schema_url)


async def _main(groups: int, count: int, url: str | None) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp())
    engine = db.make_engine(url or f"sqlite:///{tmp / 'tuike.db'}")
    db.upgrade(engine)
    rows = [ensure_group(engine, f"room{n}@chatroom", f"群{n}") for n in range(groups)]
    figures: dict[str, float] = {}
    async with AsyncExitStack() as stack:
        sandbox = await stack.enter_async_context(SandboxServer())
        parts = await stack.enter_async_context(sandbox_parts(sandbox, engine, tmp / "data"))
        rounds = {
            "cold": messages(Foreign(sandbox), count, "source_a"),
            "repeat": messages(Foreign(sandbox), count, "source_a"),
            "other_source": messages(Foreign(sandbox), count, "source_b"),
        }
        for label, texts in rounds.items():
            top_before = len(parts.top.forms)
            seconds, done, by_league, prepares = await forward_all(parts.remaker, texts, rows)
            # the Taobao client's calls run outside the caller's metering: counted at the TOP face
            by_league["taobao"] = len(parts.top.forms) - top_before
            calls = sum(by_league.values())
            per_s, per_forward = done / seconds, calls / done
            print(
                f"{label}: {count} messages × {groups} groups = {done} forwards in {seconds:.2f} s "
                f"({per_s:.0f}/s); league calls {calls} ({per_forward:.3f} per forward: {by_league}); "
                f"prepare p50 {statistics.median(prepares):.1f} ms"
            )
            figures[f"forwards_per_s_{label}"] = round(per_s, 1)
            figures[f"league_calls_per_forward_{label}"] = round(per_forward, 3)
            figures[f"prepare_p50_ms_{label}"] = round(statistics.median(prepares), 1)
            figures[f"seconds_per_message_to_{groups}_groups_{label}"] = round(seconds / count, 3)
    engine.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS): {peak_mb:.0f} MB")
    figures["peak_rss_mb"] = round(peak_mb)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.groups, args.messages, args.database_url))))
