"""One order-sync window stored set-wise: its lines upserted, their history appended and the league's
cursor moved, in one transaction on the driver's own cursor.

Why not SQLAlchemy statements here: a first sync writes every order the league ever had (100k is an
ordinary shop), and its time went to SQLAlchemy's per-value bind processing, result objects, and on
PostgreSQL to an `IN (500 ids)` lookup whose generic plan over a table never analysed took seconds.
So each database gets the shape it is fast at, with the values cleaned here exactly as `SafeString`
would clean them:

- PostgreSQL: ONE statement per window — the lines as `unnest`ed arrays (sent in binary), `INSERT …
  ON CONFLICT DO UPDATE … RETURNING`, the history rows and the cursor as further data-modifying CTEs.
  Every part sees the snapshot from before the statement, so the rows as they were (`old`) tell a new
  line from a changed one. `old` is one index lookup per line (a `LATERAL … LIMIT 1`, which the
  planner cannot turn into a hash of every stored order of the league: on a table never analysed it
  did, and each window cost a scan of all of them). Planned for the values at hand (never a prepared
  generic plan).
- SQLite (in process, so a lookup costs microseconds): the cursor moved first (taking the write lock
  for the whole window), the known lines read in one `json_each` lookup, then one `executemany` each for
  the new lines, the updates and the history, the new lines' history copied from the rows just
  inserted (they are the rows past the largest id before the insert).

Semantics (both): a line listed twice in a window counts once, the newest; a repeat is an update,
never a second row; a line older than the stored one changes nothing; a status or amount change
appends to the history; a line read again without a group keeps the group it had; the cursor never
moves back.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Engine

from bot.store.driver import driver_transaction
from bot.store.models import OrderRow, utcnow
from bot.store.text import SafeString, clean

log = logging.getLogger(__name__)


class Order(Protocol):
    """An order line as a league reports it (`bot.leagues.base.Order`; the store may not import leagues)."""

    @property
    def order_id(self) -> str: ...
    @property
    def sku_id(self) -> str: ...
    @property
    def product_id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def paid_fen(self) -> int: ...
    @property
    def commission_fen(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def sharer_appid(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def pid(self) -> str: ...
    @property
    def tag(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Stored:
    new: int = 0
    changed: int = 0
    unchanged: int = 0


Line = tuple[Order, int | None]
"""An order line and the group it is attributed to (None: unattributed)."""

_COLUMNS = (
    "order_id",
    "sku_id",
    "product_id",
    "title",
    "paid_fen",
    "commission_fen",
    "status",
    "pid",
    "tag",
    "sharer_appid",
    "group_id",
    "created_at",
    "updated_at",
)
"""A line's values in this order (`_values`); the rows also carry the league and `synced_at`."""


def _cleaner(name: str) -> Callable[[str], str]:
    kind = OrderRow.__table__.c[name].type  # type: ignore[attr-defined]
    assert isinstance(kind, SafeString)
    length, key = kind.length, kind.key

    def cleaned(value: str) -> str:
        if len(value) <= length and value.isascii() and "\x00" not in value:
            return value  # the usual id or status: nothing to clean, no regex
        return clean(value, length, key=key)

    return cleaned


_ID, _SKU, _PRODUCT, _TITLE, _STATUS, _PID, _TAG, _SHARER, _LEAGUE = (
    _cleaner(name)
    for name in (
        "order_id",
        "sku_id",
        "product_id",
        "title",
        "status",
        "pid",
        "tag",
        "sharer_appid",
        "league",
    )
)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is UTC:  # the usual: a league's time already read as UTC
        return value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


FEN_LIMIT = 10**15
"""The largest amount an order line is stored with, in fen (¥10 trillion): far past any real order,
and thousands of lines at it still sum within a BIGINT (SQLite's `sum()` fails on an overflow, and
every report adds amounts up)."""


