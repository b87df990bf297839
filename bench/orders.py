"""Order sync speed: N orders placed on the sandbox's Taobao face (TOP over HTTP on loopback), synced
into a fresh SQLite store in 3-hour windows of 100-order pages, then synced again (the overlap re-read).

Prints orders/s of the first sync, the seconds of the second, and peak RSS (the sandbox serves from the
same process, so its order list counts too), and the process CPU seconds of the first sync (on a
shared machine, wall-clock orders/s moves with the neighbours' load; CPU seconds much less). The last
line is one JSON object with the figures.

    .venv/bin/python bench/orders.py [--orders N] [--days D]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import parse_settings
from bot.leagues.taobao.build import build_taobao
from bot.orders.sync import OrderSync
from bot.store import db
from bot.store.orders import count_orders
from tuike_sandbox.server import SandboxServer
from tuike_sandbox.top_face import TopFace


async def main(orders: int, days: int) -> dict[str, float]:
    settings = parse_settings({"leagues": {"taobao": {"enabled": True}}})
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as folder:
        engine = db.make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        db.upgrade(engine)
        async with SandboxServer() as sandbox:
            face = sandbox.face("/router/rest")
            assert isinstance(face, TopFace)
            products = [p for p in face.catalogue.products if face.on_sale(p)]
            span = days * 86_400
            for n in range(orders):
                at = now - timedelta(seconds=span - n * span // orders)
                face.add_order(products[n % len(products)], "110000000001", at)
            league = build_taobao(settings, sandbox.base_url, engine)
            syncer = OrderSync(engine, {"taobao": league}, lookback=timedelta(days=days + 1))
            start, cpu = time.perf_counter(), time.process_time()
            [first] = await syncer.run()
            took, cpu_took = time.perf_counter() - start, time.process_time() - cpu
            start = time.perf_counter()
            [again] = await syncer.run()
            again_took = time.perf_counter() - start
            stored = count_orders(engine)
            await league.aclose()
        engine.dispose()
    assert first.ok and again.ok and stored == orders, (first, again, stored)
    figures = {
        "orders": orders,
        "windows": first.windows,
        "orders_per_s": round(orders / took, 1),
        "first_sync_s": round(took, 2),
        "first_sync_cpu_s": round(cpu_took, 2),
        "second_sync_s": round(again_took, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(
        f"synced {orders} orders in {took:.1f} s ({figures['orders_per_s']} orders/s, {cpu_took:.1f} CPU s), "
        f"{first.windows} windows"
    )
    print(f"second sync (overlap only): {again_took:.2f} s; peak RSS {figures['peak_rss_mb']} MB")
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.orders, args.days))))
