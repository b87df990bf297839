"""A daily push of 5 deals to 500 groups through the paced sender, against the sandbox league.

For each rate, prints the sending time divided by the ideal (messages / rate), next to the same ratio
for a bare loop that only sleeps to an absolute schedule in the same run (what this machine allows
right now: on a busy machine both rise); the league calls of the first push and of each later push
of the same deals (links must all come from the cache); and peak memory.

    .venv/bin/python bench/push.py [--groups 500] [--rate 2000 --rate 500] [--database-url URL]

`--database-url` (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) runs it on PostgreSQL, in a
fresh schema dropped afterwards (a commit there costs a millisecond or more, so claims go in batches).

The first round composes from a cold link cache; one --rate runs two rounds at that rate. At
2,000/s the pushes are claimed in batches ahead of the sender (`bot/push/ahead.py`), each batch's
transaction carrying the previous one's "sent" marks; what is left beyond the ideal is printed: the
wait for the first claim before the first send (no push goes unclaimed), the last marks' commit after
the last send, and the sender's waits for a claim mid-run (made up by its absolute schedule when
shorter than its stall limit).
The last line is a JSON object of the figures (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/helpers.py (a PostgreSQL schema)

from bot.chat.base import Outgoing
from bot.config import parse_settings
from bot.leagues.base import Spot
from bot.leagues.linkcache import LinkCache
from bot.leagues.wechat.client import ChannelsClient
from bot.leagues.wechat.league import ChannelsLeague
from bot.push.sender import PacedSender
from bot.push.service import PushService
from bot.render.engine import Renderer
from bot.store import db
from bot.store.groups import ensure_group
from bot.store.models import Subscription
from tuike_sandbox.server import SandboxServer

LINK_PATH = "/channels/ec/promoter/get_product_promotion_link_info"


async def bare_ratio(messages: int, rate: float) -> float:
    """A loop that does nothing but sleep to an absolute schedule: the floor for this machine."""
    gap = 1 / rate
    start = due = time.perf_counter()
    for _ in range(messages):
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        due += gap
    return (time.perf_counter() - start) / (messages / rate)


@contextmanager
def schema(url: str | None) -> Iterator[str | None]:
    """A fresh PostgreSQL schema for `url` (dropped afterwards); None stays None (SQLite)."""
    if url is None:
        yield None
        return
    from tests.helpers import postgres_schema

    with postgres_schema(url) as schema_url:
        yield schema_url


async def main(groups: int, rates: list[float], url: str | None = None) -> dict[str, float]:
    with schema(url) as schema_url:
        return await _main(groups, rates, schema_url)


async def _main(groups: int, rates: list[float], url: str | None) -> dict[str, float]:
    figures: dict[str, float] = {}
    tmp = Path(tempfile.mkdtemp())
    database = {"database": {"url": url}} if url else {}
    settings = parse_settings(
        {"bot": {"data_dir": str(tmp)}, "push": {"deals_per_push": 5, "repeat_days": 0}, **database}
    )
    engine = db.make_engine(settings.database_url)
    db.upgrade(engine)
    rows = [ensure_group(engine, f"room{n}@chatroom", f"群{n}") for n in range(groups)]
    sent = 0
    first_at = last_at = 0.0

    async def send(outgoing: Outgoing) -> None:
        nonlocal sent, first_at, last_at
        last_at = time.perf_counter()
        first_at = first_at or last_at
        sent += len(outgoing.reply.parts)

    async with AsyncExitStack() as stack:
        sandbox = await stack.enter_async_context(SandboxServer())
        client = ChannelsClient(sandbox.base_url, "wx_bench", "bench", engine=engine)
        league = ChannelsLeague(client)
        stack.push_async_callback(league.aclose)
        links = LinkCache(engine)
        gc.freeze()  # as `tuike run` does once it is ready (bot/cli/core.py)
        for round_no, rate in enumerate(rates if len(rates) > 1 else rates * 2, start=1):
            calls_before = sum(sandbox.state.calls.values())
            links_before = sandbox.state.calls[LINK_PATH]
            sender = PacedSender(send, rate_per_minute=rate * 60, jitter=(0, 0))
            service = PushService(
                settings,
                engine,
                league,
                Renderer(None),
                sender,
                links,
                lambda g: Spot("channels", sharer_appid=f"wx_sharer_{g.id:04d}"),
                owner=f"bench{round_no}",
            )
            now = datetime.now(UTC)
            start = time.perf_counter()
            futures = []
            for group in rows:
                sub = Subscription(group_id=group.id or 0, kind="daily", at_time="08:30")
                composed = await service.compose_daily(group, sub, now)
                assert composed is not None
                futures.append(service.enqueue(group.id or 0, f"bench:{round_no}", *composed))
            composed_in = time.perf_counter() - start
            sent, first_at = 0, 0.0
            start, cpu = time.perf_counter(), time.process_time()
            sender.start()
            await asyncio.gather(*futures)
            end = time.perf_counter()
            elapsed, cpu = end - start, time.process_time() - cpu
            await sender.close()
            await service.stop()
            ideal = sent / rate
            bare = await bare_ratio(sent, rate)
            calls = sum(sandbox.state.calls.values()) - calls_before
            link_calls = sandbox.state.calls[LINK_PATH] - links_before
            print(
                f"push {round_no}: {sent} messages at {rate:.0f}/s in {elapsed:.3f} s, ideal {ideal:.3f} s, "
                f"ratio {elapsed / ideal:.3f} (bare sleep loop {bare:.3f}), CPU {cpu / sent * 1000:.3f} ms "
                f"a message ({cpu / elapsed:.0%} of a core); composing {groups} pushes "
                f"took {composed_in:.2f} s; league calls {calls} (link calls {link_calls})"
            )
            waits, waited = service.ahead.waits, service.ahead.waited_s
            print(
                f"  where the time beyond the ideal went: first send {1000 * (first_at - start):.1f} ms "
                f"after the start, the last push done {1000 * (end - last_at):.1f} ms after its send; "
                f"the sender waited for a claim {waits} times, {1000 * waited:.1f} ms in all"
            )
            key = f"{rate:g}"
            figures.setdefault(f"first_send_ms_{key}", round(1000 * (first_at - start), 1))
            figures.setdefault(f"after_last_send_ms_{key}", round(1000 * (end - last_at), 1))
            figures.setdefault(f"claim_waits_{key}", waits)
            figures.setdefault(f"claim_waited_ms_{key}", round(1000 * waited, 1))
            figures.setdefault(f"push_ratio_{key}", round(elapsed / ideal, 3))
            figures.setdefault(f"bare_ratio_{key}", round(bare, 3))
            figures.setdefault(f"cpu_ms_per_message_{key}", round(cpu / sent * 1000, 3))
            if round_no == 1:
                figures["league_calls_first_push"] = calls
                figures["compose_s_first_push"] = round(composed_in, 2)
            else:
                figures["league_calls_later_push"] = max(figures.get("league_calls_later_push", 0), calls)
    engine.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS): {peak_mb:.0f} MB")
    figures["peak_rss_mb"] = round(peak_mb)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--rate", type=float, action="append", help="messages/s (repeatable)")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.groups, args.rate or [2000.0, 500.0], args.database_url))))