def _fen(value: int, order: Order) -> int:
    """`value`, or the limit on its side when a league sends an absurd amount: the line is stored rather
    than failing its window (past a BIGINT the driver refuses it on SQLite and PostgreSQL alike, and
    the sync stopped at that window on every run, the leagues after it never synced)."""
    if -FEN_LIMIT <= value <= FEN_LIMIT:
        return value
    log.warning(
        "order %s: an amount of %d digits stored as %d fen", order.order_id, len(str(value)), FEN_LIMIT
    )
    return FEN_LIMIT if value > 0 else -FEN_LIMIT


def _values(order: Order, group_id: int | None) -> tuple[Any, ...]:
    paid, commission = order.paid_fen, order.commission_fen
    if not (-FEN_LIMIT <= paid <= FEN_LIMIT and -FEN_LIMIT <= commission <= FEN_LIMIT):
        paid, commission = _fen(paid, order), _fen(commission, order)
    return (
        _ID(order.order_id),
        _SKU(order.sku_id),
        _PRODUCT(order.product_id),
        _TITLE(order.title),
        paid,
        commission,
        _STATUS(order.status),
        _PID(order.pid),
        _TAG(order.tag),
        _SHARER(order.sharer_appid),
        group_id,
        _utc(order.created_at),
        _utc(order.updated_at),
    )


def latest_lines(orders: Sequence[Line]) -> list[tuple[Any, ...]]:
    """Each (order id, sku) once, as the newest of its lines in the window (a window may list a line
    twice: paging while it changes), as `_COLUMNS` values."""
    latest: dict[tuple[str, str], tuple[Any, ...]] = {}
    for order, group_id in orders:
        values = _values(order, group_id)
        key = (values[0], values[1])
        kept = latest.get(key)
        if kept is None or kept[12] <= values[12]:
            latest[key] = values
    return list(latest.values())


def store(engine: Engine, league: str, orders: Sequence[Line], cursor: datetime) -> Stored:
    """Upsert the window's lines and move `league`'s cursor to `cursor`, in one transaction."""
    lines = latest_lines(orders)
    league = _LEAGUE(league)
    if engine.dialect.name == "postgresql":
        with _statement_cursor(engine) as db_cursor:
            new, changed = _store_postgresql(db_cursor, league, lines, _utc(cursor))
    else:
        with driver_transaction(engine) as db_cursor:
            new, changed = _SQLite(db_cursor).store(league, lines, _utc(cursor))
    return Stored(new, changed, len(lines) - new - changed)


# -- PostgreSQL: one statement -------------------------------------------------------------------------

