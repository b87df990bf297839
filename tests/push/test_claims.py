"""The claim and its marks, written on the driver's cursor (the send path's one write per message),
must store exactly what the ORM reads, and be one transaction, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from bot.push import claims
from bot.store.groups import ensure_group
from bot.store.models import PushLog, utcnow


def _row(engine: Engine, slot: str) -> PushLog:
    with Session(engine) as session:
        return session.exec(select(PushLog).where(PushLog.slot == slot)).one()


def test_a_claim_and_its_marks_read_back_as_written(store: Engine) -> None:
    group = ensure_group(store, "r1@chatroom", "一群")
    assert group.id is not None
    before = utcnow()
    assert claims.claim(store, group.id, "daily:1", "host/1", claims.SENDING, "", ["p1", "p2"])
    assert not claims.claim(store, group.id, "daily:1", "host/2", claims.SENDING), "claimed once only"
    assert claims.claim(
        store,
        group.id,
        "daily:2",
        "host/1",
        claims.SENDING,
        marks=[claims.Mark(group.id, "daily:1", claims.SENT)],
    )
    first, second = _row(store, "daily:1"), _row(store, "daily:2")
    assert (first.status, first.claimed_by, first.product_ids) == (claims.SENT, "host/1", "p1,p2")
    assert first.finished_at is not None and before <= first.claimed_at <= first.finished_at
    assert first.finished_at - before < timedelta(minutes=1)
    assert (second.status, second.finished_at) == (claims.SENDING, None)

    claims.write_marks(store, [claims.Mark(group.id, "daily:2", claims.FAILED, "ChatError: 群不存在")])
    second = _row(store, "daily:2")
    assert (second.status, second.detail, second.product_ids) == (claims.FAILED, "ChatError: 群不存在", "")
    with Session(store) as session:  # the ORM's own comparisons agree with the stored times
        recent = select(PushLog).where(PushLog.claimed_at >= before - timedelta(seconds=1))
        assert len(session.exec(recent).all()) == 2


def test_a_claim_that_fails_takes_its_marks_back_with_it(store: Engine) -> None:
    group = ensure_group(store, "r1@chatroom", "一群")
    assert group.id is not None
    assert claims.claim(store, group.id, "daily:1", "me", claims.SENDING)
    with pytest.raises(Exception, match=r"(?i)foreign key"):  # no such group: the insert is refused
        claims.claim(store, 999_999, "daily:x", "me", marks=[claims.Mark(group.id, "daily:1", claims.SENT)])
    assert _row(store, "daily:1").status == claims.SENDING, "the mark rolled back with the claim"
    with store.connect() as connection:  # and the pooled connection is clean for the next write
        assert connection.execute(text("SELECT count(*) FROM push_log")).scalar() == 1
    assert claims.claim(
        store, group.id, "daily:2", "me", marks=[claims.Mark(group.id, "daily:1", claims.SENT)]
    )
    assert _row(store, "daily:1").status == claims.SENT
