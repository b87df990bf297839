"""Read-only queries behind the console's 订单 and 返利 pages: a filtered, paginated order list with its
totals, one order line with its history and rebate binding, and the rebate ledger per member.

Everything is aggregated and paginated in SQL (the pages must stay fast over 100k orders): a page never
loads more than one page of rows into Python. Nothing here writes; changes go through bot.store.orders
and bot.store.rebate like the chat handlers and the CLI do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Engine, Select, and_, case, func, literal, or_, union, union_all
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from bot.store.models import (
    Group,
    OrderEvent,
    OrderRow,
    RebateBinding,
    RebateEntry,
    SyncCursor,
)
from bot.store.rebate import BUCKETS

PER_PAGE = 50
_S = TypeVar("_S", bound="Select[*tuple[Any, ...]]")


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _contains(engine: Engine, column: Any, text: str, *, any_case: bool = True) -> Any:
    """`column` contains `text` (its own % and _ taken literally), ignoring case unless told not to.
    Plain LIKE wherever it means the same (text without letters that have a case — Chinese, digits —
    or an order number), as it costs half of PostgreSQL's ILIKE; SQLite's LIKE already ignores ASCII
    case (its ILIKE would lower() every row first)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    caseless = text.lower() == text.upper()
    if engine.dialect.name == "sqlite" or not any_case or caseless:
        return column.like(pattern, escape="\\")
    return column.ilike(pattern, escape="\\")


def _unindexed(engine: Engine, column: Any) -> Any:
    """`column`, kept from an index on SQLite. Without statistics SQLite walks the (league, order, sku)
    index for `league = ?` and then sorts a quarter of all orders by time; scanning the time index (or
    the table, to add up) is many times faster. PostgreSQL's planner has statistics and decides itself."""
    return column.concat("") if engine.dialect.name == "sqlite" else column


# -- orders ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderFilter:
    """Which order lines to list. Empty strings and None mean "any"."""

    league: str = ""
    status: str = ""
    group_id: int | None = None
    unattributed: bool = False
    """Only the lines no group's link made (group_id null); wins over `group_id`."""
    start: datetime | None = None
    """Created at or after (UTC)."""
    end: datetime | None = None
    """Created before (UTC)."""
    text: str = ""
    """Part of the order id or of the title."""


@dataclass(frozen=True, slots=True)
class OrderLine:
    id: int
    league: str
    order_id: str
    sku_id: str
    product_id: str
    title: str
    paid_fen: int
    commission_fen: int
    status: str
    pid: str
    tag: str
    sharer_appid: str
    group_id: int | None
    group_name: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class OrderTotals:
    """Count and sums (fen) of every line the filter admits, not only the page shown."""

    count: int = 0
    paid_fen: int = 0
    commission_fen: int = 0


_LINE_COLUMNS = (
    col(OrderRow.id),
    col(OrderRow.league),
    col(OrderRow.order_id),
    col(OrderRow.sku_id),
    col(OrderRow.product_id),
    col(OrderRow.title),
    col(OrderRow.paid_fen),
    col(OrderRow.commission_fen),
    col(OrderRow.status),
    col(OrderRow.pid),
    col(OrderRow.tag),
    col(OrderRow.sharer_appid),
    col(OrderRow.group_id),
    col(Group.name),
    col(OrderRow.created_at),
    col(OrderRow.updated_at),
)


def _line(row: Any) -> OrderLine:
    return OrderLine(
        id=int(row[0]),
        league=row[1],
        order_id=row[2],
        sku_id=row[3],
        product_id=row[4],
        title=row[5],
        paid_fen=int(row[6]),
        commission_fen=int(row[7]),
        status=row[8],
        pid=row[9],
        tag=row[10],
        sharer_appid=row[11],
        group_id=int(row[12]) if row[12] is not None else None,
        group_name=row[13] or "",
        created_at=_aware(row[14]),
        updated_at=_aware(row[15]),
    )


def _where(engine: Engine, statement: _S, wanted: OrderFilter) -> _S:
    if wanted.league:
        statement = statement.where(_unindexed(engine, col(OrderRow.league)) == wanted.league)
    if wanted.status:
        statement = statement.where(col(OrderRow.status) == wanted.status)
    if wanted.unattributed:
        statement = statement.where(col(OrderRow.group_id).is_(None))
    elif wanted.group_id is not None:
        statement = statement.where(col(OrderRow.group_id) == wanted.group_id)
    if wanted.start is not None:
        statement = statement.where(col(OrderRow.created_at) >= wanted.start)
    if wanted.end is not None:
        statement = statement.where(col(OrderRow.created_at) < wanted.end)
    text = wanted.text.strip()
    if text:
        statement = statement.where(
            or_(
                _contains(engine, col(OrderRow.order_id), text, any_case=False),
                _contains(engine, col(OrderRow.title), text),
            )
        )
    return statement


