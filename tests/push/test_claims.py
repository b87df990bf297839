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


def test_a_batch_is_claimed_in_one_transaction_and_lost_slots_are_told_apart(store: Engine) -> None:
    """A batch of slots claimed ahead of the sender: those anyone claimed before are not ours; a
    batch that fails takes its marks back and claims nothing; unsent slots given back can be claimed
    again (by the next tick or a restart)."""
    groups = [ensure_group(store, f"r{n}@chatroom", f"群{n}").id for n in range(4)]
    assert all(g is not None for g in groups)
    a, b, c, d = (int(g or 0) for g in groups)
    assert claims.claim(store, b, "daily:1", "other/1", claims.SENDING)
    batch = [claims.Ahead(a, "daily:1", ("p1",)), claims.Ahead(b, "daily:1"), claims.Ahead(c, "daily:1")]
    won = claims.claim_batch(store, batch, "me/1")
    assert won == {(a, "daily:1"), (c, "daily:1")}
    assert (_row_of(store, a).status, _row_of(store, a).product_ids) == (claims.SENDING, "p1")
    assert _row_of(store, b).claimed_by == "other/1"

    with pytest.raises(Exception, match=r"(?i)foreign key"):  # no such group: the whole batch is refused
        claims.claim_batch(
            store,
            [claims.Ahead(d, "daily:1"), claims.Ahead(999_999, "daily:1")],
            "me/1",
            marks=[claims.Mark(a, "daily:1", claims.SENT)],
        )
    assert _row_of(store, a).status == claims.SENDING, "the mark rolled back with the batch"
    assert claims.status_of(store, d, "daily:1") == ""

    claims.release(store, [(c, "daily:1"), (b, "daily:1")], "me/1")  # b is not ours: it stays
    assert claims.status_of(store, c, "daily:1") == ""
    assert _row_of(store, b).claimed_by == "other/1"
    assert claims.claim_batch(store, [claims.Ahead(c, "daily:1")], "me/2") == {(c, "daily:1")}


def _row_of(engine: Engine, group_id: int) -> PushLog:
    with Session(engine) as session:
        return session.exec(select(PushLog).where(PushLog.group_id == group_id)).one()


def test_a_batch_of_marks_gives_each_slot_its_own_result(store: Engine) -> None:
    """A batch's marks go in one write (set-wise on PostgreSQL): each slot gets its own status and
    detail, a detail the store cannot hold is cleaned, a mark without a detail keeps the one stored,
    and a slot's later mark in the same write wins."""
    groups = [ensure_group(store, f"r{n}@chatroom", f"群{n}") for n in range(3)]
    ids = [g.id for g in groups if g.id is not None]
    won = claims.claim_batch(store, [claims.Ahead(g, "daily:1", ("p1",)) for g in ids], "me/1")
    assert won == {(g, "daily:1") for g in ids}
    claims.write_marks(store, [claims.Mark(ids[2], "daily:1", claims.SENDING, "已交给网关")])
    claims.write_marks(
        store,
        [
            claims.Mark(ids[0], "daily:1", claims.SENT),
            claims.Mark(ids[1], "daily:1", claims.FAILED, "ChatError:\x00 群不存在"),
            claims.Mark(ids[2], "daily:1", claims.FAILED, "先失败"),
            claims.Mark(ids[2], "daily:1", claims.SENT),
        ],
    )
    with Session(store) as session:
        rows = {r.group_id: r for r in session.exec(select(PushLog)).all()}
    assert [rows[g].status for g in ids] == [claims.SENT, claims.FAILED, claims.SENT]
    assert rows[ids[1]].detail == "ChatError: 群不存在", "the NUL is dropped, the rest kept"
    assert rows[ids[0]].product_ids == "p1", "a mark without product ids keeps the claimed ones"
    assert all(rows[g].finished_at is not None for g in ids)
