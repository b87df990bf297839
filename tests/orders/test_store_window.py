"""One sync window stored set-wise (one lookup per 500 ids, one multi-row insert, one executemany
update): as idempotent as a row at a time — every line once, a repeat is an update, a change is one
history entry, an older state read again changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from bot.leagues.base import Order
from bot.store.groups import ensure_group
from bot.store.models import OrderEvent, OrderRow
from bot.store.orders import count_orders, history, read_cursor, store_window

AT = datetime(2026, 11, 10, 4, 0, tzinfo=UTC)
LONG = "8" * 70  # longer than the 64-character id column: kept with a hash of the whole id


def _line(n: int, status: str = "pending", later: int = 0, sku: str = "s") -> Order:
    when = AT + timedelta(seconds=later)
    return Order(f"{n:012d}", sku, "p", "商品", 1_000 + n, 100 + n, status, "", AT, when)


def _events(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(OrderEvent)).one())


def test_a_big_window_stores_every_line_once_and_repeats_are_updates(store: Engine) -> None:
    group = ensure_group(store, "a@chatroom", "甲群")
    lines = [(_line(n), group.id if n % 2 else None) for n in range(1_234)]
    lines += [(_line(7, "settled", later=5), None)]  # listed twice in one window: the newer counts
    lines += [(_line(1, sku=LONG + "a"), None), (_line(1, sku=LONG + "b"), None)]
    first = store_window(store, "jd", lines, AT + timedelta(hours=1))
    assert (first.new, first.changed) == (1_236, 0)
    assert count_orders(store) == 1_236 and _events(store) == 1_236
    assert [e.status for e in history(store, "jd", f"{7:012d}", "s")] == ["settled"]
    assert read_cursor(store, "jd") == AT + timedelta(hours=1)

    again = store_window(store, "jd", [(order, None) for order, _ in lines], AT + timedelta(minutes=30))
    assert (again.new, again.changed) == (0, 0) and again.unchanged == 1_236
    assert count_orders(store) == 1_236 and _events(store) == 1_236
    assert read_cursor(store, "jd") == AT + timedelta(hours=1)  # a cursor never moves back
    with Session(store) as session:
        kept = session.exec(select(OrderRow).where(OrderRow.order_id == f"{3:012d}")).one()
        assert kept.group_id == group.id  # read again without a group: the group stays

    moves = [(_line(n, "cancelled", later=60), None) for n in range(100, 110)]
    moves += [(_line(200, "settled", later=-60), None)]  # an older state than the one stored
    moved = store_window(store, "jd", moves, AT + timedelta(hours=2))
    assert (moved.new, moved.changed, moved.unchanged) == (0, 10, 1)
    assert _events(store) == 1_246
    assert [e.status for e in history(store, "jd", f"{105:012d}", "s")] == ["pending", "cancelled"]
    assert [e.status for e in history(store, "jd", f"{200:012d}", "s")] == ["pending"]
    with Session(store) as session:
        ids = session.exec(select(OrderRow.sku_id).where(col(OrderRow.sku_id).startswith("8"))).all()
    assert len(set(ids)) == 2 and all(len(i) == 64 for i in ids)


def test_text_is_cleaned_and_times_are_kept_as_the_same_instant(store: Engine) -> None:
    """The window writes on the driver's own cursor: what `SafeString` cleans is cleaned the same, and
    a league's local time is the same instant once stored (read back in UTC)."""
    gmt8 = timezone(timedelta(hours=8))
    local = datetime(2026, 11, 10, 12, 0, tzinfo=gmt8)  # 04:00 UTC
    odd = Order("a\x00b", "s\ud800", "p", "标题\x00" + "长" * 300, 500, 50, "pending", "", local, local)
    stored = store_window(store, "taobao", [(odd, None)], AT)
    assert stored.new == 1
    with Session(store) as session:
        row = session.exec(select(OrderRow).where(OrderRow.league == "taobao")).one()
    assert (row.order_id, row.sku_id) == ("ab", "s")
    assert "\x00" not in row.title and len(row.title) == 256
    assert row.updated_at.replace(tzinfo=row.updated_at.tzinfo or UTC) == AT
    again = store_window(store, "taobao", [(odd, None)], AT)  # the same line again: found by its cleaned key
    assert (again.new, again.changed, again.unchanged) == (0, 0, 1)
    assert count_orders(store, "taobao") == 1
