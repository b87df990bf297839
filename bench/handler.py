"""The request path: how fast the bot ignores chat, answers with warm caches, and how many league
calls a realistic replay costs.

    .venv/bin/python bench/handler.py

Prints: ignore-path throughput (msgs/s, one core); p50/p99 message-in → reply-out with warm caches;
the same with the sandbox league on loopback (cold caches); league calls per request over a replay of
1,000 requests in one group where 70% repeat one of 20 links the bot made and 30% paste `找 <title>` of
a product from a 200-product list the bot fetched, with the calls of each kind (league and method).
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path
from typing import Any

from bot.chat.base import Incoming
from bot.compose import build_deals, build_renderer, build_router
from bot.config import parse_settings
from bot.leagues.base import SearchQuery
from bot.leagues.form_gateway import FormGatewayClient
from bot.leagues.metering import metered
from bot.leagues.setup import open_leagues
from bot.leagues.wechat.client import WechatApi
from bot.store import db
from bot.store.requests import RequestRecorder

CHAT = [
    "今天天气真不错",
    "哈哈哈哈",
    "谁下午一起吃饭",
    "这个群好热闹啊",
    "晚安各位",
    "我刚到家",
    "有人知道附近哪里有好吃的火锅吗",
    "收到",
    "好的好的",
    "周末去爬山吗？",
    "图片",
    "[表情]",
    "明天几点集合",
    "我觉得还行吧",
    "笑死我了",
    "老板今天又加班",
    "孩子作业写完了没",
    "666",
]


def msg(i: int, text: str, chat: str = "room@chatroom") -> Incoming:
    return Incoming(f"m{i}", chat, "测试群", f"u{i % 50}", f"成员{i % 50}", text)


@contextmanager
def calls_by_method() -> Iterator[Counter[str]]:
    """League calls while inside, by "league method" (each try of a WeChat path or a gateway method)."""
    seen: Counter[str] = Counter()
    raw, post = WechatApi._raw, FormGatewayClient.post

    async def counted_raw(self: WechatApi, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        seen[f"{self.league} {path.rsplit('/', 1)[-1]}"] += 1
        return await raw(self, method, path, *args, **kwargs)

    async def counted_post(self: FormGatewayClient, name: str, *args: Any, **kwargs: Any) -> Any:
        seen[f"{self.league} {name}"] += 1
        return await post(self, name, *args, **kwargs)

    WechatApi._raw = counted_raw  # type: ignore[method-assign]
    FormGatewayClient.post = counted_post  # type: ignore[method-assign,assignment]
    try:
        yield seen
    finally:
        WechatApi._raw, FormGatewayClient.post = raw, post  # type: ignore[method-assign]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))] * 1000


async def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    settings = parse_settings(
        {"bot": {"data_dir": str(tmp)}, "deals": {"member_requests": 1000, "group_requests": 10000}}
    )
    engine = db.make_engine(settings.database_url)
    db.upgrade(engine)
    async with AsyncExitStack() as stack:
        leagues = await open_leagues(settings, engine, stack)
        renderer = build_renderer(settings)
        recorder = RequestRecorder(engine)
        deals = build_deals(settings, renderer, engine, leagues, recorder)
        router = build_router(settings, renderer, deals)

        # 1. ignore path
        lines = [msg(i, CHAT[i % len(CHAT)]) for i in range(200_000)]
        start = time.perf_counter()
        for m in lines:
            await router(m)
        ignore_rate = len(lines) / (time.perf_counter() - start)

        # 2. cold: sandbox on loopback
        cold = []
        cold_calls = 0
        for i, keyword in enumerate(
            ["蓝牙耳机", "纸巾", "洗衣液", "零食", "牛奶", "口红", "运动鞋", "猫粮", "充电宝", "手机壳"]
        ):
            t = time.perf_counter()
            with metered() as counter:
                await router(msg(1_000_000 + i, f"找 {keyword}", chat=f"cold{i}@chatroom"))
            cold.append(time.perf_counter() - t)
            cold_calls += counter.calls

        # 3. warm: the same requests again, caches hot
        warm = []
        for i in range(2000):
            keyword = ["蓝牙耳机", "纸巾", "洗衣液", "零食", "牛奶"][i % 5]
            t = time.perf_counter()
            await router(msg(2_000_000 + i, f"找 {keyword}", chat=f"cold{i % 5}@chatroom"))
            warm.append(time.perf_counter() - t)

        # 4. replay: 1,000 link requests, 70% repeating a product
        fresh = await leagues["channels"].search(SearchQuery(keyword="", limit=200))
        link_msgs = []
        seeds = random.Random(1)
        for p in fresh[:20]:
            link = await deals._link(
                leagues["channels"], p, (await deals.spots(msg(0, "", chat="replay@chatroom"), "channels"))
            )
            link_msgs.append(link.http_short_link)
        calls = 0
        requests = 1000
        unseen = list(fresh[20:])
        asked: set[str] = set()
        answered: set[str] = set()
        """Unique requests the bot answered: a `找` line over 40 characters is chat to the parser."""
        with calls_by_method() as by_method:
            for i in range(requests):
                if seeds.random() < 0.7 or not unseen:
                    text = seeds.choice(link_msgs)
                else:
                    text = f"找 {unseen.pop().title}"
                with metered() as counter:
                    reply = await router(msg(3_000_000 + i, text, chat="replay@chatroom"))
                calls += counter.calls
                asked.add(text)
                if reply is not None and reply.parts:
                    answered.add(text)
        await recorder.close()
    engine.dispose()
    print(f"ignore path: {ignore_rate:,.0f} messages/s (one core, full router)")
    print(
        f"warm caches: p50 {pct(warm, 0.5):.3f} ms, p99 {pct(warm, 0.99):.3f} ms (keyword → 3 deals, no league call)"
    )
    print(
        f"cold, sandbox on loopback: p50 {statistics.median(cold) * 1000:.1f} ms, p99 {pct(cold, 0.99):.1f} ms, "
        f"{cold_calls / len(cold):.1f} league calls per keyword request"
    )
    print(
        f"replay of {requests} requests (70% repeat a product): {calls / requests:.2f} league calls per request, "
        f"{calls / len(asked):.2f} per unique request ({len(asked)} unique), "
        f"{calls / len(answered):.2f} per unique request answered ({len(answered)})"
    )
    for name, count in by_method.most_common():
        print(f"  {name}: {count} ({count / len(asked):.2f} per unique request)")
    figures = {
        "ignore_msgs_per_s": round(ignore_rate),
        "warm_p50_ms": round(pct(warm, 0.5), 3),
        "warm_p99_ms": round(pct(warm, 0.99), 3),
        "cold_p50_ms": round(statistics.median(cold) * 1000, 1),
        "cold_p99_ms": round(pct(cold, 0.99), 1),
        "calls_per_cold_keyword": round(cold_calls / len(cold), 1),
        "replay_calls_per_request": round(calls / requests, 2),
        "replay_calls_per_unique_request": round(calls / len(asked), 2),
        "replay_calls_per_answered_unique_request": round(calls / len(answered), 2),
        "replay_calls_by_method": dict(by_method.most_common()),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
