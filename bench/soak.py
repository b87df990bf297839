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
the latencies counted in a fixed histogram (2% buckets), so the bench's own memory does not grow with
the run (an array of every latency grew by 8 bytes a message: 3 MB of a 500k run's growth).

Finding what grows: `--trace` takes `tracemalloc` snapshots at the warm-up and at the end and prints
the lines whose allocations grew most between them (with the stack of the largest), the Python objects
by type that grew, glibc's heap (in use, free inside the arenas, mmapped) and the threads; `--trim`
calls `malloc_trim` before each RSS sample, so what remains is held, not merely not given back.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import json
import logging
import math
import random
import tempfile
import threading
import time
import tracemalloc
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


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
            "fordblks", "keepcost",
        )
    ]  # fmt: skip


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


LIBC = _libc()


def heap_mb() -> dict[str, float]:
    """glibc's view (mallinfo2): bytes in use, free but kept inside the arenas, and mmapped blocks."""
    if LIBC is None or not hasattr(LIBC, "mallinfo2"):
        return {}
    LIBC.mallinfo2.restype = _MallInfo2
    info = LIBC.mallinfo2()
    mb = 1024 * 1024
    return {
        "in_use_mb": round(info.uordblks / mb, 1),
        "free_in_arenas_mb": round(info.fordblks / mb, 1),
        "mmapped_mb": round(info.hblkhd / mb, 1),
    }


def pymalloc_mb() -> dict[str, float]:
    """Python's small-object allocator (its own mmapped arenas, which glibc does not count): blocks in
    use, and arena space held but free (an arena is given back only when wholly empty)."""
    import os
    import sys

    with tempfile.TemporaryFile() as out:
        saved = os.dup(2)
        try:
            os.dup2(out.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read().decode(errors="replace")
    found: dict[str, float] = {}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        key = key.strip("# ").strip()
        if key in ("bytes in allocated blocks", "Total") and value.strip():
            name = "pymalloc_used_mb" if key.startswith("bytes") else "pymalloc_arenas_mb"
            found.setdefault(name, round(int(value.replace(",", "")) / 2**20, 1))
    return found


def trim() -> None:
    if LIBC is not None:
        LIBC.malloc_trim(0)


def load_average() -> float:
    """The machine's one-minute load (it is shared: a figure means little without it)."""
    return round(float(Path("/proc/loadavg").read_text().split()[0]), 2)


def threads() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return threading.active_count()


def object_counts() -> Counter[str]:
    gc.collect()
    return Counter(type(o).__qualname__ for o in gc.get_objects())


class Probe:
    """What `--trace` looks at, at the warm-up and at the end: tracemalloc, objects, glibc's heap."""

    def __init__(self, frames: int) -> None:
        tracemalloc.start(frames)
        self.marks: list[tuple[str, tracemalloc.Snapshot, Counter[str], dict[str, float], int]] = []

    def mark(self, label: str) -> None:
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, __file__)]
        )
        self.marks.append((label, snapshot, object_counts(), heap_mb(), threads()))

    def report(self) -> dict[str, object]:
        (a, snap_a, objs_a, heap_a, threads_a), (b, snap_b, objs_b, heap_b, threads_b) = (
            self.marks[0],
            self.marks[-1],
        )
        print(f"--trace: {a} → {b}")
        size_a = sum(s.size for s in snap_a.statistics("filename"))
        size_b = sum(s.size for s in snap_b.statistics("filename"))
        print(f"  traced Python heap {size_a / 2**20:.1f} → {size_b / 2**20:.1f} MB")
        print(f"  glibc heap {heap_a} → {heap_b}; threads {threads_a} → {threads_b}")
        diff = snap_b.compare_to(snap_a, "lineno")
        for stat in diff[:15]:
            frame = stat.traceback[0]
            print(
                f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+8d} blocks  "
                f"{frame.filename.split('site-packages/')[-1]}:{frame.lineno}"
            )
        for stat in snap_b.compare_to(snap_a, "traceback")[:3]:
            print(f"  stack of {stat.size_diff / 1024:+.1f} KiB:")
            for line in stat.traceback.format(most_recent_first=True)[:16]:
                print(f"    {line}")
        grown = Counter({k: objs_b[k] - objs_a.get(k, 0) for k in objs_b})
        print("  objects grown: " + ", ".join(f"{k} {v:+d}" for k, v in grown.most_common(12)))
        return {
            "traced_heap_growth_mb": round((size_b - size_a) / 2**20, 2),
            "glibc_heap_at_warmup": heap_a,
            "glibc_heap_at_end": heap_b,
            "threads_at_end": threads_b,
        }


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

    def __init__(
        self,
        batch: Iterator[Incoming],
        concurrency: int,
        sample_every: int,
        *,
        warm_up: int = 0,
        probe: Probe | None = None,
        trim_first: bool = False,
        rate: float = 0.0,
    ) -> None:
        self.batch = batch
        self.concurrency = concurrency
        self.sample_every = sample_every
        self.warm_up = warm_up
        self.probe = probe
        self.trim_first = trim_first
        self.rate = rate
        """Messages a second at most (0: unpaced). The limiter's windows are minutes, so what a run
        holds depends on how long it lasts: runs compared should last alike."""
        self.taken = 0
        self.heap_at_warm_up: dict[str, float] = {}
        self.app: App | None = None
        self.links_held: list[int] = [0]
        """Links in the link cache's memory at each RSS sample (it fills to its capacity, by design)."""
        self.latencies = Latencies()
        self.samples: list[tuple[int, float]] = [(0, rss_mb())]
        """(messages handled, RSS in MB)."""
        self.replies = 0
        self.apologies = 0
        self.errors = 0

    def links_in_memory(self) -> int:
        parts = self.app.parts if self.app is not None else None
        cache = parts.__dict__.get("links") if parts is not None else None  # never built by asking
        return len(cache.keys()) if cache is not None else 0

    async def run(self, handler: MessageHandler) -> None:
        began = time.perf_counter()

        async def worker() -> None:
            for message in self.batch:  # one iterator shared by the workers
                self.taken += 1
                if self.rate:
                    ahead = began + self.taken / self.rate - time.perf_counter()
                    if ahead > 0:
                        await asyncio.sleep(ahead)
                start = time.perf_counter()
                try:
                    await handler(message)
                except Exception:
                    self.errors += 1
                self.latencies.add(time.perf_counter() - start)
                done = self.latencies.count
                if done % self.sample_every == 0:
                    if self.trim_first:
                        trim()
                    self.samples.append((done, rss_mb()))
                    self.links_held.append(self.links_in_memory())
                if done == self.warm_up:
                    self.heap_at_warm_up = heap_mb() | pymalloc_mb()
                    if self.probe is not None:
                        self.probe.mark(f"{done:,} messages")

        await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        if self.probe is not None:
            self.probe.mark(f"{self.latencies.count:,} messages")

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
            f"{record.levelname} {record.getMessage()[:100]} "
            f"{type(detail).__name__ if detail else ''}: {detail}"[:300]
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


