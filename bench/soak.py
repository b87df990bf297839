"""Soak: 100,000 hostile messages from 5,000 senders in 2,000 groups through the whole bot.

    .venv/bin/python bench/soak.py [--messages 100000] [--url postgresql+psycopg://...] [--concurrency 20]

The real App (router, handlers, store, request log, push service, sandbox league on loopback) behind a
channel that delivers messages concurrently and unpaced, like a busy gateway. The mix: ordinary chat,
keyword requests, pasted links and 口令-like noise, commands from members who are not owners, and the
texts that used to hurt: NUL, lone surrogates, zero-width and control characters, 10,000-character
messages, group names over 256 characters, chat ids over 128.

Prints RSS before and after, latency (message in → handler done, reply sent), replies, apologies, and
what the store kept; the last line is one JSON object of those figures. Not part of the test run.

Memory over time: RSS is sampled every `--sample-every` messages; `rss_slope_mb_per_100k` is the
least-squares slope after the first `--warm-up` messages (aim: flat, `rss_growth_after_warmup_mb`
under 10 MB over 500k messages), beside `rss_at_warmup_mb`. The messages are made as they are sent and
the latencies kept as 8-byte doubles, so the bench's own memory does not grow with the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import tempfile
import time
from array import array
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

from bot.app import App
from bot.chat.base import Incoming, MessageHandler, Outgoing, Text
from bot.compose import APOLOGY
from bot.config import LoadedConfig, parse_settings
from bot.store import db
from bot.store.models import Group, RequestLog

KEYWORDS = ["蓝牙耳机", "纸巾", "洗衣液", "零食", "牛奶", "口红", "运动鞋", "猫粮", "充电宝", "手机壳"]
CHAT = ["哈哈哈哈", "收到", "晚安各位", "明天几点集合", "666", "[表情]", "谁下午一起吃饭", "好的好的"]
NOISE = [
    "\x00",
    "\ud83d",
    "\udc80",
    "\u200b\u200c\u200d\ufeff",
    "\u202e",
    "\x07\x1b[31m",
    "' OR 1=1 --",
    "{{ 7*7 }}",
    "${jndi:ldap://x}",
    "<script>alert(1)</script>",
    "😀" * 50,
]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def hostile_text(rnd: random.Random) -> str:
    roll = rnd.random()
    if roll < 0.45:
        text = rnd.choice(CHAT)
    elif roll < 0.65:
        text = f"找 {rnd.choice(KEYWORDS)}"
    elif roll < 0.72:
        text = f"https://store.weixin.qq.com/shop/a/{rnd.randrange(16**10):010x}"
    elif roll < 0.76:
        text = (
            f"【淘宝】https://m.tb.cn/h.{rnd.randrange(16**6):06x}?tk=x CZ{rnd.randrange(9999):04d} 「耳机」"
        )
    elif roll < 0.80:
        text = rnd.choice(["帮助", "订阅状态", "订阅 每天 8点", "退订", "佣金"])
    elif roll < 0.83:
        text = "x" * 10_000 if rnd.random() < 0.5 else "找 " + "耳机" * 5_000
    else:
        text = rnd.choice(["找 ", "", "哈哈"]) + rnd.choice(KEYWORDS) + rnd.choice(NOISE)
    if rnd.random() < 0.05:
        text = rnd.choice(NOISE) + text
    return text


def messages(count: int, senders: int, groups: int, seed: int = 17) -> Iterator[Incoming]:
    rnd = random.Random(seed)
    for i in range(count):
        g = rnd.randrange(groups)
        if g % 97 == 0:
            chat_id, name = f"{'长' * 150}{g}@chatroom", "群" * 300  # id over 128, name over 256
        elif g % 89 == 0:
            chat_id, name = f"room{g}@chatroom", f"群\x00{g}\ud800"
        else:
            chat_id, name = f"room{g}@chatroom", f"好物群{g}"
        s = rnd.randrange(senders)
        yield (
            Incoming(
                message_id=f"m{i}",
                chat_id=chat_id,
                chat_name=name,
                sender_id=f"wxid_{s:05d}",
                sender_name=f"成员{s}",
                text=hostile_text(rnd),
                is_group=True,
                mentioned=rnd.random() < 0.1,
            )
        )


class SoakChannel:
    """Delivers the messages `concurrency` at a time, unpaced ("console": no account to protect)."""

    name = "console"

    def __init__(self, batch: Iterator[Incoming], concurrency: int, sample_every: int) -> None:
        self.batch = batch
        self.concurrency = concurrency
        self.sample_every = sample_every
        self.latencies = array("d")
        self.samples: list[tuple[int, float]] = [(0, rss_mb())]
        """(messages handled, RSS in MB)."""
        self.replies = 0
        self.apologies = 0
        self.errors = 0

    async def run(self, handler: MessageHandler) -> None:
        async def worker() -> None:
            for message in self.batch:  # one iterator shared by the workers
                start = time.perf_counter()
                try:
                    await handler(message)
                except Exception:
                    self.errors += 1
                self.latencies.append(time.perf_counter() - start)
                if len(self.latencies) % self.sample_every == 0:
                    self.samples.append((len(self.latencies), rss_mb()))

        await asyncio.gather(*(worker() for _ in range(self.concurrency)))

    async def send(self, message: Outgoing) -> None:
        self.replies += 1
        if any(isinstance(p, Text) and APOLOGY in p.text for p in message.reply.parts):
            self.apologies += 1

    async def stop(self) -> None:
        return None


class Tally(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.levels: Counter[str] = Counter()
        self.messages: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.levels[record.levelname] += 1
        detail = record.exc_info[1] if record.exc_info else None
        self.messages[
            f"{record.getMessage()[:100]} {type(detail).__name__ if detail else ''}: {detail}"[:300]
        ] += 1


def slope_mb_per_100k(samples: list[tuple[int, float]]) -> float:
    """Least-squares slope of RSS over messages, in MB per 100,000 messages."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mean_x = sum(x for x, _ in samples) / n
    mean_y = sum(y for _, y in samples) / n
    spread = sum((x - mean_x) ** 2 for x, _ in samples)
    if not spread:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in samples) / spread * 100_000


