"""League client speed against the sandbox on loopback.

Prints requests/s and p50/p99 latency of one search → detail → promotion link round for 1 and 16
concurrent callers, and token requests per 1,000 calls. Taobao (the TOP face): TOP calls per cold
keyword answered as a member sees it (search + a link and 淘口令 for each of the 3 results) and that
round's p50/p99. Union (小程序联盟): the search → promotion material round for 1 and 16 callers, 100
groups racing for their first spot (each made exactly once), and order sync speed. The last line is one
JSON object with the figures.

    .venv/bin/python bench/league.py [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from bot.leagues.base import SearchQuery, Spot
from bot.leagues.sandbox.server import SandboxServer
from bot.leagues.sandbox.top_face import SANDBOX_APP_KEY, SANDBOX_APP_SECRET, SANDBOX_MEMBER, SANDBOX_SITE
from bot.leagues.sandbox.union_face import PREFIX, UnionFace
from bot.leagues.taobao.client import TopClient
from bot.leagues.taobao.league import TaobaoLeague
from bot.leagues.wechat.client import ChannelsClient
from bot.leagues.wechat.union import UnionClient, UnionLeague

KEYWORDS = ["蓝牙耳机", "纸巾", "洗衣液", "零食", "牛奶", "口红", "运动鞋", "猫粮", "充电宝", "手机壳"]


async def one_round(client: ChannelsClient, i: int) -> float:
    start = time.perf_counter()
    listing = await client.product_list(keyword=KEYWORDS[i % len(KEYWORDS)], page_size=5)
    item = listing["product_list"][i % len(listing["product_list"])]
    await client.product_detail(item["shop_appid"], item["product_id"])
    await client.promotion_link(item["shop_appid"], item["product_id"], "wx_sharer_demo01")
    return time.perf_counter() - start


async def run(concurrency: int, rounds: int) -> dict[str, float]:
    async with SandboxServer() as sandbox:
        client = ChannelsClient(sandbox.base_url, "wx_bench", "bench")
        await client.tokens.token()
        queue = iter(range(rounds))
        latencies: list[float] = []

        async def worker() -> None:
            for i in queue:
                latencies.append(await one_round(client, i))

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
        calls = client.requests
        await client.aclose()
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(
        f"concurrency {concurrency:2d}: {calls / elapsed:7.0f} requests/s, {rounds / elapsed:6.0f} rounds/s, "
        f"round p50 {p50:.2f} ms, p99 {p99:.2f} ms, token requests per 1000 calls: {1000 * client.tokens.requests / calls:.2f}"
    )
    return {
        f"channels_c{concurrency}_requests_per_s": round(calls / elapsed),
        f"channels_c{concurrency}_round_p50_ms": round(p50, 2),
        f"channels_c{concurrency}_round_p99_ms": round(p99, 2),
    }


TAOBAO_KEYWORDS = [
    *KEYWORDS,
    "防晒",
    "奶粉",
    "咖啡",
    "茶叶",
    "洗发水",
    "双肩包",
    "机械键盘",
    "跑步机",
    "面膜",
    "牙膏",
]


async def taobao(rounds: int, results: int = 3) -> dict[str, float]:
    """A cold keyword each round (fresh league caches): search, then a group link + 淘口令 per result."""
    async with SandboxServer() as sandbox:
        face = sandbox.face("/router/rest")
        client = TopClient(sandbox.base_url + "/router/rest", SANDBOX_APP_KEY, SANDBOX_APP_SECRET)
        pid = f"mm_{SANDBOX_MEMBER}_{SANDBOX_SITE}_110000000001"
        latencies: list[float] = []
        calls: list[int] = []
        for i in range(rounds):
            league = TaobaoLeague(client, pid=pid)  # cold: nothing cached
            spot = Spot("taobao", pid=f"mm_{SANDBOX_MEMBER}_{SANDBOX_SITE}_{120000000000 + i}")
            before = sum(face.calls.values())
            start = time.perf_counter()
            found = await league.search(
                SearchQuery(keyword=TAOBAO_KEYWORDS[i % len(TAOBAO_KEYWORDS)], limit=12)
            )
            await asyncio.gather(*(league.promote(p, spot) for p in found[:results]))
            latencies.append(time.perf_counter() - start)
            calls.append(sum(face.calls.values()) - before)
        await client.aclose()
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[max(int(len(latencies) * 0.99) - 1, 0)] * 1000
    per_keyword = statistics.mean(calls)
    print(
        f"taobao cold keyword: {per_keyword:.1f} TOP calls (1 search + 2 per link × {results}), "
        f"p50 {p50:.2f} ms, p99 {p99:.2f} ms"
    )
    return {
        "taobao_calls_per_cold_keyword": round(per_keyword, 2),
        "taobao_cold_keyword_p50_ms": round(p50, 2),
        "taobao_cold_keyword_p99_ms": round(p99, 2),
    }


async def timed(
    concurrency: int, rounds: int, one: Callable[[int], Awaitable[float]]
) -> tuple[float, list[float]]:
    queue = iter(range(rounds))
    latencies: list[float] = []

    async def worker() -> None:
        for i in queue:
            latencies.append(await one(i))

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    latencies.sort()
    return time.perf_counter() - start, latencies


def percentiles(latencies: list[float]) -> tuple[float, float]:
    return statistics.median(latencies) * 1000, latencies[max(int(len(latencies) * 0.99) - 1, 0)] * 1000


def union_sandbox() -> tuple[SandboxServer, UnionFace]:
    server = SandboxServer()
    return server, server.face(PREFIX + "product/list")


async def run_union(concurrency: int, rounds: int) -> dict[str, float]:
    server, _ = union_sandbox()
    async with server:
        league = UnionLeague(UnionClient(server.base_url, "wx_bench_union", "bench"), ttl=0)
        spot = await league.spots.for_group("bench@chatroom", "压测群")

        async def one(i: int) -> float:
            start = time.perf_counter()
            products = await league.search(SearchQuery(keyword=KEYWORDS[i % len(KEYWORDS)], limit=5))
            await league.promote(products[i % len(products)], spot)
            return time.perf_counter() - start

        elapsed, latencies = await timed(concurrency, rounds, one)
        calls = league.client.requests
        await league.aclose()
    p50, p99 = percentiles(latencies)
    print(
        f"union,    concurrency {concurrency:2d}: {calls / elapsed:7.0f} requests/s, {rounds / elapsed:6.0f} rounds/s, "
        f"round p50 {p50:.2f} ms, p99 {p99:.2f} ms"
    )
    return {
        f"union_c{concurrency}_requests_per_s": round(calls / elapsed),
        f"union_c{concurrency}_round_p50_ms": round(p50, 2),
        f"union_c{concurrency}_round_p99_ms": round(p99, 2),
    }


async def run_union_spots_and_orders(groups: int) -> dict[str, float]:
    """`groups` groups ask at once, each five times: one spot each, made once; then their orders synced."""
    server, face = union_sandbox()
    async with server:
        league = UnionLeague(UnionClient(server.base_url, "wx_bench_union", "bench"))
        face.union.max_spots = groups + 1
        since = datetime.now(UTC) - timedelta(minutes=1)
        start = time.perf_counter()
        spots = await asyncio.gather(
            *(
                league.spots.for_group(f"room-{i % groups}@chatroom", f"群{i % groups}")
                for i in range(groups * 5)
            )
        )
        spot_s = time.perf_counter() - start
        made = server.state.calls[PREFIX + "promotion/add"]
        products = await league.search(SearchQuery(keyword="零食", limit=5))
        for s in {s.pid: s for s in spots}.values():
            for p in products:
                await league.promote(p, s)
        league.clock = lambda: datetime.now(UTC) + timedelta(hours=2)
        start = time.perf_counter()
        orders = await league.orders_since(since)
        order_s = time.perf_counter() - start
        pages = server.state.calls[PREFIX + "order/search"]
        await league.aclose()
    print(
        f"union spots: {groups} groups × 5 concurrent asks in {spot_s * 1000:.0f} ms, "
        f"{made} promotion/add calls ({made - 1} group spots + 1 default); "
        f"order sync: {len(orders)} orders over {pages} pages in {order_s * 1000:.0f} ms "
        f"({len(orders) / order_s:.0f} orders/s)"
    )
    return {
        "union_spots_groups": groups,
        "union_spot_add_calls": made,
        "union_spots_ms": round(spot_s * 1000, 1),
        "union_orders": len(orders),
        "union_orders_per_s": round(len(orders) / order_s),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1000)
    args = parser.parse_args()
    figures: dict[str, float] = {}
    for concurrency in (1, 16):
        figures.update(asyncio.run(run(concurrency, args.rounds)))
    figures.update(asyncio.run(taobao(max(args.rounds // 5, 20))))
    for concurrency in (1, 16):
        figures.update(asyncio.run(run_union(concurrency, args.rounds)))
    figures.update(asyncio.run(run_union_spots_and_orders(99)))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
