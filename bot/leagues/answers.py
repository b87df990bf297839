"""League answers kept in the store for as long as the league's data stays good.

A product's detail or a coupon costs one call each, and the daily quota is small; an in-memory cache
is lost on every restart, when a busy group asks for the same products again. Each league decides
what to keep and for how long (`StoredAnswers.put(kind, key, answer, lifetime)`); when its quota is
used up it may read an answer past its lifetime (`stale_ok`) rather than say nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects import sqlite

from bot.store.models import LeagueAnswer

Json = dict[str, Any]

_TABLE = LeagueAnswer.__table__  # type: ignore[attr-defined]


def _now() -> datetime:
    return datetime.now(UTC)


class StoredAnswers:
    def __init__(self, engine: Engine | None, league: str) -> None:
        self.engine = engine
        self.league = league

    async def get(self, kind: str, key: str, *, stale_ok: bool = False) -> Json | None:
        """The kept answer, None when there is none (or it is past its lifetime, unless `stale_ok`)."""
        if self.engine is None:
            return None
        engine = self.engine
        key = key[:128]  # as `put_many` keeps it

        def read() -> tuple[str, datetime] | None:
            statement = select(_TABLE.c.payload, _TABLE.c.expires_at).where(
                _TABLE.c.league == self.league, _TABLE.c.kind == kind, _TABLE.c.key == key
            )
            with engine.connect() as connection:
                row = connection.execute(statement).first()
            return (row[0], row[1]) if row is not None else None

        found = await asyncio.to_thread(read)
        if found is None:
            return None
        payload, expires = found
        if expires.tzinfo is None:  # SQLite hands back naive UTC
            expires = expires.replace(tzinfo=UTC)
        if not stale_ok and expires <= _now():
            return None
        answer = json.loads(payload)
        return answer if isinstance(answer, dict) else None

    async def put(self, kind: str, key: str, answer: Json, lifetime: float) -> None:
        await self.put_many([(kind, key, answer, lifetime)])

    async def put_many(self, answers: Sequence[tuple[str, str, Json, float]]) -> None:
        """Keep several answers (kind, key, answer, lifetime) in one transaction: a detail and the
        index entries that lead to it cost one write."""
        if self.engine is None or not answers:
            return
        engine = self.engine
        now = _now()
        rows = {
            (kind, key[:128]): {
                "league": self.league,
                "kind": kind,
                "key": key[:128],
                "payload": json.dumps(answer, ensure_ascii=False),
                "fetched_at": now,
                "expires_at": now + timedelta(seconds=lifetime),
            }
            for kind, key, answer, lifetime in answers
        }

        def write() -> None:
            module: Any = sqlite
            if engine.dialect.name == "postgresql":  # imported here: ~25 ms of start-up on SQLite
                from sqlalchemy.dialects import postgresql

                module = postgresql
            with engine.begin() as connection:
                for row in rows.values():
                    statement = module.insert(_TABLE).values(**row)
                    statement = statement.on_conflict_do_update(
                        index_elements=["league", "kind", "key"],
                        set_={
                            name: statement.excluded[name] for name in ("payload", "fetched_at", "expires_at")
                        },
                    )
                    connection.execute(statement)

        await asyncio.to_thread(write)
