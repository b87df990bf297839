"""The member rebate ledger: bindings of orders to members, and append-only entries.

Nothing here updates or deletes an entry. A balance is the sum of a member's entries per bucket
(pending, available, withdrawing, paid). What a binding should have credited follows from its order
lines' current status (pending → pending bucket, settled → available, cancelled → nothing) and the
share promised when it was bound; `reconcile` appends the difference, so running it again appends
nothing, and a refund after settlement appends a reversal instead of changing history.

Money is safe under concurrency without a lock in the process (several bot processes may share one
PostgreSQL database): every path that changes a balance — `bind`, `reconcile`, `request_withdrawal`,
`pay` — reads then writes inside `_member_transaction` (reconcile: `_members_transaction`, a batch of
members' locks at once), which serialises everything that moves one member's money: BEGIN IMMEDIATE
on SQLite (the database's one write lock, taken before the read), a transaction-scoped advisory lock
per member on PostgreSQL (pg_advisory_xact_lock; each statement after it sees what the previous holder
committed). So two 提现 at the same moment cannot both pass the
balance check, a console click racing `tuike rebate pay` records one payment, a 提现 racing the
settling of an order (or its refund) sees it wholly before or wholly after, and two reconciles at once
(a `tuike orders sync` beside the scheduled one) credit an order once. `bind` also relies on the
unique (league, order id) constraint of the bindings: of several members binding one order at once,
one inserts, the others are told it is taken.

One entry kind moves no money: `paid_notice` (amount 0, pending bucket) records that the member was
told their order is tracked — by the 绑定 answer, or by the paid-order notice after a sync
(`claim_paid_notices`) — so that they are told once per order, whatever restarts in between.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, exists, func, or_, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from bot.store.models import Group, OrderRow, RebateBinding, RebateEntry, RequestLog, utcnow

PENDING, AVAILABLE, WITHDRAWING, PAID = "pending", "available", "withdrawing", "paid"
PAID_NOTICE = "paid_notice"
"""The entry kind that records "the member was told this order is tracked" (amount 0)."""
BUCKETS = (PENDING, AVAILABLE, WITHDRAWING, PAID)
ORDER_NUMBER = re.compile(r"^[0-9][0-9\-]{5,63}$")
SUFFIX_DAYS = 30
"""A 6-digit suffix is matched against orders created in this many days (older ones need the full number)."""


RECONCILE_BATCH = 100
"""Members brought in line per transaction by `reconcile`. A commit per member made a settlement day of
1,000 members take 14.5 s on PostgreSQL, and batches of 100 take 2.6 s (bench/rebate.py). A 提现 waits
for one batch at most."""

_LOCK_SPACE = b"tuike.rebate.member\0"
"""Prefix of the text hashed into a member's PostgreSQL advisory lock key (keeps it apart from others)."""


