"""Property tests of the money paths: whatever members send and whatever the leagues do to their
orders, nobody is credited for another's order, and nothing a refund uncovered is paid out.

Each example runs on a fresh copy of a migrated SQLite store (a copy costs about a millisecond).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.leagues.base import Order
from bot.store import db
from bot.store import rebate as ledger
from bot.store.groups import ensure_group
from bot.store.models import Group, OrderRow, RebateBinding
from bot.store.orders import store_window
from bot.store.requests import RequestRecord, write_requests

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = datetime.now(UTC)
MEMBERS = ("wx_amy", "wx_bob", "wx_carol")
ROOMS = ("a@chatroom", "b@chatroom", "c@chatroom")
_copies = count()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("money") / "template.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="module")
def fresh(template: Path) -> Iterator[list[Engine]]:
    """Engines handed out by `_fresh`, disposed at the end."""
    made: list[Engine] = []
    yield made
    for engine in made:
        engine.dispose()


def _fresh(template: Path, made: list[Engine]) -> Engine:
    path = template.with_name(f"copy{next(_copies)}.db")
    shutil.copyfile(template, path)
    engine = db.make_engine(f"sqlite:///{path}")
    made.append(engine)
    return engine


_orders = st.lists(
    st.tuples(
        st.text(alphabet="0123456789", min_size=6, max_size=18).map(lambda s: "1" + s),
        st.sampled_from([None, 0, 1, 2]),  # the group (index into ROOMS) it came through, or none
        st.integers(0, 40),  # days ago
    ),
    min_size=1,
    max_size=8,
)
_asks = st.lists(st.tuples(st.sampled_from(MEMBERS), st.sampled_from([0, 1, 2])), max_size=5)
_owners = st.tuples(*(st.sampled_from(["", *MEMBERS]) for _ in ROOMS))
_binds = st.lists(
    st.tuples(st.sampled_from(MEMBERS), st.integers(0, 7), st.booleans()), min_size=1, max_size=6
)


@FAST
@given(orders=_orders, asks=_asks, owners=_owners, binds=_binds)
def test_six_digits_never_bind_an_order_outside_the_members_own_groups(
    template: Path,
    fresh: list[Engine],
    orders: list[tuple[str, int | None, int]],
    asks: list[tuple[str, int]],
    owners: tuple[str, ...],
    binds: list[tuple[str, int, bool]],
) -> None:
    """Issue 33, item 3."""
    engine = _fresh(template, fresh)
    groups = [ensure_group(engine, room, room, owner).id for room, owner in zip(ROOMS, owners, strict=True)]
    rows = [{"at": NOW, **asdict(RequestRecord(ROOMS[room], member, "keyword"))} for member, room in asks]
    if rows:
        write_requests(engine, rows)
    for number, group, days in orders:
        at = NOW - timedelta(days=days)
        order = Order(number, "s", "p", "商品", 1_000, 100, "settled", "", at, at)
        store_window(engine, "jd", [(order, groups[group] if group is not None else None)], NOW)
    for member, which, whole in binds:
        number = orders[which % len(orders)][0]
        ledger.bind(engine, member, number if whole else number[-6:], 50)
    with Session(engine) as session:
        rooms = {g.id: (g.room_id, g.owner_id) for g in session.exec(select(Group))}
        attributed = {(o.order_id): o.group_id for o in session.exec(select(OrderRow))}
        bound = list(session.exec(select(RebateBinding)))
    own = {(member, ROOMS[room]) for member, room in asks}
    for binding in bound:
        by_whole = any(
            member == binding.member_id and whole and orders[which % len(orders)][0] == binding.order_id
            for member, which, whole in binds
        )
        if by_whole:
            continue
        group = attributed[binding.order_id]
        assert group is not None, f"six digits bound the unattributed {binding.order_id}"
        room, owner = rooms[group]
        assert (binding.member_id, room) in own or owner == binding.member_id, (
            f"{binding.member_id} bound {binding.order_id} of {room} by six digits"
        )


_steps = st.lists(
    st.one_of(
        st.tuples(st.just("settle"), st.integers(0, 3), st.integers(1, 5_000)),
        st.tuples(st.just("refund"), st.integers(0, 3), st.just(0)),
        st.tuples(st.just("withdraw"), st.just(0), st.integers(0, 6_000)),  # 0: everything available
        st.tuples(st.just("pay"), st.integers(0, 5), st.just(0)),
    ),
    min_size=1,
    max_size=14,
)


@FAST
@given(steps=_steps)
def test_no_payment_goes_beyond_what_the_member_still_has_earned(
    template: Path, fresh: list[Engine], steps: list[tuple[str, int, int]]
) -> None:
    """Issue 33, item 4: orders settle and are refunded, the member asks to withdraw, the operator pays,
    in any order. A payment recorded without forcing never takes the member past what their orders
    have earned net of refunds: after it, `available + withdrawing` (what is still owed) is not below 0."""
    engine = _fresh(template, fresh)
    member = "wx_amy"
    clock = count(1)
    commission: dict[int, int] = {}
    for step, which, amount in steps:
        at = NOW + timedelta(seconds=next(clock))
        number = f"880000000000{which}"
        if step == "settle" and which not in commission:
            commission[which] = amount
            order = Order(number, "s", "p", "商品", amount * 10, amount, "settled", "", at, at)
            store_window(engine, "jd", [(order, None)], at)
            ledger.bind(engine, member, number, 50)
        elif step == "refund" and which in commission:
            order = Order(number, "s", "p", "商品", 0, commission[which], "cancelled", "", at, at)
            store_window(engine, "jd", [(order, None)], at)
            ledger.reconcile(engine)
        elif step == "withdraw":
            ledger.request_withdrawal(engine, member, amount or None)
        elif step == "pay":
            unpaid = ledger.withdrawals(engine, unpaid_only=True)
            if not unpaid:
                continue
            chosen = unpaid[which % len(unpaid)]
            if chosen.shortfall_fen:  # what the list flags, `pay` refuses
                with pytest.raises(ledger.Uncovered):
                    ledger.pay(engine, chosen.id)
                continue
            done = ledger.pay(engine, chosen.id)
            assert done is not None
            after = ledger.balance(engine, member)
            assert after[ledger.AVAILABLE] + after[ledger.WITHDRAWING] >= 0, (
                f"paid request {done.id} ({done.amount_fen} fen) past what refunds left: {after}"
            )
