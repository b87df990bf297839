"""The request log: every member request, written in batches so the reply path never waits on a disk."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session

from bot.store.models import RequestLog

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
        self._pending: list[RequestLog] = []
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def record(self, record: RequestRecord) -> None:
        if self.engine is None:
            return
        self._pending.append(
            RequestLog(
                chat_id=record.chat_id[:128],
                sender_id=record.sender_id[:128],
                kind=record.kind,
                query=record.query[:512],
                platform=record.platform,
                product_id=record.product_id[:64],
                league_calls=record.league_calls,
                outcome=record.outcome,
            )
        )
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
        engine = self.engine

        def write() -> None:
            with Session(engine) as session:
                session.add_all(rows)
                session.commit()

        try:
            await asyncio.to_thread(write)
        except Exception:
            log.exception("could not write %d request log rows", len(rows))

    async def close(self) -> None:
        """Write everything still pending; a write already under way is waited for, never cut."""
        self._wake.set()
        if self._task is not None:
            await self._task
        await self.flush()
