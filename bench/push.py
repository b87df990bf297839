"""A daily push of 5 deals to 500 groups through the paced sender, against the sandbox league.

Prints the sending time divided by the ideal (messages / rate), the league calls of the first push and
of an immediate second push of the same deals (links must all come from the cache), and peak memory.

    .venv/bin/python bench/push.py [--groups 500] [--rate 200]

Each message costs two store commits (the claim before it, "sent" after it), about 1.7 ms together on
SQLite here, so rates above ~500 messages/s measure the store rather than the pacing (2000/s gives a
ratio of about 3.4); real accounts send 20 a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

from bot.chat.base import Outgoing
from bot.config import parse_settings
from bot.leagues.base import Spot
from bot.leagues.linkcache import LinkCache
from bot.leagues.sandbox.server import SandboxServer
from bot.leagues.wechat.client import ChannelsClient
from bot.leagues.wechat.league import ChannelsLeague
from bot.push.sender import PacedSender
from bot.push.service import PushService
from bot.render import Renderer
from bot.store import db
from bot.store.groups import ensure_group
from bot.store.models import Subscription

LINK_PATH = "/channels/ec/promoter/get_product_promotion_link_info"


async def main(groups: int, rate: float) -> None:
    tmp = Path(tempfile.mkdtemp())
    settings = parse_settings(
        {"bot": {"data_dir": str(tmp)}, "push": {"deals_per_push": 5, "repeat_days": 0}}
    )
    engine = db.make_engine(settings.database_url)
    db.upgrade(engine)
    rows = [ensure_group(engine, f"room{n}@chatroom", f"群{n}") for n in range(groups)]
    sent = 0

    async def send(outgoing: Outgoing) -> None:
        nonlocal sent
        sent += len(outgoing.reply.parts)

    async with AsyncExitStack() as stack:
        sandbox = await stack.enter_async_context(SandboxServer())
        client = ChannelsClient(sandbox.base_url, "wx_bench", "bench", engine=engine)
        league = ChannelsLeague(client)
        stack.push_async_callback(league.aclose)
        links = LinkCache(engine)
        for round_no in (1, 2):
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
            sent = 0
            start = time.perf_counter()
            sender.start()
            await asyncio.gather(*futures)
            elapsed = time.perf_counter() - start
            await sender.close()
            ideal = sent / rate
            print(
                f"push {round_no}: {sent} messages at {rate:.0f}/s in {elapsed:.3f} s, ideal {ideal:.3f} s, "
                f"ratio {elapsed / ideal:.3f}; composing {groups} pushes took {composed_in:.2f} s; "
                f"league calls {sum(sandbox.state.calls.values()) - calls_before} "
                f"(link calls {sandbox.state.calls[LINK_PATH] - links_before})"
            )
    engine.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS): {peak_mb:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--rate", type=float, default=200.0)
    args = parser.parse_args()
    asyncio.run(main(args.groups, args.rate))
