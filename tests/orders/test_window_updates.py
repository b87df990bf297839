"""What the set-wise window store and the sync's read-ahead must keep, on SQLite and PostgreSQL alike:
an order read again keeps the group it was credited to, a refund after settlement stops counting and
stays in the history, and windows read out of order are still stored in order — a failed read stops
the sync at the last window stored before it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.leagues.base import LeagueUnavailable, Order
from bot.orders import sync as sync_module
from bot.orders.sync import OrderSync
from bot.store import orders as store
from bot.store.groups import ensure_group
from bot.store.models import OrderEvent, OrderRow
from bot.store.order_window import FEN_LIMIT

AT = datetime(2026, 11, 10, 4, 0, tzinfo=UTC)


def _line(order_id: str, status: str, later: int, paid: int = 12_900, commission: int = 516) -> Order:
    return Order(
        order_id,
        order_id[:-1] + "0",
        "p1",
        "蓝牙耳机",
        paid,
        commission,
        status,
        "",
        AT,
        AT + timedelta(minutes=later),
        pid="mm_1_2_3",
    )


def _row(engine: Engine, order_id: str) -> OrderRow:
    with Session(engine) as session:
        return session.exec(select(OrderRow).where(OrderRow.order_id == order_id)).one()


def test_an_order_read_again_keeps_its_group_and_takes_its_new_state(store_engine: Engine) -> None:
    amy = ensure_group(store_engine, "amy@chatroom", "甲群").id
    stored = store_window(
        store_engine, [(_line("T11", "pending", 0), amy), (_line("T21", "pending", 0), None)]
    )
    assert (stored.new, stored.changed) == (2, 0)

    # read again in a later window, this time without an identity that names a group: the group stays
    moved = store_window(store_engine, [(_line("T11", "settled", 60, commission=520), None)], minutes=120)
    assert (moved.new, moved.changed, moved.unchanged) == (0, 1, 0)
    kept = _row(store_engine, "T11")
    assert (kept.group_id, kept.status, kept.commission_fen) == (amy, "settled", 520)
    assert kept.updated_at.replace(tzinfo=kept.updated_at.tzinfo or UTC) == AT + timedelta(minutes=60)

    # an unattributed order whose group is found later (the group's identity was kept after the sale)
    found = store_window(store_engine, [(_line("T21", "pending", 30), amy)], minutes=180)
    assert (found.new, found.changed, found.unchanged) == (0, 0, 1)  # same state: no history entry
    assert _row(store_engine, "T21").group_id == amy
    assert [e.status for e in store_history(store_engine, "T11")] == ["pending", "settled"]
    assert [e.status for e in store_history(store_engine, "T21")] == ["pending"]


def test_a_refund_after_settlement_stops_counting_and_stays_in_the_history(store_engine: Engine) -> None:
    amy = ensure_group(store_engine, "amy@chatroom", "甲群").id
    store_window(store_engine, [(_line("T31", "pending", 0), amy), (_line("T41", "pending", 0), amy)])
    store_window(store_engine, [(_line("T31", "settled", 60), amy), (_line("T41", "settled", 60), amy)], 120)
    [before, _none] = figures(store_engine)
    assert (before.orders, before.settled_fen, before.cancelled) == (2, 2 * 516, 0)

    refunded = store_window(store_engine, [(_line("T31", "cancelled", 90, commission=0), None)], minutes=180)
    assert (refunded.new, refunded.changed) == (0, 1)
    [after, _none] = figures(store_engine)
    assert (after.group_id, after.orders, after.paid_fen) == (amy, 1, 12_900)
    assert (after.settled_fen, after.cancelled) == (516, 1)
    assert [(e.status, e.commission_fen) for e in store_history(store_engine, "T31")] == [
        ("pending", 516),
        ("settled", 516),
        ("cancelled", 0),
    ]
    # the settled state read again from an older, overlapping window changes nothing back
    stale = store_window(store_engine, [(_line("T31", "settled", 60), amy)], minutes=180)
    assert (stale.changed, stale.unchanged) == (0, 1)
    assert _row(store_engine, "T31").status == "cancelled"


def store_window(engine: Engine, lines: list[tuple[Order, int | None]], minutes: int = 60) -> store.Stored:
    return store.store_window(engine, "taobao", lines, AT + timedelta(minutes=minutes))


def store_history(engine: Engine, order_id: str) -> list[OrderEvent]:
    return store.history(engine, "taobao", order_id, order_id[:-1] + "0")


def figures(engine: Engine) -> list[store.Figures]:
    return store.figures(engine)


# -- the read-ahead ----------------------------------------------------------------------------------

NOW = AT + timedelta(hours=6)
WINDOW = timedelta(hours=1)


class SlowLeague:
    """A league whose order reads finish when the test says: window `n` (counted from 0) answers once
    `release[n]` is set (at once when not `held`), with one order updated inside it; the `failing`
    window raises instead. `started` is set once `wanted` reads are on the wire together."""

    name = "slow"

    def __init__(self, held: set[int], wanted: int, failing: int | None = None) -> None:
        self.release = [asyncio.Event() for _ in range(6)]
        for number, event in enumerate(self.release):
            if number not in held:
                event.set()
        self.failing = failing
        self.wanted = wanted
        self.reading = 0
        self.most = 0
        self.started = asyncio.Event()
        self.cancelled: list[int] = []

    async def orders_since(self, since: datetime, until: datetime | None = None) -> list[Order]:
        number = int((since - (NOW - 6 * WINDOW)) / WINDOW)
        self.reading += 1
        self.most = max(self.most, self.reading)
        if self.reading == self.wanted:
            self.started.set()
        try:
            if number == self.failing:
                raise LeagueUnavailable("league timed out")
            await self.release[number].wait()
        except asyncio.CancelledError:
            self.cancelled.append(number)
            raise
        finally:
            self.reading -= 1
        assert until is not None
        return [
            Order(f"W{number}1", f"W{number}0", "p", "商品", 100, 10, "pending", "", since, until, "mm_1_2_3")
        ]


def _syncer(engine: Engine, league: SlowLeague) -> OrderSync:
    return OrderSync(
        engine,
        {"slow": league},  # type: ignore[dict-item]
        clock=lambda: NOW,
        overlap=timedelta(0),
        lookback=6 * WINDOW,
        windows={"slow": WINDOW},
    )


def _record_cursors(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    cursors: list[datetime] = []
    real = store.store_window

    def recording(engine: Engine, league: str, lines: object, cursor: datetime) -> store.Stored:
        cursors.append(cursor)
        return real(engine, league, lines, cursor)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "store_window", recording)
    return cursors


async def test_windows_read_ahead_out_of_order_are_stored_in_order(
    store_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    cursors = _record_cursors(monkeypatch)
    league = SlowLeague(held=set(range(sync_module.READ_AHEAD)), wanted=sync_module.READ_AHEAD)
    syncing = asyncio.create_task(_syncer(store_engine, league).sync_league("slow", league))  # type: ignore[arg-type]
    async with asyncio.timeout(30):  # a guard against a hang, not a measure
        await league.started.wait()  # the first four windows are all being read at once
    for number in reversed(range(sync_module.READ_AHEAD)):  # and answer last one first
        league.release[number].set()  # woken in this order: the last window's read ends first
    result = await syncing

    assert result.ok and (result.windows, result.new) == (6, 6)
    assert league.most == sync_module.READ_AHEAD
    assert cursors == [NOW - (5 - n) * WINDOW for n in range(6)]  # one window at a time, in order
    assert store.read_cursor(store_engine, "slow") == NOW


async def test_a_failed_read_ahead_stops_the_sync_after_the_windows_before_it(
    store_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    cursors = _record_cursors(monkeypatch)
    # window 2 fails at once, while 0, 1 and 3 are still being read
    league = SlowLeague(held={0, 1, 3}, wanted=3, failing=2)
    syncing = asyncio.create_task(_syncer(store_engine, league).sync_league("slow", league))  # type: ignore[arg-type]
    async with asyncio.timeout(30):
        await league.started.wait()
    league.release[1].set()
    league.release[0].set()
    result = await syncing

    assert not result.ok and "LeagueUnavailable" in result.error
    assert (result.windows, result.new) == (2, 2)
    assert cursors == [NOW - 5 * WINDOW, NOW - 4 * WINDOW]
    assert store.read_cursor(store_engine, "slow") == NOW - 4 * WINDOW
    assert store.count_orders(store_engine, "slow") == 2
    assert league.cancelled == [3] and league.reading == 0, "the read ahead of the failure was dropped"


def test_an_absurd_amount_is_stored_at_the_limit_and_the_window_goes_on(store_engine: Engine) -> None:
    """A league that sends 10^20 yuan (a parsing slip on its side) does not stop the sync at that window
    forever: the line is kept at the limit, the rest of the window and the cursor move, reports add up."""
    amy = ensure_group(store_engine, "amy@chatroom", "甲群").id
    absurd = _line("T51", "pending", 0, paid=10**22, commission=-(10**22))
    stored = store_window(store_engine, [(absurd, amy), (_line("T61", "pending", 0), amy)])
    assert (stored.new, stored.changed) == (2, 0)
    row = _row(store_engine, "T51")
    assert (row.paid_fen, row.commission_fen) == (FEN_LIMIT, -FEN_LIMIT)
    assert store.read_cursor(store_engine, "taobao") == AT + timedelta(minutes=60)
    for n in range(3):  # more lines at the limit: the sums still fit
        store_window(store_engine, [(_line(f"T7{n}1", "pending", 0, paid=10**22), amy)])
    [group, _none] = figures(store_engine)
    assert (group.orders, group.paid_fen) == (5, 4 * FEN_LIMIT + 12_900)