def pct(values: list[float] | array[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000 if ordered else 0.0


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--senders", type=int, default=5_000)
    parser.add_argument("--groups", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--sample-every", type=int, default=5_000)
    parser.add_argument("--warm-up", type=int, default=50_000)
    parser.add_argument(
        "--url", default="", help="database URL (PostgreSQL must be upgraded); default SQLite"
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="tuike-soak-"))
    raw: dict[str, object] = {
        "bot": {"data_dir": str(tmp), "log_level": "WARNING"},
        "push": {"enabled": False},
    }
    if args.url:
        raw["database"] = {"url": args.url}
        db.upgrade(db.make_engine(args.url))
    settings = parse_settings(raw)
    tally = Tally()
    logging.getLogger().addHandler(tally)
    batch = messages(args.messages, args.senders, args.groups)
    rss_before = rss_mb()
    channel = SoakChannel(batch, args.concurrency, args.sample_every)
    started = time.perf_counter()
    await App(LoadedConfig(settings, tmp / "config.toml", is_example=False), channel=channel).run()
    elapsed = time.perf_counter() - started
    rss_after = rss_mb()

    engine = db.make_engine(settings.database_url)
    with Session(engine) as session:
        logged = session.exec(select(func.count()).select_from(RequestLog)).one()
        groups = session.exec(select(func.count()).select_from(Group)).one()
    engine.dispose()

    warm = [(x, y) for x, y in channel.samples if x >= args.warm_up] or channel.samples[-1:]
    figures = {
        "messages": args.messages,
        "seconds": round(elapsed, 1),
        "messages_per_second": round(args.messages / elapsed, 1),
        "rss_before_mb": round(rss_before, 1),
        "rss_after_mb": round(rss_after, 1),
        "rss_at_warmup_mb": round(warm[0][1], 1),
        "rss_growth_after_warmup_mb": round(max(y for _, y in warm) - warm[0][1], 1),
        "rss_slope_mb_per_100k": round(slope_mb_per_100k(warm), 2),
        "latency_p50_ms": round(pct(channel.latencies, 0.5), 2),
        "latency_p99_ms": round(pct(channel.latencies, 0.99), 2),
        "latency_max_ms": round(max(channel.latencies) * 1000, 1),
        "replies": channel.replies,
        "apologies": channel.apologies,
        "handler_errors": channel.errors,
        "request_log_rows": logged,
        "group_rows": groups,
        "log_warnings": tally.levels["WARNING"],
        "log_errors": tally.levels["ERROR"] + tally.levels["CRITICAL"],
        "concurrency": args.concurrency,
        "database": "postgresql" if args.url else "sqlite",
    }
    print(f"{args.messages:,} messages in {elapsed:.1f} s ({figures['messages_per_second']:,} msg/s)")
    print(
        f"RSS {rss_before:.0f} MB → {rss_after:.0f} MB; after {args.warm_up:,} messages "
        f"{figures['rss_at_warmup_mb']} MB, then +{figures['rss_growth_after_warmup_mb']} MB at most, "
        f"slope {figures['rss_slope_mb_per_100k']} MB per 100k messages"
    )
    print(
        f"latency p50 {figures['latency_p50_ms']} ms, p99 {figures['latency_p99_ms']} ms, "
        f"max {figures['latency_max_ms']} ms"
    )
    print(f"{channel.replies:,} replies, {channel.apologies} apologies, {channel.errors} handler errors")
    print(f"store kept {logged:,} request log rows and {groups:,} groups")
    for message, times in tally.messages.most_common(5):
        print(f"  logged {times}×: {message}")
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
