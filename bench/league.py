"""League cost: the client's speed against the sandbox on loopback, and league calls per request.

1. Client rounds (list → detail → promotion link) for 1 and 16 concurrent callers, with the sandbox
   in a child process so this process's CPU time is the client's alone: p50/p99 latency and client
   CPU per round (flat from 1 to 16 callers when the client adds no per-request overhead).
2. League calls, per league, for a cold keyword: the member's answer (`找 KEYWORD`, 3 results, a
   fresh bot) and `tuike search KEYWORD --limit 3`. Every league the embedded default searches is
   counted by name (`bot.leagues.metering`), so a league added later shows up without edits here.
3. The same keywords after a restart (a new bot on the same database): what the persistent caches
   save.
4. Taobao (the TOP face): TOP calls per cold keyword answered as a member sees it (search + a link
   and 淘口令 for each of the 3 results) and that round's p50/p99.
5. JD, PDD and Vipshop: one cold keyword as a member's 「找」 makes it (search, then links for the top
   three, caches empty), its league calls and p50/p99 for 1 and 16 concurrent callers.
6. Union (小程序联盟): the search → promotion material round for 1 and 16 callers, 100 groups racing
   for their first spot (each made exactly once), and order sync speed.

    .venv/bin/python bench/league.py [--rounds N] [--calls-only]

`--calls-only` runs parts 2 and 3 alone (league calls per keyword beside the least the wire allows).

The last line is a JSON object of the figures (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import parse_settings
from bot.leagues.base import SearchQuery, Spot
from bot.leagues.jd.build import build_jd
from bot.leagues.jd.league import sub_union_id
from bot.leagues.metering import metered
from bot.leagues.pdd.build import build_pdd
from bot.leagues.taobao.client import TopClient
from bot.leagues.taobao.league import TaobaoLeague
from bot.leagues.union.client import UnionClient
from bot.leagues.union.league import UnionLeague
from bot.leagues.vip.build import build_vip
from bot.leagues.wechat.client import ChannelsClient
from tuike_sandbox.pdd_face import DEFAULT_PID
from tuike_sandbox.server import SandboxServer
from tuike_sandbox.top_face import SANDBOX_APP_KEY, SANDBOX_APP_SECRET, SANDBOX_MEMBER, SANDBOX_SITE
from tuike_sandbox.union_face import PREFIX, UnionFace

KEYWORDS = ["蓝牙耳机", "纸巾", "洗衣液", "零食", "牛奶", "口红", "运动鞋", "猫粮", "充电宝", "手机壳"]
COLD = KEYWORDS[:5]


async def one_round(client: ChannelsClient, i: int) -> float:
    start = time.perf_counter()
    listing = await client.product_list(keyword=KEYWORDS[i % len(KEYWORDS)], page_size=5)
    item = listing["product_list"][i % len(listing["product_list"])]
    await client.product_detail(item["shop_appid"], item["product_id"])
    await client.promotion_link(item["shop_appid"], item["product_id"], "wx_sharer_demo01")
    return time.perf_counter() - start


async def client_rounds(base_url: str, concurrency: int, rounds: int) -> dict[str, float]:
    client = ChannelsClient(base_url, "wx_bench", "bench")
    await client.tokens.token()
    await one_round(client, 0)  # connections open
    queue = iter(range(rounds))
    latencies: list[float] = []

    async def worker() -> None:
        for i in queue:
            latencies.append(await one_round(client, i))

    cpu, start = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    await client.aclose()
    latencies.sort()
    p50, p99 = statistics.median(latencies) * 1000, latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(
        f"concurrency {concurrency:2d}: {client.requests / elapsed:7.0f} requests/s, {rounds / elapsed:6.0f} "
        f"rounds/s, round p50 {p50:.2f} ms, p99 {p99:.2f} ms, client CPU {cpu / rounds * 1000:.2f} ms per round"
    )
    return {
        f"channels_c{concurrency}_requests_per_s": round(client.requests / elapsed),
        f"channels_c{concurrency}_round_p50_ms": round(p50, 2),
        f"channels_c{concurrency}_round_p99_ms": round(p99, 2),
        f"channels_c{concurrency}_cpu_ms_per_round": round(cpu / rounds * 1000, 3),
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


def sandbox_process() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "sandbox"], stdout=subprocess.PIPE, text=True, cwd=tempfile.mkdtemp()
    )
    assert proc.stdout is not None
    found = re.search(r"http://127\.0\.0\.1:\d+", proc.stdout.readline())
    assert found, "the sandbox did not say where it listens"
    return proc, found.group(0)


async def member_answers(data_dir: Path, keywords: list[str]) -> Counter[str]:
    """League calls per league for `找 KEYWORD` in a fresh bot (its own sandbox, the given store)."""
    from bot.chat.base import Incoming
    from bot.compose import build_deals, build_renderer, build_router
    from bot.config import parse_settings
    from bot.leagues.setup import open_leagues
    from bot.store import db
    from bot.store.requests import RequestRecorder

    settings = parse_settings({"bot": {"data_dir": str(data_dir)}})
    engine = db.make_engine(settings.database_url)
    db.upgrade(engine)
    total: Counter[str] = Counter()
    async with AsyncExitStack() as stack:
        leagues = await open_leagues(settings, engine, stack)
        renderer = build_renderer(settings)
        recorder = RequestRecorder(engine)
        router = build_router(settings, renderer, build_deals(settings, renderer, engine, leagues, recorder))
        for i, keyword in enumerate(keywords):
            message = Incoming(f"m{i}", f"bench{i}@chatroom", "测试群", "u1", "成员", f"找 {keyword}")
            with metered() as counter:
                reply = await router(message)
            assert reply is not None, keyword
            total.update(counter.by_league)
        await recorder.close()
    engine.dispose()
    return total


def cli_search(data_dir: Path, keywords: list[str]) -> tuple[Counter[str], int]:
    """League calls of `tuike search KEYWORD --limit 3 --json`, and the least the Channels wire
    allows for what it printed: 1 list + 1 detail per product + 1 coupon detail per coupon shown."""
    from bot.cli import cli as tuike
    from tuike_sandbox.catalogue import build_catalogue

    catalogue = build_catalogue()  # the one the CLI's own sandbox serves
    config = data_dir / "config.toml"
    config.write_text(f'[bot]\ndata_dir = "{data_dir.as_posix()}"\n', encoding="utf-8")
    total: Counter[str] = Counter()
    least = 0
    for keyword in keywords:
        out = io.StringIO()
        with metered() as counter, contextlib.redirect_stdout(out):
            tuike.main(
                ["--config", str(config), "search", keyword, "--limit", "3", "--json"], standalone_mode=False
            )
        total.update(counter.by_league)
        rows = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
        least += 1 + len(rows)
        for row in rows:
            wire = catalogue.product(int(row["id"])) if row["platform"] == "channels" else None
            least += len(wire.coupon_ids) if wire is not None else 0
    return total, least


def per_keyword(calls: Counter[str], n: int) -> dict[str, float]:
    return {league or "unnamed": round(count / n, 1) for league, count in sorted(calls.items())}


LEAGUE_SETTINGS = parse_settings(
    {"leagues": {"jd": {"enabled": True}, "pdd": {"enabled": True}, "vip": {"enabled": True}}}
)
BUILDS = {"jd": build_jd, "pdd": build_pdd, "vip": build_vip}


async def cold_keywords(name: str, concurrency: int, rounds: int) -> dict[str, float]:
    """`rounds` cold keywords on a fresh JD, PDD or Vipshop league each: search, then links for the top
    three (Vipshop's for a group PID made first, as a group's first link would)."""
    async with SandboxServer() as sandbox:
        build = BUILDS[name]
        spots = {
            "jd": Spot("jd", pid="3100012345", tag=sub_union_id("bench")),
            "pdd": Spot("pdd", pid=DEFAULT_PID, tag='{"uid":"bench"}'),
        }
        if name == "vip":
            maker = build_vip(LEAGUE_SETTINGS, sandbox.base_url, None)
            pid, tag = await maker.choose_identity("bench", set())
            await maker.aclose()
            spots["vip"] = Spot("vip", pid=pid, tag=tag)
        spot = spots[name]
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
    parser.add_argument("--calls-only", action="store_true", help="only the league calls per keyword")
    args = parser.parse_args()
    figures: dict[str, object] = {}

    if not args.calls_only:
        proc, base_url = sandbox_process()
        try:
            for concurrency in (1, 16):
                figures.update(asyncio.run(client_rounds(base_url, concurrency, args.rounds)))
        finally:
            proc.terminate()
            proc.wait()

    data = Path(tempfile.mkdtemp())
    cold = asyncio.run(member_answers(data, COLD))
    restarted = asyncio.run(member_answers(data, COLD))
    cli, least = cli_search(Path(tempfile.mkdtemp()), COLD)
    n = len(COLD)
    figures["calls_per_cold_keyword"] = round(sum(cold.values()) / n, 1)
    figures["calls_per_cold_keyword_by_league"] = per_keyword(cold, n)
    figures["calls_per_keyword_after_restart"] = round(sum(restarted.values()) / n, 1)
    figures["calls_per_cli_search"] = round(sum(cli.values()) / n, 1)
    figures["least_calls_cli_search"] = round(least / n, 1)
    figures["least_calls_cold_keyword"] = round(least / n + 3, 1)  # the same three, plus their links
    figures["calls_per_cli_search_by_league"] = per_keyword(cli, n)
    print(
        f"cold keyword (member's answer, 3 shown): {figures['calls_per_cold_keyword']} league calls "
        f"{figures['calls_per_cold_keyword_by_league']}; after a restart: "
        f"{figures['calls_per_keyword_after_restart']}"
    )
    print(
        f"tuike search KEYWORD --limit 3: {figures['calls_per_cli_search']} league calls "
        f"{figures['calls_per_cli_search_by_league']}; the least the wire allows for what it showed: "
        f"{figures['least_calls_cli_search']} (with 3 links, as a member sees them: "
        f"{figures['least_calls_cold_keyword']})"
    )
    if args.calls_only:
        print(json.dumps(figures, ensure_ascii=False))
        return
    figures.update(asyncio.run(taobao(max(args.rounds // 5, 20))))
    for name in ("jd", "pdd", "vip"):
        for concurrency in (1, 16):
            figures.update(asyncio.run(cold_keywords(name, concurrency, max(args.rounds // 5, 20))))
    for concurrency in (1, 16):
        figures.update(asyncio.run(run_union(concurrency, args.rounds)))
    figures.update(asyncio.run(run_union_spots_and_orders(99)))
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
