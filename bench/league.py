"""League client speed against the sandbox on loopback.

Prints requests/s and p50/p99 latency of one search → detail → promotion link round for 1 and 16
concurrent callers, and token requests per 1,000 calls.

    .venv/bin/python bench/league.py [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from bot.leagues.sandbox.server import SandboxServer
from bot.leagues.wechat.client import ChannelsClient

KEYWORDS = ["蓝牙耳机", "纸巾", "洗衣液", "零食", "牛奶", "口红", "运动鞋", "猫粮", "充电宝", "手机壳"]


async def one_round(client: ChannelsClient, i: int) -> float:
    start = time.perf_counter()
    listing = await client.product_list(keyword=KEYWORDS[i % len(KEYWORDS)], page_size=5)
    item = listing["product_list"][i % len(listing["product_list"])]
    await client.product_detail(item["shop_appid"], item["product_id"])
    await client.promotion_link(item["shop_appid"], item["product_id"], "wx_sharer_demo01")
    return time.perf_counter() - start


async def run(concurrency: int, rounds: int) -> None:
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1000)
    args = parser.parse_args()
    for concurrency in (1, 16):
        asyncio.run(run(concurrency, args.rounds))


if __name__ == "__main__":
    main()