_PG_WINDOW = """
WITH incoming AS (
    SELECT * FROM unnest(
        %(order_id)b::varchar[], %(sku_id)b::varchar[], %(product_id)b::varchar[], %(title)b::varchar[],
        %(paid_fen)b::bigint[], %(commission_fen)b::bigint[], %(status)b::varchar[], %(pid)b::varchar[],
        %(tag)b::varchar[], %(sharer_appid)b::varchar[], %(group_id)b::integer[],
        %(created_at)b::timestamptz[], %(updated_at)b::timestamptz[]
    ) AS t(order_id, sku_id, product_id, title, paid_fen, commission_fen, status, pid, tag, sharer_appid,
           group_id, created_at, updated_at)
),
old AS (
    SELECT o.id, o.status, o.paid_fen, o.commission_fen
    FROM incoming i CROSS JOIN LATERAL (
        SELECT id, status, paid_fen, commission_fen FROM orders
        WHERE league = %(league)s AND order_id = i.order_id AND sku_id = i.sku_id
        LIMIT 1
    ) o
),
upserted AS (
    INSERT INTO orders AS o (league, order_id, sku_id, product_id, title, paid_fen, commission_fen,
                             status, pid, tag, sharer_appid, group_id, created_at, updated_at, synced_at)
    SELECT %(league)s, order_id, sku_id, product_id, title, paid_fen, commission_fen, status, pid, tag,
           sharer_appid, group_id, created_at, updated_at, %(now)s
    FROM incoming
    ON CONFLICT (league, order_id, sku_id) DO UPDATE SET
        status = excluded.status, paid_fen = excluded.paid_fen,
        commission_fen = excluded.commission_fen, updated_at = excluded.updated_at,
        synced_at = excluded.synced_at, group_id = COALESCE(excluded.group_id, o.group_id)
    WHERE o.updated_at <= excluded.updated_at
    RETURNING o.id, o.status, o.paid_fen, o.commission_fen, o.updated_at
),
history AS (
    INSERT INTO order_events (order_row_id, status, paid_fen, commission_fen, at, seen_at)
    SELECT u.id, u.status, u.paid_fen, u.commission_fen, u.updated_at, %(now)s
    FROM upserted u LEFT JOIN old ON old.id = u.id
    WHERE old.id IS NULL
       OR (old.status, old.paid_fen, old.commission_fen) IS DISTINCT FROM (u.status, u.paid_fen, u.commission_fen)
    RETURNING order_row_id
),
moved AS (
    INSERT INTO sync_cursors AS c (league, cursor, updated_at) VALUES (%(league)s, %(cursor)s, %(now)s)
    ON CONFLICT (league) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at
    WHERE c.cursor < excluded.cursor
)
SELECT count(*) FILTER (WHERE old.id IS NULL), count(old.id)
FROM history h LEFT JOIN old ON old.id = h.order_row_id
"""


@contextmanager
def _statement_cursor(engine: Engine) -> Iterator[Any]:
    """A cursor on a pooled PostgreSQL connection in autocommit: the window is ONE statement, atomic
    by itself, so it needs no BEGIN and no COMMIT — one round trip to the server per window instead of
    three (on a busy machine each is a wait for the server's process to be scheduled)."""
    connection = engine.raw_connection()
    try:
        driver: Any = connection.driver_connection  # psycopg's Connection
        driver.autocommit = True  # as SQLAlchemy's own ping does; put back before the pool has it again
        try:
            with driver.cursor() as db_cursor:
                yield db_cursor
        finally:
            if not driver.closed:
                driver.autocommit = False
    finally:
        connection.close()


def _store_postgresql(
    db_cursor: Any, league: str, lines: list[tuple[Any, ...]], cursor: datetime
) -> tuple[int, int]:
    """The window in one statement: (new lines, changed lines)."""
    columns = list(zip(*lines, strict=True)) if lines else [()] * len(_COLUMNS)
    params: dict[str, Any] = {name: list(values) for name, values in zip(_COLUMNS, columns, strict=True)}
    params.update(league=league, cursor=cursor, now=utcnow())
    # The arrays go in binary (`%(name)b`): a text array is quoted and escaped element by element in
    # Python, about 14 µs of CPU a line against 2 µs. prepare=False: planned for these values every
    # time. A prepared statement settles on a generic plan, which on a table never analysed (no
    # autovacuum) can read every order per window.
    db_cursor.execute(_PG_WINDOW, params, prepare=False)
    new, changed = db_cursor.fetchone()
    return int(new), int(changed)


# -- SQLite: a lookup and three executemany -----------------------------------------------------------

_SQLITE_MOVE_CURSOR = """
INSERT INTO sync_cursors (league, cursor, updated_at) VALUES (?, ?, ?)
ON CONFLICT (league) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at
WHERE sync_cursors.cursor < excluded.cursor
"""
_SQLITE_KNOWN = """
SELECT id, order_id, sku_id, status, paid_fen, commission_fen, updated_at FROM orders
WHERE league = ? AND order_id IN (SELECT value FROM json_each(?))
"""
_SQLITE_INSERT = """
INSERT INTO orders (league, order_id, sku_id, product_id, title, paid_fen, commission_fen, status, pid,
                    tag, sharer_appid, group_id, created_at, updated_at, synced_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_SQLITE_NEW_HISTORY = """
