"""Money stays right when members and operators act at the same moment: several 提现 at once never pay
out more than the balance, a request is marked paid once however many clicks and commands race for it,
and an order bound by several members at once belongs to one of them. Each race is lined up with a
barrier, on SQLite and (when configured) PostgreSQL, through several connections like several processes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.leagues.base import Order
from bot.store import rebate as ledger
from bot.store.models import RebateBinding, RebateEntry
from bot.store.orders import store_window
from tests.helpers import race

NOW = datetime.now(UTC)
RACERS = 8


def _order(order_id: str, commission: int, status: str = "settled", sku: str = "s") -> Order:
    return Order(
        order_id, sku, "p", "商品", commission * 10, commission, status, "", NOW - timedelta(hours=1), NOW
    )


def _sync(engine: Engine, *orders: Order) -> None:
    store_window(engine, "jd", [(o, None) for o in orders], NOW)
    ledger.reconcile(engine)


def _entries(engine: Engine, member: str) -> list[RebateEntry]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(RebateEntry).where(RebateEntry.member_id == member).order_by(col(RebateEntry.id))
            )
        )


def _assert_ledger_sound(engine: Engine, member: str) -> dict[str, int]:
    """The balance is the sum of the member's entries, and replayed in the order they were written the
    available bucket never dipped below zero (no moment where more was withdrawn than was there)."""
    totals = dict.fromkeys(ledger.BUCKETS, 0)
    for entry in _entries(engine, member):
        totals[entry.bucket] += entry.amount_fen
        assert totals[ledger.AVAILABLE] >= 0, "more was withdrawn than the member had"
    assert ledger.balance(engine, member) == totals
    assert all(value >= 0 for value in totals.values())
    return totals


def _member_with(engine: Engine, member: str, order_id: str, commission: int) -> int:
    """`member` has bound a settled order; returns the rebate now available to withdraw."""
    _sync(engine, _order(order_id, commission))
    assert ledger.bind(engine, member, order_id, 50).outcome == "bound"
    available = ledger.balance(engine, member)[ledger.AVAILABLE]
    assert available == commission // 2
    return available


def test_eight_withdrawals_of_the_whole_balance_at_once_pay_out_once(store: Engine) -> None:
    available = _member_with(store, "wx_amy", "6100000000001", 3_000)

    results = race(RACERS, lambda _: ledger.request_withdrawal(store, "wx_amy"))

    granted = [(request_id, amount) for request_id, amount in results if request_id]
    assert len(granted) == 1 and granted[0][1] == available
    assert all(amount == 0 for request_id, amount in results if not request_id)  # told: nothing left
    totals = _assert_ledger_sound(store, "wx_amy")
    assert (totals[ledger.AVAILABLE], totals[ledger.WITHDRAWING]) == (0, available)
    assert [w.amount_fen for w in ledger.withdrawals(store, unpaid_only=True)] == [available]


def test_racing_withdrawals_that_together_exceed_the_balance_grant_only_what_is_there(store: Engine) -> None:
    available = _member_with(store, "wx_amy", "6100000000002", 4_000)  # ¥20.00
    ask = 700  # eight times ¥7.00 = ¥56.00: only two fit

    results = race(RACERS, lambda _: ledger.request_withdrawal(store, "wx_amy", ask))

    granted = [amount for request_id, amount in results if request_id]
    assert granted == [ask] * (available // ask)
    totals = _assert_ledger_sound(store, "wx_amy")
    assert (totals[ledger.AVAILABLE], totals[ledger.WITHDRAWING]) == (
        available % ask,
        available - available % ask,
    )


def test_small_withdrawals_racing_all_go_through(store: Engine) -> None:
    """The guard refuses only what is not there: eight requests that fit are all recorded."""
    available = _member_with(store, "wx_amy", "6100000000003", 1_600)

    results = race(RACERS, lambda _: ledger.request_withdrawal(store, "wx_amy", available // RACERS))

    assert all(request_id for request_id, _ in results)
    assert len({request_id for request_id, _ in results}) == RACERS
    totals = _assert_ledger_sound(store, "wx_amy")
    assert (totals[ledger.AVAILABLE], totals[ledger.WITHDRAWING]) == (0, available)


def test_different_members_withdrawing_at_once_do_not_refuse_each_other(store: Engine) -> None:
    members = [f"wx_m{n}" for n in range(RACERS)]
    for n, member in enumerate(members):
        _member_with(store, member, f"62000000000{n:02d}", 2_000)

    results = race(RACERS, lambda n: ledger.request_withdrawal(store, members[n]))

    assert [amount for request_id, amount in results if request_id] == [1_000] * RACERS
    for member in members:
        assert _assert_ledger_sound(store, member)[ledger.WITHDRAWING] == 1_000


def test_eight_pays_of_one_withdrawal_at_once_record_one_payment(store: Engine) -> None:
    """The console's 标记已付 and `tuike rebate pay` run the same `pay`; from several processes at once
    one of them records the payment and the others are told it is not waiting any more."""
    available = _member_with(store, "wx_amy", "6300000000001", 2_400)
    request_id, amount = ledger.request_withdrawal(store, "wx_amy")
    assert request_id and amount == available

    results = race(RACERS, lambda _: ledger.pay(store, request_id))

    done = [r for r in results if r is not None]
    assert len(done) == 1 and done[0].id == request_id and done[0].amount_fen == available
    paid = [e for e in _entries(store, "wx_amy") if e.kind == "withdrawal_paid"]
    assert sorted((e.bucket, e.amount_fen) for e in paid) == [
        (ledger.PAID, available),
        (ledger.WITHDRAWING, -available),
    ]
    totals = _assert_ledger_sound(store, "wx_amy")
    assert (totals[ledger.WITHDRAWING], totals[ledger.PAID]) == (0, available)
    [listed] = ledger.withdrawals(store)
    assert listed.paid and not ledger.withdrawals(store, unpaid_only=True)
    assert ledger.pay(store, request_id) is None


def test_paying_and_withdrawing_at_once_keep_every_bucket_right(store: Engine) -> None:
    """A member asks for more while the operator pays the earlier requests: each request is paid once and
    the new ones take only what is still available."""
    _member_with(store, "wx_amy", "6300000000002", 4_000)  # ¥20.00 available
    first = [ledger.request_withdrawal(store, "wx_amy", 500)[0] for _ in range(2)]
    assert all(first)  # ¥10.00 asked, ¥10.00 left

    def act(n: int) -> object:
        if n % 2:
            return ledger.pay(store, first[n % 4 // 2])
        return ledger.request_withdrawal(store, "wx_amy", 400)

    results = race(RACERS, act)

    assert sum(1 for r in results[1::2] if r is not None) == 2  # each earlier request paid once
    assert sum(1 for r in results[0::2] if isinstance(r, tuple) and r[0]) == 2  # two of ¥4.00 fit in ¥10.00
    totals = _assert_ledger_sound(store, "wx_amy")
    assert totals == {ledger.PENDING: 0, ledger.AVAILABLE: 200, ledger.WITHDRAWING: 800, ledger.PAID: 1_000}


def test_an_order_bound_by_eight_members_at_once_has_one_owner(store: Engine) -> None:
    _sync(
        store, _order("6400000000001", 3_000, "pending"), _order("6400000000001", 1_000, "pending", sku="t")
    )
    members = [f"wx_m{n}" for n in range(RACERS)]

    results = race(RACERS, lambda n: ledger.bind(store, members[n], "6400000000001", 50))

    winners = [members[n] for n, r in enumerate(results) if r.outcome == "bound"]
    assert len(winners) == 1
    assert sorted(r.outcome for r in results) == ["bound"] + ["taken"] * (RACERS - 1)
    with Session(store) as session:
        [binding] = session.exec(select(RebateBinding).where(RebateBinding.order_id == "6400000000001"))
    assert binding.member_id == winners[0]
    for member in members:
        totals = _assert_ledger_sound(store, member)
        assert totals[ledger.PENDING] == (2_000 if member == winners[0] else 0)

    _sync(store, _order("6400000000001", 3_000), _order("6400000000001", 1_000, sku="t"))  # settled later
    assert ledger.balance(store, winners[0])[ledger.AVAILABLE] == 2_000
    assert sum(ledger.balance(store, m)[ledger.AVAILABLE] for m in members) == 2_000


def test_one_member_sending_the_same_bind_eight_times_at_once_is_credited_once(store: Engine) -> None:
    _sync(store, _order("6400000000002", 1_200))

    results = race(RACERS, lambda _: ledger.bind(store, "wx_amy", "6400000000002", 50))

    assert sorted(r.outcome for r in results) == ["bound"] + ["mine"] * (RACERS - 1)
    totals = _assert_ledger_sound(store, "wx_amy")
    assert totals[ledger.AVAILABLE] == 600


def _credits_by_binding(engine: Engine, member: str) -> dict[int, tuple[int, int]]:
    """Binding id → (pending, available) credited to it: what reconciling wrote for each order."""
    out: dict[int, list[int]] = {}
    for entry in _entries(engine, member):
        if entry.binding_id is not None and entry.bucket in (ledger.PENDING, ledger.AVAILABLE):
            credit = out.setdefault(entry.binding_id, [0, 0])
            credit[entry.bucket == ledger.AVAILABLE] += entry.amount_fen
    return {binding: (pending, available) for binding, (pending, available) in out.items()}


def test_withdrawals_and_reconciles_racing_credit_each_order_once_and_pay_out_only_what_is_there(
    store: Engine,
) -> None:
    """The orders sync settles a member's orders while they send 提现 again and again, and the settling
    runs several times at once (a `tuike orders sync` beside the scheduled one): every order is credited
    exactly once, each 提现 takes only what was there when it was granted, and nothing is left over or
    missing at the end."""
    _member_with(store, "wx_amy", "6500000000000", 2_000)  # ¥10.00 available before the race
    orders = [f"65000000001{n:02d}" for n in range(6)]
    _sync(store, *[_order(order_id, 1_000, "pending") for order_id in orders])
    for order_id in orders:
        assert ledger.bind(store, "wx_amy", order_id, 50).outcome == "bound"
    assert ledger.balance(store, "wx_amy")[ledger.PENDING] == 6 * 500
    # the league now says they settled: the next reconcile moves ¥30.00 from pending to available
    store_window(store, "jd", [(_order(order_id, 1_000), None) for order_id in orders], NOW)
    ask = 300

    def act(n: int) -> object:
        if n % 2:
            return ledger.reconcile(store)
        return ledger.request_withdrawal(store, "wx_amy", ask)

    results = race(RACERS, act)

    granted = sum(
        amount for request_id, amount in results[0::2] if isinstance(request_id, int) and request_id
    )
    assert sum(results[1::2]) == 2 * 6, "each order's settling written once, by one of the reconciles"  # type: ignore[arg-type]
    assert ledger.reconcile(store) == 0, "nothing left to settle"
    assert set(_credits_by_binding(store, "wx_amy").values()) == {(0, 1_000), (0, 500)}
    totals = _assert_ledger_sound(store, "wx_amy")
    assert totals[ledger.PENDING] == 0
    assert totals[ledger.AVAILABLE] + totals[ledger.WITHDRAWING] == 1_000 + 6 * 500
    assert totals[ledger.WITHDRAWING] == granted and granted >= ask, "a 提现 of the old balance went through"


def test_a_refund_reconciled_while_the_member_withdraws_is_taken_before_or_after_never_halfway(
    store: Engine,
) -> None:
    """A refund arrives while the member asks for everything: either the 提现 comes first (the refund then
    leaves the request short, which the operator sees) or the refund does (the 提现 is told what is
    left) — never a request granted from a balance the refund had already taken back."""
    _member_with(store, "wx_amy", "6600000000001", 2_000)  # ¥10.00
    _sync(store, _order("6600000000002", 1_000))
    assert ledger.bind(store, "wx_amy", "6600000000002", 50).outcome == "bound"  # + ¥5.00
    store_window(store, "jd", [(_order("6600000000002", 1_000, "cancelled"), None)], NOW)  # refunded

    def act(n: int) -> object:
        if n % 2:
            return ledger.reconcile(store)
        return ledger.request_withdrawal(store, "wx_amy")

    results = race(RACERS, act)

    assert sum(results[1::2]) == 1, "the refund is written once"  # type: ignore[arg-type]
    granted = [amount for request_id, amount in results[0::2] if isinstance(request_id, int) and request_id]
    assert len(granted) == 1, "one 提现 of everything, the others told nothing is left"
    reversal = next(e for e in _entries(store, "wx_amy") if e.kind == "reversal")
    request = next(e for e in _entries(store, "wx_amy") if e.kind == "withdrawal_request")
    if granted == [1_000]:  # the refund came first: the 提现 saw it
        assert reversal.id is not None and request.id is not None and reversal.id < request.id
        _assert_ledger_sound(store, "wx_amy")
    else:  # the 提现 came first, the whole ¥15.00: the refund leaves ¥5.00 of it uncovered
        assert granted == [1_500] and reversal.id is not None and request.id is not None
        assert request.id < reversal.id
        [waiting] = ledger.withdrawals(store, unpaid_only=True)
        assert waiting.shortfall_fen == 500
    balance = ledger.balance(store, "wx_amy")
    assert balance[ledger.AVAILABLE] + balance[ledger.WITHDRAWING] == 1_000


def test_reconciles_racing_over_many_members_in_batches_credit_everyone_once(
    store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Settlement day: many members' orders settle at once while reconciles race each other in small
    batches (each batch holds several members' locks) and the members send 提现: nobody waits forever
    on anybody, and every member ends with exactly their own settled share."""
    monkeypatch.setattr(ledger, "RECONCILE_BATCH", 3)
    members = [f"wx_m{n}" for n in range(RACERS)]
    placed = [f"670000000{n:02d}" for n in range(RACERS)]
    _sync(store, *[_order(order_id, 2_000, "pending") for order_id in placed])
    for member, order_id in zip(members, placed, strict=True):
        assert ledger.bind(store, member, order_id, 50).outcome == "bound"
    store_window(store, "jd", [(_order(order_id, 2_000), None) for order_id in placed], NOW)

    def act(n: int) -> object:
        if n % 2:
            return ledger.reconcile(store)
        return ledger.request_withdrawal(store, members[n], 400)

    results = race(RACERS, act)

    assert sum(results[1::2]) == 2 * RACERS, "each member's settling written once"  # type: ignore[arg-type]
    assert ledger.reconcile(store) == 0
    for member in members:
        totals = _assert_ledger_sound(store, member)
        assert totals[ledger.PENDING] == 0
        assert totals[ledger.AVAILABLE] + totals[ledger.WITHDRAWING] == 1_000
