"""The request log: every member request, written in batches so the reply path never waits on a disk.

A batch the database refuses is retried row by row, so one bad row costs that row, never its batch.
(Text is cleaned by the column types, bot.store.text; this is the net for whatever else can fail.)"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Engine, insert
from sqlalchemy.exc import InterfaceError, OperationalError

from bot.store.models import RequestLog, utcnow

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RequestRecord:
    chat_id: str
    sender_id: str
    kind: str
    query: str = ""
    platform: str = ""
    product_id: str = ""
    league_calls: int = 0
    outcome: str = ""


class RequestRecorder:
    def __init__(self, engine: Engine | None, flush_every: float = 2.0, batch: int = 200) -> None:
        self.engine = engine
        self.flush_every = flush_every
        self.batch = batch
        self._pending: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def record(self, record: RequestRecord) -> None:
        if self.engine is None:
            return
        self._pending.append({"at": utcnow(), **asdict(record)})
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        try:
            while self._pending:
                if len(self._pending) < self.batch:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.flush_every)
                await self.flush()
        finally:
            self._task = None

    async def flush(self) -> None:
        rows, self._pending = self._pending, []
        if not rows or self.engine is None:
            return
        try:
            await asyncio.to_thread(write_requests, self.engine, rows)
        except Exception as exc:  # the database is away: nothing to salvage row by row
            log.error("could not write %d request log rows: %s", len(rows), type(exc).__name__)

    async def close(self) -> None:
        """Write everything still pending; a write already under way is waited for, never cut."""
        self._wake.set()
        if self._task is not None:
            await self._task
        await self.flush()


_REQUEST_LOG = RequestLog.__table__  # type: ignore[attr-defined]


def write_requests(engine: Engine, rows: list[dict[str, Any]]) -> int:
    """Insert `rows` in one statement; if the database refuses it, row by row. Returns rows written.

    Only a row the database refuses on its own is dropped (logged by position and error type, never
    by content: it is a member's text). An unreachable database raises."""
    try:
        with engine.begin() as connection:
            connection.execute(insert(_REQUEST_LOG), rows)
        return len(rows)
    except Exception as exc:
        if len(rows) == 1:
            raise
        log.warning("request log batch of %d refused (%s); writing row by row", len(rows), type(exc).__name__)
    written = 0
    for index, row in enumerate(rows):
        try:
            with engine.begin() as connection:
                connection.execute(insert(_REQUEST_LOG), [row])
        except (OperationalError, InterfaceError):
            raise  # the database itself is away, not this row
        except Exception as exc:
            log.warning("request log row %d of %d dropped: %s", index + 1, len(rows), type(exc).__name__)
            continue
        written += 1
    return written