INSERT INTO order_events (order_row_id, status, paid_fen, commission_fen, at, seen_at)
SELECT id, status, paid_fen, commission_fen, updated_at, ? FROM orders WHERE id > ?
"""
_SQLITE_UPDATE = """
UPDATE orders SET status = ?, paid_fen = ?, commission_fen = ?, updated_at = ?, synced_at = ?,
                  group_id = COALESCE(?, group_id)
WHERE id = ?
"""
_SQLITE_HISTORY = """
INSERT INTO order_events (order_row_id, status, paid_fen, commission_fen, at, seen_at)
VALUES (?, ?, ?, ?, ?, ?)
"""


class _SQLite:
    """The window on SQLite's own cursor; datetimes written as SQLAlchemy writes them (text)."""

    def __init__(self, db_cursor: Any) -> None:
        self.db = db_cursor

    @staticmethod
    def when(value: datetime) -> str:
        """A UTC datetime (`_utc`'s) as SQLAlchemy's SQLite dialect writes it ("2026-11-10
        04:00:00.000000"), in C: the ISO text without its "+00:00" (no `replace` per value)."""
        return value.isoformat(" ", "microseconds")[:26]

    def store(self, league: str, lines: list[tuple[Any, ...]], cursor: datetime) -> tuple[int, int]:
        now = self.when(utcnow())
        # a write first: the window holds SQLite's write lock from here on, so what it reads next is
        # what it writes over, and no other writer's rows fall among the ids it inserts
        self.db.execute(_SQLITE_MOVE_CURSOR, (league, self.when(cursor), now))
        known = self._known(league, lines)
        new = [line for line in lines if (line[0], line[1]) not in known]
        changed = self._update(lines, known, now)
        if new:
            self.db.execute("SELECT coalesce(max(id), 0) FROM orders")
            (before,) = self.db.fetchone()
            self.db.executemany(_SQLITE_INSERT, [self._row(league, line, now) for line in new])
            self.db.execute(_SQLITE_NEW_HISTORY, (now, before))
            if self.db.rowcount != len(new):  # only if rowids ran out (2**63): never write a wrong history
                raise RuntimeError(f"order history: {self.db.rowcount} rows for {len(new)} new lines")
        return len(new), changed

    def _row(self, league: str, line: tuple[Any, ...], now: str) -> tuple[Any, ...]:
        return (league, *line[:11], self.when(line[11]), self.when(line[12]), now)

    def _known(self, league: str, lines: list[tuple[Any, ...]]) -> dict[tuple[str, str], tuple[Any, ...]]:
        """The stored rows of the window's order ids, by (order id, sku)."""
        if not lines:
            return {}
        ids = json.dumps(sorted({line[0] for line in lines}), ensure_ascii=False)
        self.db.execute(_SQLITE_KNOWN, (league, ids))
        return {(row[1], row[2]): row for row in self.db.fetchall()}

    def _update(
        self, lines: list[tuple[Any, ...]], known: dict[tuple[str, str], tuple[Any, ...]], now: str
    ) -> int:
        """Known lines not older than the stored ones are updated; a status or amount change appends to
        the history. Returns how many changed."""
        updates: list[tuple[Any, ...]] = []
        history: list[tuple[Any, ...]] = []
        for line in lines:
            row = known.get((line[0], line[1]))
            if row is None or _utc(datetime.fromisoformat(row[6])) > line[12]:
                continue  # new, or an older state read again in an overlapping window
            status, paid, commission, updated = line[6], line[4], line[5], self.when(line[12])
            updates.append((status, paid, commission, updated, now, line[10], row[0]))
            if (row[3], row[4], row[5]) != (status, paid, commission):
                history.append((row[0], status, paid, commission, updated, now))
        if updates:
            self.db.executemany(_SQLITE_UPDATE, updates)
        if history:
            self.db.executemany(_SQLITE_HISTORY, history)
        return len(history)