def order_page(
    engine: Engine, wanted: OrderFilter, page: int = 1, per_page: int = PER_PAGE
) -> list[OrderLine]:
    """One page (1-based) of the order lines `wanted` admits, newest first, with their group's name."""
    page = max(page, 1)
    newest_first = (col(OrderRow.created_at).desc(), col(OrderRow.id).desc())
    # The page's ids first (from the created_at index alone when nothing else filters), then only those
    # rows with their group: a deep page skips ids, not joined rows.
    page_ids = (
        _where(engine, core_select(col(OrderRow.id)), wanted)
        .order_by(*newest_first)
        .limit(per_page)
        .offset((page - 1) * per_page)
        .subquery("page")
    )
    listing = (
        core_select(*_LINE_COLUMNS)
        .select_from(OrderRow)
        .join(page_ids, page_ids.c.id == col(OrderRow.id))
        .outerjoin(Group, col(Group.id) == col(OrderRow.group_id))
        .order_by(*newest_first)
    )
    with engine.connect() as connection:
        return [_line(row) for row in connection.execute(listing)]


def order_totals(engine: Engine, wanted: OrderFilter) -> OrderTotals:
    """The count and sums of every line `wanted` admits (one aggregate query, not a sum of a page).
    Independent of `order_page`: a page may run the two at once."""
    sums = _where(
        engine,
        core_select(
            func.count(),
            func.coalesce(func.sum(OrderRow.paid_fen), 0),
            func.coalesce(func.sum(OrderRow.commission_fen), 0),
        ).select_from(OrderRow),
        wanted,
    )
    with engine.connect() as connection:
        count, paid, commission = connection.execute(sums).one()
    return OrderTotals(int(count), int(paid), int(commission))


EXPORT_BATCH = 1000


def order_batch(
    engine: Engine,
    wanted: OrderFilter,
    after: OrderLine | None = None,
    size: int = EXPORT_BATCH,
) -> list[OrderLine]:
    """Up to `size` order lines `wanted` admits, newest first like `order_page`, that come after the
    line `after` (the last of the previous batch; None: from the newest). For taking every matching line
    out (the CSV export) without ever loading them all: each batch is one short query of its own, and
    it resumes from the last line's (created_at, id) rather than skipping rows with OFFSET, so the last
    batch of 100k lines costs what the first does."""
    statement = _where(
        engine,
        core_select(*_LINE_COLUMNS)
        .select_from(OrderRow)
        .outerjoin(Group, col(Group.id) == col(OrderRow.group_id)),
        wanted,
    )
    if after is not None:
        created = col(OrderRow.created_at)
        statement = statement.where(
            created <= after.created_at,  # a range the time index can start from
            or_(created < after.created_at, col(OrderRow.id) < after.id),
        )
    statement = statement.order_by(col(OrderRow.created_at).desc(), col(OrderRow.id).desc()).limit(
        max(size, 1)
    )
    with engine.connect() as connection:
        return [_line(row) for row in connection.execute(statement)]


def order_leagues(engine: Engine) -> list[str]:
    """The leagues that have synced orders (each keeps a sync cursor): what the league filter offers."""
    with Session(engine) as session:
        return sorted(set(session.exec(select(SyncCursor.league))))


def group_choices(engine: Engine) -> list[tuple[int, str]]:
    """(id, name) of every group, by name then id: what the group filter offers."""
    with Session(engine) as session:
        rows = session.exec(select(Group.id, Group.name).order_by(col(Group.name), col(Group.id)))
        return [(int(gid), name) for gid, name in rows if gid is not None]


@dataclass(frozen=True, slots=True)
class BindingView:
    """An order's rebate binding and what the ledger holds for it now, per bucket (fen)."""

    id: int
    member_id: str
    share_percent: int
    bound_at: datetime
    credited: dict[str, int]


@dataclass(frozen=True, slots=True)
class EventLine:
    """A state the order line was seen in (bot.store.models.OrderEvent)."""

    status: str
    paid_fen: int
    commission_fen: int
    at: datetime
    """The league's update time of this state."""
    seen_at: datetime


@dataclass(frozen=True, slots=True)
class OrderDetail:
    line: OrderLine
    events: list[EventLine]
    """The states the line was seen in, oldest first."""
    siblings: list[OrderLine]
    """The other lines of the same order (same league and order id)."""
    binding: BindingView | None


