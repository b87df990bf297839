"""Order sync speed: N orders placed on the sandbox's Taobao face (TOP over HTTP on loopback, served by
a child process so this process's time is the bot's alone), synced into a fresh store in 3-hour
windows of 100-order pages, then synced again (the overlap re-read).

The baseline, measured in the same run on the same database: a bare `executemany` of the same N rows
into a table with the same columns and indexes as `orders`, one transaction (rows/s). The aim is a
first sync at half that rate or better (`ratio_to_bare` ≥ 0.5).

What the ratio compares. The baseline is the database's part alone, with its tuples built before the
clock starts. The sync's figure includes everything the bot does for an order: its share of one
signed HTTP request per 100-order page (the league allows no larger page), reading the JSON answer
(and cleaning its text), mapping it to an `Order` (money to fen, GMT+8 times to UTC), finding its
group, and storing it — the upsert into `orders` AND a first history row in `order_events` (two rows
per order against the baseline's one), with the league's cursor, in one transaction per window (about
250 for 100k orders against the baseline's one). So the ratio is the whole sync against one of its
parts. `read_only_orders_per_cpu_s` shows the league's part on its own: the same pages read again by
the same client, nothing mapped or stored.

Prints orders/s of the first sync (wall clock), the same per CPU second of this process and its
ratio to the baseline's (on a shared machine wall-clock rates move with the neighbours' load; CPU
seconds much less), the sandbox's CPU seconds, the load average before and after, the seconds of the
second sync, and peak RSS. The last line is one JSON object with the figures.

    .venv/bin/python bench/orders.py [--orders N] [--days D] [--database-url URL]

`--database-url` (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) runs it on PostgreSQL, in a
fresh schema dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Column, Engine, Index, MetaData, Table, UniqueConstraint, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/helpers.py (a PostgreSQL schema)

from bot.config import parse_settings
from bot.leagues.taobao.build import build_taobao
from bot.leagues.taobao.league import ORDER_WINDOW, TaobaoLeague
from bot.leagues.taobao.mapping import items
from bot.orders.sync import OrderSync
from bot.store import db
from bot.store.models import OrderRow
from bot.store.orders import count_orders


def serve(orders: int, days: int) -> None:
    """The child: the sandbox with `orders` Taobao orders over the last `days` days, until stdin closes."""
    from tuike_sandbox.server import SandboxServer
    from tuike_sandbox.top_face import TopFace

    async def run() -> None:
        now = datetime.now(UTC)
        async with SandboxServer() as sandbox:
            face = sandbox.face("/router/rest")
            assert isinstance(face, TopFace)
            products = [p for p in face.catalogue.products if face.on_sale(p)]
            span = days * 86_400
            for n in range(orders):
                at = now - timedelta(seconds=span - n * span // orders)
                face.add_order(products[n % len(products)], "110000000001", at)
            print(sandbox.base_url, flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

    asyncio.run(run())


def cpu_of(pid: int) -> float:
    """CPU seconds process `pid` has used so far (user + system, from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def sandbox_process(orders: int, days: int) -> Iterator[tuple[str, int]]:
    """The sandbox in a child process: its base URL and its process id."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--orders", str(orders), "--days", str(days)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.stdout is not None and proc.stdin is not None
    found = re.search(r"http://127\.0\.0\.1:\d+", proc.stdout.readline())
    assert found, "the sandbox did not say where it listens"
    try:
        yield found.group(0), proc.pid
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


@contextmanager
def database(url: str | None) -> Iterator[Engine]:
    if url is None:
        with tempfile.TemporaryDirectory() as folder:
            engine = db.make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
            db.upgrade(engine)
            yield engine
            engine.dispose()
        return
    from tests.helpers import postgres_schema

    with postgres_schema(url) as schema_url:
        engine = db.make_engine(schema_url)
        db.upgrade(engine)
        yield engine
        engine.dispose()


def bare_insert(engine: Engine, rows: int) -> tuple[float, float]:
    """Rows/s (wall, and per CPU second of this process) of one bare driver `executemany` of `rows`
    order-like rows into a scratch table with the columns and indexes of `orders`, committed."""
    source = OrderRow.__table__  # type: ignore[attr-defined]
    scratch = MetaData()
    table = Table(
        "bench_bare_orders",
        scratch,
        *(Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable) for c in source.columns),
        UniqueConstraint("league", "order_id", "sku_id", name="bench_bare_uq"),
    )
    for index in source.indexes:
        Index(f"bench_bare_{index.name}", *(table.c[c.name] for c in index.columns))
    scratch.create_all(engine)
    now = datetime.now(UTC)
    columns = [c.name for c in table.columns if c.name != "id"]
    values = [
        (
            "taobao",
            f"3{n:017d}",
            f"3{n:017d}",
            f"{n % 5000}",
            f"商品 {n % 5000}",
            1000 + n % 997,
            100 + n % 97,
            "pending",
            "mm_1_2_3",
            "",
            "",
            None,
            now,
            now,
            now,
        )
        for n in range(rows)
    ]
    assert len(columns) == len(values[0])
    is_pg = engine.dialect.name == "postgresql"
    marks = ", ".join(["%s" if is_pg else "?"] * len(columns))
    if not is_pg:  # SQLite keeps datetimes as text, as SQLAlchemy writes them
        values = [(*v[:-3], *(str(t.replace(tzinfo=None)) for t in v[-3:])) for v in values]
    sql = f"INSERT INTO bench_bare_orders ({', '.join(columns)}) VALUES ({marks})"
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        start, cpu = time.perf_counter(), time.process_time()
        cursor.executemany(sql, values)
        connection.commit()
        took, cpu_took = time.perf_counter() - start, time.process_time() - cpu
        cursor.close()
    finally:
        connection.close()
    with engine.begin() as c:
        c.execute(text("DROP TABLE bench_bare_orders"))
    return rows / took, rows / max(cpu_took, 1e-9)


async def read_only(league: TaobaoLeague, since: datetime, until: datetime) -> tuple[int, float]:
    """(orders, CPU seconds) of reading every page of [since, until) again with the league's own
    client, window by window as the sync does, without mapping or storing anything."""
    read, cpu = 0, time.process_time()
    while since < until:
        end = min(since + ORDER_WINDOW, until)
        page_no, position = 1, ""
        while True:
            data = await league.client.order_details(since, end, page_no=page_no, position_index=position)
            body = data.get("data") or {}
            read += len(items(body.get("results"), "publisher_order_dto"))
            position = str(body.get("position_index") or "")
            if not body.get("has_next") or not position:
                break
            page_no += 1
        since = end
    return read, time.process_time() - cpu


def load() -> float:
    return round(os.getloadavg()[0], 2)


async def main(orders: int, days: int, url: str | None) -> dict[str, object]:
    load_before = load()
    settings = parse_settings({"leagues": {"taobao": {"enabled": True}}})
    with sandbox_process(orders, days) as (base_url, sandbox_pid), database(url) as engine:
        bare, bare_cpu = bare_insert(engine, orders)
        league = build_taobao(settings, base_url, engine)
        syncer = OrderSync(engine, {"taobao": league}, lookback=timedelta(days=days + 1))
        start, cpu, served = time.perf_counter(), time.process_time(), cpu_of(sandbox_pid)
        [first] = await syncer.run()
        took, cpu_took = time.perf_counter() - start, time.process_time() - cpu
        served = cpu_of(sandbox_pid) - served
        start = time.perf_counter()
        [again] = await syncer.run()
        again_took = time.perf_counter() - start
        stored = count_orders(engine)
        assert first.start is not None
        read, read_cpu = await read_only(league, first.start, first.start + timedelta(days=days + 1))
        await league.aclose()
    assert first.ok and again.ok and stored == orders == read, (first, again, stored, read)
    rate = orders / took
    figures: dict[str, object] = {
        "database": "postgresql" if url else "sqlite",
        "orders": orders,
        "windows": first.windows,
        "orders_per_s": round(rate, 1),
        "bare_insert_rows_per_s": round(bare, 1),
        "ratio_to_bare": round(rate / bare, 3),
        "orders_per_cpu_s": round(orders / cpu_took, 1),
        "bare_insert_rows_per_cpu_s": round(bare_cpu, 1),
        "cpu_ratio_to_bare": round(orders / cpu_took / bare_cpu, 3),
        "read_only_orders_per_cpu_s": round(read / read_cpu, 1),
        "first_sync_s": round(took, 2),
        "first_sync_cpu_s": round(cpu_took, 2),
        "sandbox_cpu_s": round(served, 2),
        "second_sync_s": round(again_took, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_before": load_before,
        "load_after": load(),
    }
    print(
        f"{figures['database']}: synced {orders} orders in {took:.2f} s ({rate:.0f} orders/s, "
        f"{cpu_took:.2f} CPU s of this process), {first.windows} windows; bare executemany of as many rows "
        f"{bare:.0f} rows/s: ratio {rate / bare:.3f} (aim ≥ 0.5); per CPU second "
        f"{figures['orders_per_cpu_s']:.0f} against {bare_cpu:.0f}: {figures['cpu_ratio_to_bare']}"
    )
    print(
        f"the same pages read again, nothing mapped or stored: {figures['read_only_orders_per_cpu_s']:.0f} "
        f"orders per CPU second; sandbox {served:.2f} CPU s; load {load_before} → {figures['load_after']}"
    )
    print(f"second sync (overlap only): {again_took:.2f} s; peak RSS {figures['peak_rss_mb']} MB")
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.orders, args.days)
    else:
        print(json.dumps(asyncio.run(main(args.orders, args.days, args.database_url))))
