"""Rebate reconcile after an order sync: what taking each member's ledger lock costs.

`reconcile` (bot/store/rebate.py) reads every binding once without a lock, then brings each member
whose credits are behind in line in a transaction of its own under their ledger lock (BEGIN IMMEDIATE
on SQLite, an advisory lock on PostgreSQL), so a 提现 at the same moment never reads a half-settled
balance. The baseline, measured in the same run on an identical store: the same work in one
transaction and no lock (how reconcile ran before).

N members each bind two orders (through `bind`, as 绑定 does); then every order settles and
reconcile runs (every member behind), then runs again (nobody behind: what most syncs see).

    .venv/bin/python bench/rebate.py [--members N] [--database-url URL]

The last line is one JSON object of the figures (see bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/helpers.py (a PostgreSQL schema)

from bot.leagues.base import Order
from bot.store import db
from bot.store import rebate as ledger
from bot.store.models import RebateBinding
from bot.store.orders import store_window

NOW = datetime.now(UTC).replace(microsecond=0)


@contextmanager
def fresh_store(url: str | None) -> Iterator[Engine]:
    if url is None:
        engine = db.make_engine(f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}")
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


def _orders(members: int, status: str) -> list[tuple[Order, int | None]]:
    placed = NOW - timedelta(days=2)
    return [
        (Order(f"7{m:07d}{k}", "s", "p", "商品", 10_000, 1_000 + k, status, "", placed, NOW), None)
        for m in range(members)
        for k in range(2)
    ]


def prepare(engine: Engine, members: int) -> float:
    """Orders placed, each member binds their two; then the league settles them all. Seconds binding."""
    store_window(engine, "jd", _orders(members, "pending"), NOW)
    started = time.perf_counter()
    for m in range(members):
        for k in range(2):
            assert ledger.bind(engine, f"wx_m{m}", f"7{m:07d}{k}", 50).outcome == "bound"
    took = time.perf_counter() - started
    store_window(engine, "jd", _orders(members, "settled"), NOW + timedelta(minutes=1))
    return took


def one_transaction(engine: Engine) -> int:
    """The baseline: every binding brought in line in one transaction, no lock (reconcile before)."""
    with Session(engine) as session:
        bindings = list(session.exec(select(RebateBinding)))
        lines = ledger._order_lines(session, bindings)
        appended = sum(ledger._append_difference(session, b, lines[(b.league, b.order_id)]) for b in bindings)
        session.commit()
    return appended


def timed(work: Callable[[], int]) -> tuple[float, int]:
    started = time.perf_counter()
    appended = work()
    return time.perf_counter() - started, appended


def main(members: int, url: str | None) -> dict[str, float]:
    with fresh_store(url) as engine:
        bind_s = prepare(engine, members)
        locked_s, locked_entries = timed(lambda: ledger.reconcile(engine))
        again_s, again_entries = timed(lambda: ledger.reconcile(engine))
    with fresh_store(url) as engine:
        prepare(engine, members)
        bare_s, bare_entries = timed(lambda: one_transaction(engine))
        bare_again_s, _ = timed(lambda: one_transaction(engine))
    assert locked_entries == bare_entries == 4 * members and again_entries == 0
    figures = {
        "members": members,
        "binds_per_s": round(2 * members / bind_s, 1),
        "reconcile_all_behind_s": round(locked_s, 3),
        "one_transaction_all_behind_s": round(bare_s, 3),
        "ratio_all_behind": round(locked_s / bare_s, 2),
        "reconcile_none_behind_s": round(again_s, 3),
        "one_transaction_none_behind_s": round(bare_again_s, 3),
    }
    print(
        f"{'PostgreSQL' if url else 'SQLite'}: {members} members × 2 orders, {2 * members / bind_s:.0f} binds/s"
    )
    print(
        f"all behind: per-member locked {locked_s:.2f} s vs one transaction {bare_s:.2f} s "
        f"(×{locked_s / bare_s:.2f}); none behind: {again_s:.3f} s vs {bare_again_s:.3f} s"
    )
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    print(json.dumps(main(args.members, args.database_url)))
