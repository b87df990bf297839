"""Memory of a busy bot: 1,000 groups, 100,000 cached promotion links, then 200 member requests.

The bot is built as `tuike run` builds it (sandbox leagues, store, router); the link cache is filled
with sandbox-shaped links (100 products for each group's identity) without calling the league, then
200 requests (keywords and pasted links, from random groups) go through the router.

    .venv/bin/python bench/memory.py [--groups 1000] [--links 100000] [--requests 200]

Prints the resident memory after start-up, after filling the links and after the requests, and the
bytes one cached link costs. The last line is a JSON object of the figures (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import resource
import string
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path

from bot.chat.base import Incoming
from bot.compose import build_deals, build_renderer, build_router
from bot.config import parse_settings
from bot.leagues.base import PromotionLink, SearchQuery, Spot
from bot.leagues.setup import open_leagues
from bot.store import db
from bot.store.groups import ensure_group
from bot.store.requests import RequestRecorder

KEYWORDS = ["蓝牙耳机", "纸巾", "洗衣液", "零食", "牛奶", "口红", "运动鞋", "猫粮", "充电宝", "手机壳"]


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main(groups: int, links: int, requests: int) -> dict[str, float]:
    rng = random.Random(7)
    tmp = Path(tempfile.mkdtemp())
    settings = parse_settings({"bot": {"data_dir": str(tmp)}})
    engine = db.make_engine(settings.database_url)
    db.upgrade(engine)
    rooms = [ensure_group(engine, f"{20000000000 + n}@chatroom", f"群{n}").room_id for n in range(groups)]
    async with AsyncExitStack() as stack:
        leagues = await open_leagues(settings, engine, stack)
        renderer = build_renderer(settings)
        recorder = RequestRecorder(engine)
        deals = build_deals(settings, renderer, engine, leagues, recorder)
        router = build_router(settings, renderer, deals)
        channels = leagues["channels"]
        products = await channels.search(SearchQuery(keyword="", limit=100))
        gc.collect()
        started = rss_mb()

        # 100k links: 100 products for each group's own sharer, shaped like the sandbox's
        cache, store = deals.links, deals.links.engine
        cache.engine = None  # memory only: the store would hold them on disk
        per_group = max(links // groups, 1)
        for n in range(links):
            product = products[n % len(products)]
            spot = Spot("channels", sharer_appid=f"wx_sharer_{n // per_group:05d}")
            token = "".join(rng.choices(string.ascii_letters + string.digits, k=15))
            link = PromotionLink(
                f"{product.product_id[:-5]}{n % 100_000:05d}",
                spot,
                shop_id=product.shop_id,
                short_link=f"#小店://推广/{token}",
                http_short_link=f"https://store.weixin.qq.com/shop/a/{token}",
                card_param=f"sbxppl_{product.product_id[:-5]}{n % 100_000:05d}",
            )

            async def made(link: PromotionLink = link) -> PromotionLink:
                return link

            await cache.get_or_create("channels", link.product_id, spot, made)
        cache.engine = store
        gc.collect()
        filled = rss_mb()

        for i in range(requests):
            room = rng.choice(rooms)
            text = f"找 {rng.choice(KEYWORDS)}" if i % 2 else rng.choice(products).title
            await router(Incoming(f"m{i}", room, "群", f"u{i % 97}", "成员", text))
        await recorder.close()
        gc.collect()
        after = rss_mb()
    engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    per_link = (filled - started) * 1024 * 1024 / links
    print(f"after start-up: {started:.0f} MB RSS")
    print(f"{links:,} links cached for {groups:,} groups: {filled:.0f} MB ({per_link:.0f} bytes a link)")
    print(f"after {requests} requests: {after:.0f} MB (peak {peak:.0f} MB)")
    return {
        "rss_mb_started": round(started),
        "rss_mb_links": round(filled),
        "rss_mb_after_requests": round(after),
        "rss_mb_peak": round(peak),
        "bytes_per_cached_link": round(per_link),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--links", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.groups, args.links, args.requests))))
