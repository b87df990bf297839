"""A sync window finds the lines it already holds by the unique index, one lookup per line, on a table
never analysed (servers without autovacuum exist): a plan that read every stored order of the league
per window made a first sync of 100k orders quadratic — on PostgreSQL each window hashed all of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from bot.leagues.base import Order
from bot.store import order_window
from bot.store.driver import driver_transaction
from bot.store.models import utcnow
from bot.store.orders import count_orders, store_window

AT = datetime(2026, 11, 10, 4, 0, tzinfo=UTC)
INDEX = "uq_order_league_order_sku"


def _lines(first: int, count: int) -> list[tuple[Order, int | None]]:
    return [
        (Order(f"3{n:017d}", f"3{n:016d}0", "p", "商品", 100, 10, "pending", "", AT, AT, "mm_1_2_3"), None)
        for n in range(first, first + count)
    ]


def test_a_window_looks_its_known_lines_up_by_index(store: Engine) -> None:
    store_window(store, "taobao", _lines(0, 5_000), AT)  # a table the planner has no statistics for
    assert count_orders(store) == 5_000
    window = order_window.latest_lines(_lines(4_800, 400))  # half known, half new
    with driver_transaction(store) as cursor:
        if store.dialect.name == "postgresql":
            columns = list(zip(*window, strict=True))
            params = {name: list(v) for name, v in zip(order_window._COLUMNS, columns, strict=True)}
            params.update(league="taobao", cursor=AT + timedelta(hours=1), now=utcnow())
            cursor.execute("EXPLAIN " + order_window._PG_WINDOW, params, prepare=False)  # planned, not run
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert f"Index Scan using {INDEX} on orders" in plan, plan
            assert "Seq Scan on orders" not in plan and "Bitmap Heap Scan on orders" not in plan, plan
        else:
            ids = order_window.json.dumps(sorted({line[0] for line in window}))
            cursor.execute("EXPLAIN QUERY PLAN " + order_window._SQLITE_KNOWN, ("taobao", ids))
            plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
            # the unique constraint's own index (SQLite names it `sqlite_autoindex_orders_1`)
            assert "SEARCH orders USING INDEX" in plan and "(league=? AND order_id=?)" in plan, plan
    stored = store_window(store, "taobao", _lines(4_800, 400), AT + timedelta(hours=1))
    assert (stored.new, stored.unchanged) == (200, 200)
