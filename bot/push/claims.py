"""Never twice, never silently lost: each (group, slot) is claimed in the store before it is sent.

The claim is an INSERT guarded by the unique (group_id, slot) constraint, so two processes sharing a
database cannot both win it, on SQLite or PostgreSQL. Status moves claimed → sending → sent | failed.
A row left in claimed/sending by a process that died is marked `interrupted` at start-up and reported:
it may have reached the group, so it is never resent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Dialect, Engine, bindparam, delete, func, update
from sqlalchemy.dialects import sqlite
from sqlmodel import Session, col, select

from bot.store.driver import driver_transaction as _driver_transaction
from bot.store.models import PushLog, utcnow
from bot.store.text import clean

CLAIMED, SENDING, SENT, FAILED, INTERRUPTED, SKIPPED = (
    "claimed",
    "sending",
    "sent",
    "failed",
    "interrupted",
    "skipped",
)


_PUSH_LOG = PushLog.__table__  # type: ignore[attr-defined]
"""Claims and marks are plain Core statements: they sit on the send path, once per message, and the
ORM session around them cost as much as the SQLite commit itself."""


@dataclass(frozen=True)
class Mark:
    """A status change for a claimed slot (e.g. "sent"), waiting to be written."""

    group_id: int
    slot: str
    status: str
    detail: str = ""
    product_ids: tuple[str, ...] = ()


def claim(
    engine: Engine,
    group_id: int,
    slot: str,
    owner: str,
    status: str = CLAIMED,
    detail: str = "",
    product_ids: Iterable[str] = (),
    *,
    marks: Iterable[Mark] = (),
) -> bool:
    """True when this process now owns (group, slot); False when anyone ever claimed it before.

    `marks` (typically the previous message's "sent") are written in the same transaction: on the
    send path that halves the commits per message.
    """
    row = {  # the keys are _CLAIM_COLUMNS
        "group_id": group_id,
        "slot": slot,
        "status": status,
        "claimed_by": owner,
        "claimed_at": utcnow(),
        "finished_at": utcnow() if status == SKIPPED else None,
        "detail": detail[:2048],
        "product_ids": ",".join(product_ids)[:2048],
    }
    claim_sql, mark_sql = _driver_statements(engine.dialect)
    with _driver_transaction(engine) as cursor:
        _run_marks(cursor, mark_sql, marks)
        cursor.execute(claim_sql.sql, claim_sql.params(row))
        return cursor.fetchone() is not None if claim_sql.returns_id else cursor.rowcount == 1


_CLAIM_COLUMNS = (
    "group_id",
    "slot",
    "status",
    "claimed_by",
    "claimed_at",
    "finished_at",
    "detail",
    "product_ids",
)


@dataclass(frozen=True)
class Ahead:
    """A queued push to claim in a batch, ahead of the sender reaching it."""

    group_id: int
    slot: str
    product_ids: tuple[str, ...] = ()
    reserved: bool = False
    """Reserved by this process before it was composed (`reserve`): taken from claimed to sending."""

    @property
    def key(self) -> tuple[int, str]:
        return self.group_id, self.slot


_PG_CLAIM_BATCH = """
INSERT INTO push_log (group_id, slot, status, claimed_by, claimed_at, finished_at, detail, product_ids)
SELECT t.group_id, t.slot, %(status)s, %(owner)s, %(now)s, NULL, '', t.product_ids
FROM unnest(%(group_ids)s::integer[], %(slots)s::varchar[], %(product_ids)s::varchar[])
     AS t(group_id, slot, product_ids)
ON CONFLICT (group_id, slot) DO NOTHING
RETURNING group_id, slot
"""


def claim_batch(
    engine: Engine, batch: Sequence[Ahead], owner: str, *, marks: Iterable[Mark] = ()
) -> set[tuple[int, str]]:
    """Claim every push of `batch` as sending, and write `marks`, in ONE transaction; returns the
    (group, slot) keys this process now owns (the others were claimed before, by anyone).

    Why a batch: on PostgreSQL a commit costs a millisecond or more, so a claim per message could not
    keep 2,000 messages a second. The sender claims only as far ahead as it sends in a few hundredths
    of a second (`PushService`), and a process that dies holding a batch has each of its slots reported
    as interrupted (never resent), like the one message in flight."""
    if not batch:
        write_marks(engine, marks)
        return set()
    _claim, mark_sql = _driver_statements(engine.dialect)
    fresh = [a for a in batch if not a.reserved]
    reserved = [a for a in batch if a.reserved]
    with _driver_transaction(engine) as cursor:
        _run_marks(cursor, mark_sql, marks)
        won = _take_reserved(cursor, engine.dialect, reserved, owner) if reserved else set()
        if not fresh:
            return won
        if engine.dialect.name == "postgresql":
            return won | _claim_batch_postgresql(cursor, fresh, owner)
        return won | {a.key for a in fresh if _claim_one(cursor, engine.dialect, a, owner)}


def _take_reserved(cursor: Any, dialect: Dialect, batch: Sequence[Ahead], owner: str) -> set[tuple[int, str]]:
    """Reserved slots still ours (reserved by this owner, not taken over) move to sending."""
    owner = clean(owner, 128, key=True)
    marker = "%s" if dialect.paramstyle in ("format", "pyformat") else "?"
    sql = (
        f"UPDATE push_log SET status = {marker}, product_ids = {marker} "
        f"WHERE group_id = {marker} AND slot = {marker} AND status = {marker} AND claimed_by = {marker}"
    )
    won = set()
    for a in batch:  # a reserved slot is rare at pace, and these are updates by key: one at a time
        ids = clean(",".join(a.product_ids)[:2048], 2048)
        cursor.execute(sql, (SENDING, ids, a.group_id, clean(a.slot, 128, key=True), CLAIMED, owner))
        if cursor.rowcount == 1:
            won.add(a.key)
    return won


def reserve(
    engine: Engine, group_id: int, slot: str, owner: str, *, stale: timedelta = timedelta(minutes=15)
) -> bool:
    """Reserve a due slot before composing it (the league calls), so processes sharing a database
    divide the due groups between them instead of each composing every one and all but one losing
    its claim. True when this process now holds it: a new row `claimed`, or one another process
    reserved more than `stale` ago and never took further (it died; its claim-to-send would now fail,
    so the slot is still sent at most once)."""
    now = utcnow()
    statement = _reserve_statement(engine.dialect)
    with Session(engine) as session:
        found = session.execute(
            statement,
            {
                "group_id": group_id,
                "slot": slot,
                "status": CLAIMED,
                "claimed_by": owner,
                "claimed_at": now,
                "detail": "",
                "product_ids": "",
                "stale": now - stale,
            },
        ).first()
        session.commit()
    return found is not None


def _reserve_statement(dialect: Dialect) -> Any:
    if dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        insert: Any = postgresql.insert(_PUSH_LOG)
    else:
        insert = sqlite.insert(_PUSH_LOG)
    values = insert.values(
        group_id=bindparam("group_id"),
        slot=bindparam("slot"),
        status=bindparam("status"),
        claimed_by=bindparam("claimed_by"),
        claimed_at=bindparam("claimed_at"),
        detail=bindparam("detail"),
        product_ids=bindparam("product_ids"),
    )
    c = _PUSH_LOG.c
    return values.on_conflict_do_update(
        index_elements=["group_id", "slot"],
        set_={"claimed_by": values.excluded.claimed_by, "claimed_at": values.excluded.claimed_at},
        where=(c.status == CLAIMED) & (c.claimed_at < bindparam("stale", type_=c.claimed_at.type)),
    ).returning(c.id)


def unreserve(engine: Engine, group_id: int, slot: str, owner: str) -> None:
    """Give back a reserved slot that could not be composed (the league failed): the next tick tries it."""
    release(engine, [(group_id, slot)], owner)


def _claim_batch_postgresql(cursor: Any, batch: Sequence[Ahead], owner: str) -> set[tuple[int, str]]:
    """The batch in one statement: the slots as arrays, each inserted unless claimed before."""
    cursor.execute(
        _PG_CLAIM_BATCH,
        {
            "status": SENDING,
            "owner": clean(owner, 128, key=True),
            "now": utcnow(),
            "group_ids": [a.group_id for a in batch],
            "slots": [clean(a.slot, 128, key=True) for a in batch],
            "product_ids": [clean(",".join(a.product_ids)[:2048], 2048) for a in batch],
        },
    )
    won = {(int(group_id), slot) for group_id, slot in cursor.fetchall()}
    return {a.key for a in batch if (a.group_id, clean(a.slot, 128, key=True)) in won}


def _claim_one(cursor: Any, dialect: Dialect, ahead: Ahead, owner: str) -> bool:
    claim_sql, _mark = _driver_statements(dialect)
    row = {
        "group_id": ahead.group_id,
        "slot": ahead.slot,
        "status": SENDING,
        "claimed_by": owner,
        "claimed_at": utcnow(),
        "finished_at": None,
        "detail": "",
        "product_ids": ",".join(ahead.product_ids)[:2048],
    }
    cursor.execute(claim_sql.sql, claim_sql.params(row))
    return cursor.fetchone() is not None if claim_sql.returns_id else cursor.rowcount == 1


def release(engine: Engine, keys: Iterable[tuple[int, str]], owner: str) -> None:
    """Give back slots this process claimed ahead and is certain it never began sending (its sender
    closed before reaching them): gone from the push log, so the next tick or a restart sends them."""
    rows = [{"g": g, "s": s, "o": owner} for g, s in keys]
    if not rows:
        return
    with Session(engine) as session:
        session.execute(_RELEASE, rows)
        session.commit()


_RELEASE = delete(_PUSH_LOG).where(
    _PUSH_LOG.c.group_id == bindparam("g"),
    _PUSH_LOG.c.slot == bindparam("s"),
    _PUSH_LOG.c.claimed_by == bindparam("o"),
    (_PUSH_LOG.c.status == CLAIMED) | (_PUSH_LOG.c.status == SENDING),
)


def _claim_statement(dialect: Dialect) -> Any:
    """INSERT ... ON CONFLICT (group_id, slot) DO NOTHING, so losing a claim does not abort the
    transaction the marks share."""
    if dialect.name == "postgresql":  # psycopg reports no row count for an INSERT that returns the new id
        from sqlalchemy.dialects import postgresql  # here: importing it costs start-up on SQLite

        statement = postgresql.insert(_PUSH_LOG).on_conflict_do_nothing(index_elements=["group_id", "slot"])
        return statement.returning(_PUSH_LOG.c.id)
    return sqlite.insert(_PUSH_LOG).on_conflict_do_nothing(index_elements=["group_id", "slot"])


@dataclass(frozen=True)
class _DriverStatement:
    """A statement compiled once for a dialect, run on the driver's own cursor with the bind processors
    SQLAlchemy would apply (SafeString's cleaning, SQLite's datetime text)."""

    sql: str
    names: tuple[str, ...]
    """Parameter order for a positional paramstyle; empty for a named one."""
    processors: dict[str, Callable[[Any], Any]]
    returns_id: bool
    postgresql: bool = False
    """On PostgreSQL the marks go set-wise (`_run_marks_postgresql`), not through this statement."""

    @classmethod
    def compile(cls, statement: Any, dialect: Dialect, columns: Iterable[str] = ()) -> _DriverStatement:
        compiled = statement.compile(dialect=dialect, column_keys=list(columns) or None)
        processors = {}
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                processors[name] = process
        names = tuple(compiled.positiontup or ()) if compiled.positional else ()
        returns_id = bool(compiled.effective_returning)
        return cls(compiled.string, names, processors, returns_id, dialect.name == "postgresql")

    def params(self, values: dict[str, Any]) -> Any:
        processed = {
            name: (self.processors[name](value) if name in self.processors and value is not None else value)
            for name, value in values.items()
        }
        return tuple(processed[name] for name in self.names) if self.names else processed


_COMPILED: dict[tuple[str, str, str], tuple[_DriverStatement, _DriverStatement]] = {}


def _driver_statements(dialect: Dialect) -> tuple[_DriverStatement, _DriverStatement]:
    """The claim and the mark, compiled once per kind of database. They run once per message sent, and
    going through SQLAlchemy's execution (compiled-cache lookup, result objects, pool events) cost twice
    what SQLite's own work does: at 2,000 messages a second the sender ran out of time."""
    key = (dialect.name, dialect.driver, dialect.paramstyle)
    if key not in _COMPILED:
        claim = _DriverStatement.compile(_claim_statement(dialect), dialect, _CLAIM_COLUMNS)
        _COMPILED[key] = claim, _DriverStatement.compile(_MARK, dialect)
    return _COMPILED[key]


def mark(
    engine: Engine,
    group_id: int,
    slot: str,
    status: str,
    *,
    detail: str = "",
    product_ids: Iterable[str] = (),
) -> None:
    write_marks(engine, [Mark(group_id, slot, status, detail, tuple(product_ids))])


def write_marks(engine: Engine, marks: Iterable[Mark]) -> None:
    _claim, mark_sql = _driver_statements(engine.dialect)
    with _driver_transaction(engine) as cursor:
        _run_marks(cursor, mark_sql, marks)


def _keep_unless_given(name: str) -> Any:
    column = _PUSH_LOG.c[name]
    return func.coalesce(bindparam(name, type_=column.type), column, type_=column.type)


_MARK = (
    update(_PUSH_LOG)
    .where(_PUSH_LOG.c.group_id == bindparam("g"), _PUSH_LOG.c.slot == bindparam("s"))
    .values(
        status=bindparam("status"),
        finished_at=_keep_unless_given("finished_at"),
        detail=_keep_unless_given("detail"),
        product_ids=_keep_unless_given("product_ids"),
    )
)
"""One statement for every mark (a value left None keeps the column), so executemany applies them."""


_PG_MARKS = """
UPDATE push_log AS p
SET status = t.status,
    finished_at = CASE WHEN t.finishes THEN %(now)s ELSE p.finished_at END,
    detail = COALESCE(t.detail, p.detail),
    product_ids = COALESCE(t.product_ids, p.product_ids)
FROM unnest(%(group_ids)s::integer[], %(slots)s::varchar[], %(statuses)s::varchar[],
            %(finishes)s::boolean[], %(details)s::varchar[], %(product_ids)s::varchar[])
     AS t(group_id, slot, status, finishes, detail, product_ids)
WHERE p.group_id = t.group_id AND p.slot = t.slot
"""


def _run_marks_postgresql(cursor: Any, marks: Sequence[Mark]) -> None:
    """The marks in one statement, as arrays: a batch's 100 "sent" marks cost one round trip and no
    per-row statement (an `executemany` of 100 updates cost as much as the claims themselves)."""
    last = {(m.group_id, clean(m.slot, 128, key=True)): m for m in marks}  # a key's last mark wins
    cursor.execute(
        _PG_MARKS,
        {
            "now": utcnow(),
            "group_ids": [g for g, _s in last],
            "slots": [s for _g, s in last],
            "statuses": [m.status for m in last.values()],
            "finishes": [m.status in (SENT, FAILED, SKIPPED) for m in last.values()],
            "details": [clean(m.detail[:2048], 2048) or None for m in last.values()],
            "product_ids": [clean(",".join(m.product_ids)[:2048], 2048) or None for m in last.values()],
        },
    )


def _run_marks(cursor: Any, statement: _DriverStatement, marks: Iterable[Mark]) -> None:
    if statement.postgresql:
        marks = list(marks)
        if marks:
            _run_marks_postgresql(cursor, marks)
        return
    rows = [
        {
            "g": m.group_id,
            "s": m.slot,
            "status": m.status,
            "finished_at": utcnow() if m.status in (SENT, FAILED, SKIPPED) else None,
            "detail": m.detail[:2048] or None,
            "product_ids": ",".join(m.product_ids)[:2048] or None,
        }
        for m in marks
    ]
    if rows:
        cursor.executemany(statement.sql, [statement.params(row) for row in rows])


def recover_interrupted(engine: Engine, owner_prefix: str = "") -> list[PushLog]:
    """Slots a dead process left half done: marked interrupted (not resent) and returned for the report.
    Slots it had only reserved (`claimed`: composing or queued, never handed to the sender) are given
    back instead, so the catch-up sends them."""
    with Session(engine, expire_on_commit=False) as session:
        statement = select(PushLog).where(col(PushLog.status).in_([CLAIMED, SENDING]))
        if owner_prefix:
            statement = statement.where(col(PushLog.claimed_by).startswith(owner_prefix))
        found = session.exec(statement).all()
        reserved = [row.id for row in found if row.status == CLAIMED]
        if reserved:  # one statement, so a reservation its owner gave back meanwhile is no error
            session.exec(delete(PushLog).where(col(PushLog.id).in_(reserved), col(PushLog.status) == CLAIMED))
        rows = [row for row in found if row.status != CLAIMED]
        for row in rows:
            row.status = INTERRUPTED
            row.finished_at = utcnow()
            row.detail = (row.detail + " | process stopped mid-push; not resent").strip(" |")[:2048]
            session.add(row)
        session.commit()
    return rows


def exists(engine: Engine, group_id: int, slot: str) -> bool:
    with Session(engine) as session:
        statement = select(PushLog.id).where(PushLog.group_id == group_id, PushLog.slot == slot)
        return session.exec(statement).first() is not None


def recent_products(engine: Engine, group_id: int, since: datetime) -> set[str]:
    """Products pushed to the group since `since` (for the no-repeat rule)."""
    with Session(engine) as session:
        statement = select(PushLog.product_ids).where(
            PushLog.group_id == group_id,
            col(PushLog.claimed_at) >= since,
            col(PushLog.status).in_([SENT, SENDING, INTERRUPTED]),
        )
        out: set[str] = set()
        for ids in session.exec(statement).all():
            out.update(i for i in ids.split(",") if i)
        return out


def latest(engine: Engine, limit: int = 50) -> list[PushLog]:
    with Session(engine) as session:
        statement = select(PushLog).order_by(col(PushLog.claimed_at).desc()).limit(limit)
        return list(session.exec(statement).all())


def days(n: int) -> timedelta:
    return timedelta(days=n)


def counts_since(engine: Engine, since: datetime) -> dict[str, int]:
    """How many slots ended in each status since `since`, over every row (not a recent page of them)."""
    with Session(engine) as session:
        statement = (
            select(PushLog.status, func.count())
            .where(col(PushLog.claimed_at) >= since)
            .group_by(PushLog.status)
        )
        return {status: number for status, number in session.exec(statement).all()}


def page_of(
    engine: Engine,
    *,
    statuses: Iterable[str] = (),
    group_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[PushLog], int]:
    """A page of push results, newest claimed first (of these statuses, of one group), and how many match."""
    wanted = list(statuses)
    with Session(engine, expire_on_commit=False) as session:
        rows = select(PushLog)
        counted = select(func.count()).select_from(PushLog)
        if wanted:
            rows = rows.where(col(PushLog.status).in_(wanted))
            counted = counted.where(col(PushLog.status).in_(wanted))
        if group_id is not None:
            rows = rows.where(PushLog.group_id == group_id)
            counted = counted.where(PushLog.group_id == group_id)
        total = session.exec(counted).one()
        statement = rows.order_by(col(PushLog.id).desc())  # claim order: rows are written when claimed
        return list(session.exec(statement.offset(offset).limit(limit)).all()), int(total)


def status_of(engine: Engine, group_id: int, slot: str) -> str:
    """The slot's status in the push log ('' when nobody claimed it)."""
    with Session(engine) as session:
        statement = select(PushLog.status).where(PushLog.group_id == group_id, PushLog.slot == slot)
        return session.exec(statement).first() or ""


def counts_lately(engine: Engine, since: datetime) -> dict[str, int]:
    """`counts_since` for a recent `since`, reading only the recent rows: rows are written when claimed,
    so the newest row claimed before `since` bounds the scan by id (the primary key) from below."""
    with Session(engine) as session:
        before = session.exec(
            select(PushLog.id)
            .where(col(PushLog.claimed_at) < since)
            .order_by(col(PushLog.id).desc())
            .limit(1)
        ).first()
        statement = (
            select(PushLog.status, func.count())
            .where(col(PushLog.id) > (before or 0), col(PushLog.claimed_at) >= since)
            .group_by(PushLog.status)
        )
        return {status: number for status, number in session.exec(statement).all()}