class Latencies:
    """A histogram of latencies in buckets 2% wide from 1 µs (a percentile is its bucket's top edge):
    fixed memory however long the run."""

    RATIO = 1.02
    BUCKETS = 1_000  # 1 µs × 1.02^1000 ≈ 400 s

    def __init__(self) -> None:
        self.buckets = array("Q", bytes(8 * self.BUCKETS))
        self.count = 0
        self.max = 0.0

    def add(self, seconds: float) -> None:
        at = int(math.log(max(seconds, 1e-6) / 1e-6, self.RATIO))
        self.buckets[min(at, self.BUCKETS - 1)] += 1
        self.count += 1
        self.max = max(self.max, seconds)

    def ms(self, q: float) -> float:
        """The q-quantile in milliseconds."""
        rank, seen = int(self.count * q), 0
        for at, n in enumerate(self.buckets):
            seen += n
            if seen > rank:
                return 1e-3 * self.RATIO ** (at + 1)
        return 0.0


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--senders", type=int, default=5_000)
    parser.add_argument("--groups", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--sample-every", type=int, default=5_000)
    parser.add_argument("--warm-up", type=int, default=50_000)
    parser.add_argument(
        "--trace", action="store_true", help="tracemalloc, objects and glibc's heap: warm-up → end"
    )
    parser.add_argument("--trace-frames", type=int, default=8)
    parser.add_argument("--rate", type=float, default=0.0, help="messages a second at most (0: unpaced)")
    parser.add_argument(
        "--trim", action="store_true", help="malloc_trim before each RSS sample (held vs not given back)"
    )
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
    probe = Probe(args.trace_frames) if args.trace else None
    channel = SoakChannel(
        batch,
        args.concurrency,
        args.sample_every,
        warm_up=args.warm_up,
        probe=probe,
        trim_first=args.trim,
        rate=args.rate,
    )
    started = time.perf_counter()
    app = channel.app = App(LoadedConfig(settings, tmp / "config.toml", is_example=False), channel=channel)
    await app.run()
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
        "latency_p50_ms": round(channel.latencies.ms(0.5), 2),
        "latency_p99_ms": round(channel.latencies.ms(0.99), 2),
        "latency_max_ms": round(channel.latencies.max * 1000, 1),
        "replies": channel.replies,
        "apologies": channel.apologies,
        "handler_errors": channel.errors,
        "request_log_rows": logged,
        "group_rows": groups,
        "log_warnings": tally.levels["WARNING"],
        "log_errors": tally.levels["ERROR"] + tally.levels["CRITICAL"],
        "concurrency": args.concurrency,
        "database": "postgresql" if args.url else "sqlite",
        "trimmed": args.trim,
        "rate": args.rate,
        "threads_at_end": threads(),
        "links_in_memory": channel.links_in_memory(),
        "heap_at_warmup": channel.heap_at_warm_up,
        "heap_at_end": heap_mb() | pymalloc_mb(),
        "load_average": load_average(),
    }
    if probe is not None:
        figures |= probe.report()
    print(f"{args.messages:,} messages in {elapsed:.1f} s ({figures['messages_per_second']:,} msg/s)")
    print(
        f"RSS {rss_before:.0f} MB → {rss_after:.0f} MB; after {args.warm_up:,} messages "
        f"{figures['rss_at_warmup_mb']} MB, then +{figures['rss_growth_after_warmup_mb']} MB at most, "
        f"slope {figures['rss_slope_mb_per_100k']} MB per 100k messages"
    )
    print(
        "RSS MB (links cached) by messages: "
        + ", ".join(
            f"{x // 1000}k {y:.0f} ({n:,})"
            for (x, y), n in zip(channel.samples, channel.links_held, strict=False)
        )
    )
    print(
        f"latency p50 {figures['latency_p50_ms']} ms, p99 {figures['latency_p99_ms']} ms, "
        f"max {figures['latency_max_ms']} ms"
    )
    print(f"{channel.replies:,} replies, {channel.apologies} apologies, {channel.errors} handler errors")
    print(f"store kept {logged:,} request log rows and {groups:,} groups")
    errors_first = sorted(tally.messages.items(), key=lambda kv: (not kv[0].startswith("ERROR"), -kv[1]))
    for message, times in errors_first[:5]:
        print(f"  logged {times}×: {message}")
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
