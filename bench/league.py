"""League client speed against the sandbox on loopback.

Prints requests/s and p50/p99 latency of one search → detail → promotion link round for 1 and 16
concurrent callers, and token requests per 1,000 calls. Taobao (the TOP face): TOP calls per cold
keyword answered as a member sees it (search + a link and 淘口令 for each of the 3 results) and that
round's p50/p99. JD and PDD: one cold keyword as a member's 「找」 makes it (search, then links for the
top three, caches empty), its league calls and p50/p99 for 1 and 16 concurrent callers. The last line
is one JSON object with the figures.

    .venv/bin/python bench/league.py [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

from bot.config import parse_settings
from bot.leagues.base import SearchQuery, Spot
from bot.leagues.jd.build import build_jd
from bot.leagues.jd.league import sub_union_id
from bot.leagues.pdd.build import build_pdd
from bot.leagues.sandbox.pdd_face import DEFAULT_PID
from bot.leagues.sandbox.server import SandboxServer
from bot.leagues.sandbox.top_face import SANDBOX_APP_KEY, SANDBOX_APP_SECRET, SANDBOX_MEMBER, SANDBOX_SITE
from bot.leagues.taobao.client import TopClient
from bot.leagues.taobao.league import TaobaoLeague
from bot.leagues.wechat.client import ChannelsClient

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


LEAGUE_SETTINGS = parse_settings({"leagues": {"jd": {"enabled": True}, "pdd": {"enabled": True}}})


async def cold_keywords(name: str, concurrency: int, rounds: int) -> dict[str, float]:
    """`rounds` cold keywords on a fresh JD or PDD league each: search, then links for the top three."""
    async with SandboxServer() as sandbox:
        build = build_jd if name == "jd" else build_pdd
        spot = (
            Spot("jd", pid="3100012345", tag=sub_union_id("bench"))
            if name == "jd"
            else Spot("pdd", pid=DEFAULT_PID, tag='{"uid":"bench"}')
        )
        queue = iter(range(rounds))
        latencies: list[float] = []
        calls: list[int] = []

        async def worker() -> None:
            league = build(LEAGUE_SETTINGS, sandbox.base_url, None)
            for i in queue:
                league._cache.clear()  # cold: nothing cached
                before = league.client.requests
                start = time.perf_counter()
                found = await league.search(SearchQuery(keyword=KEYWORDS[i % len(KEYWORDS)], limit=10))
                await asyncio.gather(*(league.promote(p, spot) for p in found[:3]))
                latencies.append(time.perf_counter() - start)
                calls.append(league.client.requests - before)
            await league.aclose()

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[max(int(len(latencies) * 0.99) - 1, 0)] * 1000
    per_keyword = statistics.mean(calls)
    print(
        f"{name} concurrency {concurrency:2d}: {rounds / elapsed:6.0f} cold keywords/s, "
        f"{per_keyword:.1f} league calls per cold keyword, p50 {p50:.2f} ms, p99 {p99:.2f} ms"
    )
    return {
        f"{name}_calls_per_cold_keyword": round(per_keyword, 2),
        f"{name}_c{concurrency}_cold_keyword_p50_ms": round(p50, 2),
        f"{name}_c{concurrency}_cold_keyword_p99_ms": round(p99, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1000)
    args = parser.parse_args()
    figures: dict[str, float] = {}
    for concurrency in (1, 16):
        figures.update(asyncio.run(run(concurrency, args.rounds)))
    figures.update(asyncio.run(taobao(max(args.rounds // 5, 20))))
    for name in ("jd", "pdd"):
        for concurrency in (1, 16):
            figures.update(asyncio.run(cold_keywords(name, concurrency, max(args.rounds // 5, 20))))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