def order_detail(engine: Engine, row_id: int) -> OrderDetail | None:
    """The order line with this row id, its status history, its order's other lines and its binding."""
    joined = (
        core_select(*_LINE_COLUMNS)
        .select_from(OrderRow)
        .outerjoin(Group, col(Group.id) == col(OrderRow.group_id))
    )
    with engine.connect() as connection:
        found = connection.execute(joined.where(col(OrderRow.id) == row_id)).first()
        if found is None:
            return None
        line = _line(found)
        siblings = [
            _line(row)
            for row in connection.execute(
                joined.where(
                    col(OrderRow.league) == line.league,
                    col(OrderRow.order_id) == line.order_id,
                    col(OrderRow.id) != line.id,
                ).order_by(col(OrderRow.id))
            )
        ]
    with Session(engine) as session:
        events = [
            EventLine(e.status, e.paid_fen, e.commission_fen, _aware(e.at), _aware(e.seen_at))
            for e in session.exec(
                select(OrderEvent).where(OrderEvent.order_row_id == row_id).order_by(col(OrderEvent.id))
            )
        ]
        binding = session.exec(
            select(RebateBinding).where(
                RebateBinding.league == line.league, RebateBinding.order_id == line.order_id
            )
        ).first()
        view = None
        if binding is not None and binding.id is not None:
            sums = session.exec(
                select(RebateEntry.bucket, func.sum(RebateEntry.amount_fen))
                .where(RebateEntry.binding_id == binding.id)
                .group_by(col(RebateEntry.bucket))
            )
            credited = dict.fromkeys(BUCKETS, 0) | {bucket: int(total or 0) for bucket, total in sums}
            view = BindingView(
                binding.id, binding.member_id, binding.share_percent, _aware(binding.bound_at), credited
            )
    return OrderDetail(line, events, siblings, view)


# -- the rebate ledger ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberLedger:
    """A member's balance per bucket (sums of their entries, as bot.store.rebate.balance), how many
    orders they bound, and when their ledger last moved."""

    member_id: str
    pending_fen: int = 0
    available_fen: int = 0
    withdrawing_fen: int = 0
    paid_fen: int = 0
    bindings: int = 0
    last_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LedgerPage:
    members: list[MemberLedger]
    member_count: int
    """Members the search admits (all pages)."""
    totals: dict[str, int] = field(default_factory=dict)
    """Every member's balance per bucket added up (fen)."""


def _bucket_sum(bucket: str) -> Any:
    return case((col(RebateEntry.bucket) == bucket, col(RebateEntry.amount_fen)), else_=0)