def _member_lock_key(member_id: str) -> int:
    """A stable signed 64-bit advisory lock key for `member_id` (a collision only serialises two members)."""
    digest = hashlib.blake2b(_LOCK_SPACE + member_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def _member_transaction(engine: Engine, member_id: str) -> Iterator[Session]:
    """A session whose transaction holds the member's ledger lock from its first statement until it
    commits or rolls back: what it reads stays true until it writes. Leaving the block without a
    commit rolls back (and lets go of the lock)."""
    with _members_transaction(engine, [member_id]) as session:
        yield session


@contextmanager
def _members_transaction(engine: Engine, member_ids: Collection[str]) -> Iterator[Session]:
    """`_member_transaction` for several members at once (reconcile's batches). Their locks are taken
    in one order (by key), so two batches never wait on each other in a circle; everything else holds
    one member's lock at a time."""
    with Session(engine) as session:
        connection = session.connection()
        if engine.dialect.name == "sqlite":
            # pysqlite would begin a deferred transaction only at the first write, after the reads;
            # an explicit BEGIN IMMEDIATE takes the write lock now and pysqlite then commits it.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif engine.dialect.name == "postgresql":
            for key in sorted({_member_lock_key(m) for m in member_ids}):
                connection.execute(text("SELECT pg_advisory_xact_lock(CAST(:key AS bigint))"), {"key": key})
        else:  # pragma: no cover - the store runs on SQLite and PostgreSQL only
            raise RuntimeError(f"no ledger lock for the {engine.dialect.name} database")
        try:
            yield session
        finally:
            if session.in_transaction():
                session.rollback()


@dataclass(frozen=True, slots=True)
class Bound:
    """What `bind` did. outcome: bound, mine (already this member's), taken (someone else's),
    unknown (no such synced order), ambiguous (a suffix that fits several of the member's own orders),
    whole_number (a suffix that fits none of them: `find_order`), malformed."""

    outcome: str
    league: str = ""
    order_id: str = ""
    pending_fen: int = 0
    available_fen: int = 0
    cancelled: bool = False
    """The order's lines are all cancelled or refunded (a bound order that brings nothing)."""


def _desired(lines: list[OrderRow], share_percent: int) -> dict[str, int]:
    out = {PENDING: 0, AVAILABLE: 0}
    for line in lines:
        amount = line.commission_fen * share_percent // 100
        if line.status == "settled":
            out[AVAILABLE] += amount
        elif line.status != "cancelled":
            out[PENDING] += amount
    return out


def _credited(session: Session, binding_id: int) -> dict[str, int]:
    rows = session.exec(
        select(RebateEntry.bucket, func.sum(RebateEntry.amount_fen))
        .where(RebateEntry.binding_id == binding_id)
        .group_by(col(RebateEntry.bucket))
    )
    found = {bucket: int(total or 0) for bucket, total in rows}
    return {PENDING: found.get(PENDING, 0), AVAILABLE: found.get(AVAILABLE, 0)}


def _difference(want: dict[str, int], have: dict[str, int]) -> list[tuple[str, str, int]]:
    """(kind, bucket, amount) of the entries that bring credits `have` to `want`: a settling moves
    pending to available, a refund appends a reversal."""
    d_pending, d_available = want[PENDING] - have[PENDING], want[AVAILABLE] - have[AVAILABLE]
    entries: list[tuple[str, str, int]] = []
    moved = min(-d_pending, d_available) if d_pending < 0 < d_available else 0
    if moved:  # settled: pending → available
        entries += [("credit_settled", PENDING, -moved), ("credit_settled", AVAILABLE, moved)]
        d_pending += moved
        d_available -= moved
    for bucket, delta in ((PENDING, d_pending), (AVAILABLE, d_available)):
        if delta > 0:
            entries.append(("credit_pending" if bucket == PENDING else "credit_settled", bucket, delta))
        elif delta < 0:
            entries.append(("reversal", bucket, delta))
    return entries


def _credited_by_binding(
    session: Session, member_ids: Collection[str] | None = None
) -> dict[int, dict[str, int]]:
    """Binding id → its pending and available credits (of these members' bindings, or of every one),
    in one query; a binding with no entry reads as nothing credited."""
    statement = (
        select(RebateEntry.binding_id, RebateEntry.bucket, func.sum(RebateEntry.amount_fen))
        .where(col(RebateEntry.binding_id).is_not(None))
        .where(col(RebateEntry.bucket).in_((PENDING, AVAILABLE)))
        .group_by(col(RebateEntry.binding_id), col(RebateEntry.bucket))
    )
    if member_ids is not None:
        statement = statement.where(col(RebateEntry.member_id).in_(list(member_ids)))
    credited: dict[int, dict[str, int]] = defaultdict(lambda: {PENDING: 0, AVAILABLE: 0})
    for binding_id, bucket, total in session.exec(statement):
        credited[int(binding_id or 0)][bucket] = int(total or 0)
    return credited


def _append_difference(
    session: Session, binding: RebateBinding, lines: list[OrderRow], have: dict[str, int] | None = None
) -> int:
    """Entries that bring the binding's credits (`have`, read here when not given) to what its order
    lines say now; how many. Run it under the member's lock (`_member_transaction`): what it reads as
    credited must stay true until it writes."""
    assert binding.id is not None
    credited = _credited(session, binding.id) if have is None else have
    entries = _difference(_desired(lines, binding.share_percent), credited)
    for kind, bucket, amount in entries:
        session.add(
            RebateEntry(
                member_id=binding.member_id,
                binding_id=binding.id,
                kind=kind,
                bucket=bucket,
                amount_fen=amount,
            )
        )
    return len(entries)


def _lines(session: Session, league: str, order_id: str) -> list[OrderRow]:
    return list(
        session.exec(select(OrderRow).where(OrderRow.league == league, OrderRow.order_id == order_id))
    )


def is_suffix(number: str) -> bool:
    """Six digits: the last six of an order number, as a member may send them."""
    return len(number) == 6 and number.isdigit()


def find_order(
    engine: Engine, number: str, member_id: str = "", now: datetime | None = None
) -> list[tuple[str, str]]:
    """(league, order id) of the synced orders `number` names: the whole id, or for six digits the
    orders of the last 30 days ending in them that came through one of `member_id`'s own groups.

    Six digits are guessable and shared by many orders, so they name only an order the member can be
    taken to have bought: one attributed to a group whose owner the member is, or where the member asked
    the bot (the request log) — the way a member gets a group's link. No league we speak says who
    bought in a form that names the member, so the buyer is not checked; any other order needs its
    whole number."""
    with Session(engine) as session:
        statement = select(OrderRow.league, OrderRow.order_id).where(OrderRow.order_id == number)
        found = set(session.exec(statement))
        if not found and is_suffix(number) and member_id:
            since = (now or utcnow()) - timedelta(days=SUFFIX_DAYS)
            asked_there = (
                exists()
                .where(col(RequestLog.chat_id) == col(Group.room_id), col(RequestLog.sender_id) == member_id)
                .correlate(Group)
            )
            statement = (
                select(OrderRow.league, OrderRow.order_id)
                .join(Group, col(Group.id) == col(OrderRow.group_id))
                .where(col(OrderRow.order_id).endswith(number))
                .where(col(OrderRow.created_at) >= since)
                .where(or_(col(Group.owner_id) == member_id, asked_there))
            )
            found = set(session.exec(statement))
    return sorted(found)


def bind(engine: Engine, member_id: str, number: str, share_percent: int, account: str = "") -> Bound:
    """Bind the order `number` names to `member_id` and credit its rebate, in one transaction.
    `account`: the chat account the member wrote through (their later notices go out through it)."""
    number = number.strip()
    if not ORDER_NUMBER.match(number):
        return Bound("malformed")
    found = find_order(engine, number, member_id)
    if not found:
        return Bound("whole_number" if is_suffix(number) else "unknown")
    if len(found) > 1:
        return Bound("ambiguous")
    [(league, order_id)] = found
    with _member_transaction(engine, member_id) as session:
        binding = RebateBinding(
            league=league,
            order_id=order_id,
            member_id=member_id,
            share_percent=share_percent,
            account=account,
        )
        session.add(binding)
        try:
            session.flush()
            assert binding.id is not None
            lines = _lines(session, league, order_id)
            cancelled = bool(lines) and all(line.status == "cancelled" for line in lines)
            _append_difference(session, binding, lines)
            credited = _credited(session, binding.id)
            if credited[PENDING] > 0 or credited[AVAILABLE] > 0:  # the answer tells them what comes
                session.add(_told(binding))
            session.commit()
        except IntegrityError:
            session.rollback()
            holder = session.exec(
                select(RebateBinding).where(
                    RebateBinding.league == league, RebateBinding.order_id == order_id
                )
            ).first()
            outcome = "mine" if holder is not None and holder.member_id == member_id else "taken"
            return Bound(outcome, league, order_id)
    return Bound("bound", league, order_id, credited[PENDING], credited[AVAILABLE], cancelled)


def _told(binding: RebateBinding) -> RebateEntry:
    return RebateEntry(
        member_id=binding.member_id, binding_id=binding.id, kind=PAID_NOTICE, bucket=PENDING, amount_fen=0
    )


@dataclass(frozen=True, slots=True)
class PaidNotice:
    """A member to tell that their bound order is paid and tracked, and the rebate it will bring."""

    member_id: str
    league: str
    order_id: str
    pending_fen: int
    account: str = ""
    """The chat account to tell them through ('' = bound before accounts were recorded)."""


def claim_paid_notices(engine: Engine, accounts: Collection[str] | None = None) -> list[PaidNotice]:
    """The bindings whose order has a pending rebate and whose member was never told, each recorded as
    told in the same transaction (at most once per order: a notice that then fails to send is not
    sent again). Run it after `reconcile`, by one process at a time (the sync's lock).

    `accounts`: only members bound through these chat accounts (or through an unrecorded one) — the
    accounts this process can write first with; the others stay unclaimed for a process that can."""
    notice = aliased(RebateEntry)
    told = (
        exists()
        .where(col(notice.binding_id) == col(RebateBinding.id), col(notice.kind) == PAID_NOTICE)
        .correlate(RebateBinding)
    )
    statement = (
        select(RebateBinding, func.sum(RebateEntry.amount_fen))
        .join(RebateEntry, col(RebateEntry.binding_id) == col(RebateBinding.id))
        .where(col(RebateEntry.bucket) == PENDING, ~told)
        .group_by(col(RebateBinding.id))
        .having(func.sum(RebateEntry.amount_fen) > 0)
        .order_by(col(RebateBinding.id))
    )
    if accounts is not None:
        statement = statement.where(col(RebateBinding.account).in_(["", *accounts]))
    with Session(engine) as session:
        rows = session.exec(statement).all()
        out = []
        for binding, pending in rows:
            session.add(_told(binding))
            out.append(
                PaidNotice(binding.member_id, binding.league, binding.order_id, int(pending), binding.account)
            )
        session.commit()
    return out


def _order_lines(session: Session, bindings: list[RebateBinding]) -> dict[tuple[str, str], list[OrderRow]]:
    """(league, order id) → the order lines of `bindings`' orders, read 500 orders a statement."""
    lines: dict[tuple[str, str], list[OrderRow]] = defaultdict(list)
    for chunk in range(0, len(bindings), 500):
        part = bindings[chunk : chunk + 500]
        for row in session.exec(
            select(OrderRow).where(col(OrderRow.order_id).in_({b.order_id for b in part}))
        ):
            lines[(row.league, row.order_id)].append(row)
    return lines


def _members_behind(engine: Engine) -> list[str]:
    """The members with a binding whose credits differ from what its order lines say now, read without
    a lock: one light pass over every binding, so the locked pass that writes visits only those (a
    credit already right stays right — only the sync changes order lines, and it reconciles after)."""
    with Session(engine) as session:
        bindings = list(session.exec(select(RebateBinding)))
        lines = _order_lines(session, bindings)
        credited = _credited_by_binding(session)
    behind = {
        b.member_id
        for b in bindings
        if _difference(_desired(lines[(b.league, b.order_id)], b.share_percent), credited[b.id or 0])
    }
    return sorted(behind)


def reconcile(engine: Engine) -> int:
    """Bring every binding's credits in line with its order's status now; entries appended.

    The members whose credits are behind are brought in line `RECONCILE_BATCH` at a time, each batch in
    a transaction that holds their ledger locks: a 提现 at the same moment sees the settling (or the
    refund) wholly or not at all, and a second reconcile at the same moment finds the credits already
    right and appends nothing."""
    appended = 0
    behind = _members_behind(engine)
    for chunk in range(0, len(behind), RECONCILE_BATCH):
        members = behind[chunk : chunk + RECONCILE_BATCH]
        with _members_transaction(engine, members) as session:
            bindings = list(
                session.exec(select(RebateBinding).where(col(RebateBinding.member_id).in_(members)))
            )
            lines = _order_lines(session, bindings)
            credited = _credited_by_binding(session, members)
            done = sum(
                _append_difference(session, b, lines[(b.league, b.order_id)], credited[b.id or 0])
                for b in bindings
            )
            session.commit()
        appended += done
    return appended


def balance(engine: Engine, member_id: str) -> dict[str, int]:
    """The member's balance per bucket: the sums of their entries."""
    with Session(engine) as session:
        rows = session.exec(
            select(RebateEntry.bucket, func.sum(RebateEntry.amount_fen))
            .where(RebateEntry.member_id == member_id)
            .group_by(col(RebateEntry.bucket))
        )
        found = {bucket: int(total or 0) for bucket, total in rows}
    return {bucket: found.get(bucket, 0) for bucket in BUCKETS}


def request_withdrawal(engine: Engine, member_id: str, amount_fen: int | None = None) -> tuple[int, int]:
    """Ask to be paid `amount_fen` (default: everything available). Returns (request id, amount);
    (0, available) when the amount is not there to withdraw. Requests of one member at the same
    moment take turns, so together they never ask for more than was available."""
    with _member_transaction(engine, member_id) as session:
        available = int(
            session.exec(
                select(func.coalesce(func.sum(RebateEntry.amount_fen), 0)).where(
                    RebateEntry.member_id == member_id, RebateEntry.bucket == AVAILABLE
                )
            ).one()
        )
        amount = available if amount_fen is None else amount_fen
        if amount <= 0 or amount > available:
            return 0, available
        request = RebateEntry(
            member_id=member_id, kind="withdrawal_request", bucket=AVAILABLE, amount_fen=-amount
        )
        session.add(request)
        session.flush()
        assert request.id is not None
        request_id = request.id
        request.withdrawal_id = request_id
        session.add(
            RebateEntry(
                member_id=member_id,
                kind="withdrawal_request",
                bucket=WITHDRAWING,
                amount_fen=amount,
                withdrawal_id=request_id,
            )
        )
        session.commit()
        return request_id, amount


@dataclass(frozen=True, slots=True)
class Withdrawal:
    id: int
    member_id: str
    amount_fen: int
    requested_at: datetime
    paid: bool
    shortfall_fen: int = 0
    """For an unpaid request: how much of it the member's balance no longer covers — a refund or
    cancellation took back credits after it was asked for (see `_shortfalls`). Such a request is not
    paid unless the operator forces it."""


class Uncovered(Exception):
    """`pay` refused: a refund after the request left less than it asks for (`withdrawal.shortfall_fen`)."""

    def __init__(self, withdrawal: Withdrawal) -> None:
        super().__init__(f"withdrawal {withdrawal.id} is short of {withdrawal.shortfall_fen} fen")
        self.withdrawal = withdrawal


def _shortfalls(requests: list[RebateEntry], available: int) -> dict[int, int]:
    """What each of one member's unpaid `requests` (oldest first) lacks, by request id.

    A request moved its amount from available to withdrawing; a reversal after it takes from available,
    which goes below zero. The member is then owed `withdrawing + available`: that covers their oldest
    requests first (they were asked for when the money was there), and the newest carry the shortfall."""
    cover = sum(r.amount_fen for r in requests) + min(available, 0)
    out = {}
    for request in requests:
        out[request.withdrawal_id or 0] = max(0, request.amount_fen - max(cover, 0))
        cover -= request.amount_fen
    return out


def withdrawals(engine: Engine, unpaid_only: bool = False) -> list[Withdrawal]:
    with Session(engine) as session:
        requests = session.exec(
            select(RebateEntry)
            .where(RebateEntry.kind == "withdrawal_request", RebateEntry.bucket == WITHDRAWING)
            .order_by(col(RebateEntry.id))
        ).all()
        paid = set(
            session.exec(select(RebateEntry.withdrawal_id).where(RebateEntry.kind == "withdrawal_paid"))
        )
        unpaid: dict[str, list[RebateEntry]] = defaultdict(list)
        for r in requests:
            if r.withdrawal_id not in paid:
                unpaid[r.member_id].append(r)
        short: dict[int, int] = {}
        if unpaid:
            below_zero = session.exec(
                select(RebateEntry.member_id, func.sum(RebateEntry.amount_fen))
                .where(RebateEntry.bucket == AVAILABLE, col(RebateEntry.member_id).in_(list(unpaid)))
                .group_by(col(RebateEntry.member_id))
                .having(func.sum(RebateEntry.amount_fen) < 0)
            ).all()
            for member_id, available in below_zero:
                short.update(_shortfalls(unpaid[member_id], int(available)))
    out = [
        Withdrawal(
            r.withdrawal_id or 0,
            r.member_id,
            r.amount_fen,
            r.created_at,
            r.withdrawal_id in paid,
            short.get(r.withdrawal_id or 0, 0),
        )
        for r in requests
    ]
    return [w for w in out if not (unpaid_only and w.paid)]


def _request(session: Session, withdrawal_id: int) -> RebateEntry | None:
    return session.exec(
        select(RebateEntry).where(
            RebateEntry.withdrawal_id == withdrawal_id,
            RebateEntry.kind == "withdrawal_request",
            RebateEntry.bucket == WITHDRAWING,
        )
    ).first()


def _shortfall(session: Session, request: RebateEntry) -> int:
    """What `request` (unpaid) lacks now, read under the member's lock."""
    member_id = request.member_id
    available = int(
        session.exec(
            select(func.coalesce(func.sum(RebateEntry.amount_fen), 0)).where(
                RebateEntry.member_id == member_id, RebateEntry.bucket == AVAILABLE
            )
        ).one()
    )
    if available >= 0:
        return 0
    paid = select(RebateEntry.withdrawal_id).where(
        RebateEntry.member_id == member_id, RebateEntry.kind == "withdrawal_paid"
    )
    unpaid = session.exec(
        select(RebateEntry)
        .where(
            RebateEntry.member_id == member_id,
            RebateEntry.kind == "withdrawal_request",
            RebateEntry.bucket == WITHDRAWING,
            col(RebateEntry.withdrawal_id).not_in(paid),
        )
        .order_by(col(RebateEntry.id))
    ).all()
    return _shortfalls(list(unpaid), available).get(request.withdrawal_id or 0, 0)


def pay(engine: Engine, withdrawal_id: int, *, force: bool = False) -> Withdrawal | None:
    """Record that the operator paid request `withdrawal_id` by hand; None when there is no such unpaid one.
    The console's 标记已付 and `tuike rebate pay` at the same moment record one payment: the check that it
    is not paid yet and the payment happen under the member's ledger lock.

    The balance is checked again there: a request a refund has since uncovered raises `Uncovered`
    (nothing recorded) unless `force` — the operator says they transferred the money already."""
    with Session(engine) as session:
        found = _request(session, withdrawal_id)  # whose request: entries never change, no lock needed
        member_id = found.member_id if found is not None else None
    if member_id is None:
        return None
    with _member_transaction(engine, member_id) as session:
        request = _request(session, withdrawal_id)
        done = session.exec(
            select(RebateEntry.id).where(
                RebateEntry.withdrawal_id == withdrawal_id, RebateEntry.kind == "withdrawal_paid"
            )
        ).first()
        if request is None or done is not None:
            return None
        short = _shortfall(session, request)
        if short and not force:
            raise Uncovered(
                Withdrawal(
                    withdrawal_id, request.member_id, request.amount_fen, request.created_at, False, short
                )
            )
        paid = Withdrawal(
            withdrawal_id, request.member_id, request.amount_fen, request.created_at, True, short
        )
        for bucket, amount in ((WITHDRAWING, -request.amount_fen), (PAID, request.amount_fen)):
            session.add(
                RebateEntry(
                    member_id=request.member_id,
                    kind="withdrawal_paid",
                    bucket=bucket,
                    amount_fen=amount,
                    withdrawal_id=withdrawal_id,
                )
            )
        try:
            session.commit()
        except IntegrityError:  # a unique (withdrawal_id, kind, bucket) index, where there is one, said: paid
            session.rollback()
            return None
        return paid