def member_ledgers(engine: Engine, page: int = 1, per_page: int = PER_PAGE, text: str = "") -> LedgerPage:
    """One page of members (anyone with a binding or a ledger entry), most recently active first, each
    with their balance per bucket; the number of such members and the totals per bucket."""
    page = max(page, 1)
    text = text.strip()
    # Each table added up per member first (a few thousand rows), then the two put together.
    entries: Select[*tuple[Any, ...]] = core_select(
        col(RebateEntry.member_id).label("member_id"),
        func.sum(_bucket_sum("pending")).label("pending"),
        func.sum(_bucket_sum("available")).label("available"),
        func.sum(_bucket_sum("withdrawing")).label("withdrawing"),
        func.sum(_bucket_sum("paid")).label("paid"),
        literal(0).label("bound"),
        func.max(RebateEntry.created_at).label("at"),
    ).group_by(col(RebateEntry.member_id))
    bindings: Select[*tuple[Any, ...]] = core_select(
        col(RebateBinding.member_id).label("member_id"),
        literal(0).label("pending"),
        literal(0).label("available"),
        literal(0).label("withdrawing"),
        literal(0).label("paid"),
        func.count().label("bound"),
        func.max(RebateBinding.bound_at).label("at"),
    ).group_by(col(RebateBinding.member_id))
    members_q: Select[*tuple[Any, ...]] = core_select(col(RebateEntry.member_id))
    bound_q: Select[*tuple[Any, ...]] = core_select(col(RebateBinding.member_id))
    if text:
        entries = entries.where(_contains(engine, col(RebateEntry.member_id), text))
        bindings = bindings.where(_contains(engine, col(RebateBinding.member_id), text))
        members_q = members_q.where(_contains(engine, col(RebateEntry.member_id), text))
        bound_q = bound_q.where(_contains(engine, col(RebateBinding.member_id), text))
    both = union_all(entries, bindings).subquery("ledger")
    last = func.max(both.c.at)
    listing = (
        core_select(
            both.c.member_id,
            func.sum(both.c.pending),
            func.sum(both.c.available),
            func.sum(both.c.withdrawing),
            func.sum(both.c.paid),
            func.sum(both.c.bound),
            last,
        )
        .group_by(both.c.member_id)
        .order_by(last.desc(), both.c.member_id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    everyone = union(members_q, bound_q).subquery("everyone")  # UNION: each member once
    counting = core_select(func.count()).select_from(everyone)
    totals_q = core_select(col(RebateEntry.bucket), func.sum(RebateEntry.amount_fen)).group_by(
        col(RebateEntry.bucket)
    )
    if text:
        totals_q = totals_q.where(_contains(engine, col(RebateEntry.member_id), text))
    with engine.connect() as connection:
        members = [
            MemberLedger(
                row[0],
                int(row[1] or 0),
                int(row[2] or 0),
                int(row[3] or 0),
                int(row[4] or 0),
                int(row[5] or 0),
                _aware(row[6]) if row[6] is not None else None,
            )
            for row in connection.execute(listing)
        ]
        count = int(connection.execute(counting).scalar_one())
        found = {bucket: int(total or 0) for bucket, total in connection.execute(totals_q)}
    return LedgerPage(members, count, {bucket: found.get(bucket, 0) for bucket in BUCKETS})


@dataclass(frozen=True, slots=True)
class EntryLine:
    """One ledger entry, with the order it came from (when it came from a binding)."""

    id: int
    kind: str
    bucket: str
    amount_fen: int
    created_at: datetime
    withdrawal_id: int | None
    league: str
    order_id: str
    order_row_id: int | None
    """The first synced line of that order, to link to; None when the order is not (or no longer) synced."""


def _first_line() -> Any:
    """The id of the first synced line of a binding's order (None when none is synced): what to link to."""
    return (
        core_select(func.min(OrderRow.id))
        .where(
            and_(
                col(OrderRow.league) == col(RebateBinding.league),
                col(OrderRow.order_id) == col(RebateBinding.order_id),
            )
        )
        .correlate(RebateBinding)
        .scalar_subquery()
    )


def member_entries(
    engine: Engine, member_id: str, page: int = 1, per_page: int = PER_PAGE
) -> tuple[list[EntryLine], int]:
    """One page of the member's ledger entries, newest first, and how many they have in all."""
    page = max(page, 1)
    listing = (
        core_select(
            col(RebateEntry.id),
            col(RebateEntry.kind),
            col(RebateEntry.bucket),
            col(RebateEntry.amount_fen),
            col(RebateEntry.created_at),
            col(RebateEntry.withdrawal_id),
            col(RebateBinding.league),
            col(RebateBinding.order_id),
            _first_line(),
        )
        .select_from(RebateEntry)
        .outerjoin(RebateBinding, col(RebateBinding.id) == col(RebateEntry.binding_id))
        .where(col(RebateEntry.member_id) == member_id)
        .order_by(col(RebateEntry.id).desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    counting = (
        core_select(func.count()).select_from(RebateEntry).where(col(RebateEntry.member_id) == member_id)
    )
    with engine.connect() as connection:
        lines = [
            EntryLine(
                int(row[0]),
                row[1],
                row[2],
                int(row[3]),
                _aware(row[4]),
                row[5],
                row[6] or "",
                row[7] or "",
                int(row[8]) if row[8] is not None else None,
            )
            for row in connection.execute(listing)
        ]
        count = int(connection.execute(counting).scalar_one())
    return lines, count


@dataclass(frozen=True, slots=True)
class BoundOrder:
    league: str
    order_id: str
    share_percent: int
    bound_at: datetime
    order_row_id: int | None
    """The first synced line of the order, to link to."""


def member_bindings(engine: Engine, member_id: str, limit: int = 200) -> list[BoundOrder]:
    """The orders the member bound (the newest `limit`), newest first."""
    listing = (
        core_select(
            col(RebateBinding.league),
            col(RebateBinding.order_id),
            col(RebateBinding.share_percent),
            col(RebateBinding.bound_at),
            _first_line(),
        )
        .where(col(RebateBinding.member_id) == member_id)
        .order_by(col(RebateBinding.id).desc())
        .limit(limit)
    )
    with engine.connect() as connection:
        return [
            BoundOrder(
                row[0], row[1], int(row[2]), _aware(row[3]), int(row[4]) if row[4] is not None else None
            )
            for row in connection.execute(listing)
        ]
