"""The forward log and the dedupe memory of 线报 forwarding (bot/forward/pipeline.py).

Every function is blocking (the pipeline runs them in a worker thread). The two that decide something
two processes may race on are written so the database decides: a message is taken once by the unique
(source room, message id) index, and a product is forwarded once per window by the unique key of the
dedupe memory, taken in one transaction for all of a message's products (all or none).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.store.models import ForwardLog, ForwardSeen, Group, PushLog, utcnow
from bot.store.text import clean

QUEUED, HELD, FORWARDED, DROPPED = "queued", "held", "forwarded", "dropped"
OPEN = (QUEUED, HELD)
"""Statuses still being worked on: the forward job looks at them again."""
SLOT_PREFIX = "forward:"
EXCERPT_CHARS = 120


def slot_of(forward_id: int) -> str:
    """The push-log slot a target group's send of this forward is claimed under."""
    return f"{SLOT_PREFIX}{forward_id}"


def excerpt(text: str, length: int = EXCERPT_CHARS) -> str:
    """The text on one line, cut to `length` characters (with … when cut): what the log shows."""
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"


@dataclass(frozen=True)
class Heard:
    """A source message as intake records it."""

    account: str
    source_room: str
    source_name: str
    sender_id: str
    message_id: str
    text: str


def record(
    engine: Engine,
    heard: Heard,
    *,
    status: str = QUEUED,
    reason: str = "",
    now: datetime | None = None,
) -> int | None:
    """A new row for a message; None when this account recorded this message (room, message id) before. A
    dropped message keeps only its excerpt; a queued one keeps its whole text until it is decided."""
    now = now or utcnow()
    row = ForwardLog(
        account=heard.account,
        source_room=heard.source_room,
        source_name=heard.source_name,
        sender_id=heard.sender_id,
        message_id=heard.message_id,
        received_at=now,
        excerpt=excerpt(heard.text),
        body=heard.text if status in OPEN else "",
        status=status,
        reason=reason,
        updated_at=now,
    )
    with Session(engine, expire_on_commit=False) as session:
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            return None
        return row.id


def get(engine: Engine, forward_id: int) -> ForwardLog | None:
    with Session(engine, expire_on_commit=False) as session:
        return session.get(ForwardLog, forward_id)


def settle(
    engine: Engine,
    forward_id: int,
    status: str,
    *,
    reason: str = "",
    groups: int | None = None,
    keys: Iterable[str] | None = None,
    next_try_at: datetime | None = None,
) -> None:
    """Write what became of a message. A dropped one lets go of its whole text (a forwarded one keeps
    it: a restart may reopen it for the groups it had not reached, `reopen_unsent`)."""
    values: dict[str, object] = {
        "status": status,
        "reason": clean(reason, 512),
        "next_try_at": next_try_at,
        "updated_at": utcnow(),
    }
    if groups is not None:
        values["groups"] = groups
    if keys is not None:
        values["keys"] = clean(",".join(keys), 1024)
    if status == DROPPED:
        values["body"] = ""
    with Session(engine) as session:
        session.execute(update(ForwardLog).where(col(ForwardLog.id) == forward_id).values(**values))
        session.commit()


def add_groups(engine: Engine, forward_id: int, sent: int) -> None:
    """Count `sent` more groups the forward reached (a retry reached the rest)."""
    if sent <= 0:
        return
    with Session(engine) as session:
        session.execute(
            update(ForwardLog)
            .where(col(ForwardLog.id) == forward_id)
            .values(groups=ForwardLog.groups + sent, updated_at=utcnow())
        )
        session.commit()


def due(engine: Engine, now: datetime, account: str | None = None, limit: int = 200) -> list[ForwardLog]:
    """Open rows whose time has come (held until now, a retry now due, or queued by a process that
    stopped before it decided them), oldest first; with `account`, only that account's."""
    with Session(engine, expire_on_commit=False) as session:
        statement = select(ForwardLog).where(
            col(ForwardLog.status).in_(OPEN),
            (col(ForwardLog.next_try_at).is_(None)) | (col(ForwardLog.next_try_at) <= now),
        )
        if account is not None:
            statement = statement.where(ForwardLog.account == account)
        return list(session.exec(statement.order_by(col(ForwardLog.id)).limit(limit)).all())


def held(engine: Engine, limit: int = 100) -> list[ForwardLog]:
    """Messages held for the end of the quiet hours, oldest first."""
    with Session(engine, expire_on_commit=False) as session:
        statement = select(ForwardLog).where(ForwardLog.status == HELD).order_by(col(ForwardLog.id))
        return list(session.exec(statement.limit(limit)).all())


def recent(engine: Engine, limit: int = 50, offset: int = 0) -> list[ForwardLog]:
    """The newest source messages first."""
    with Session(engine, expire_on_commit=False) as session:
        statement = select(ForwardLog).order_by(col(ForwardLog.id).desc()).offset(offset).limit(limit)
        return list(session.exec(statement).all())


def counts(engine: Engine, since: datetime) -> dict[str, int]:
    """How many source messages heard since `since` ended in each status."""
    with Session(engine) as session:
        statement = (
            select(ForwardLog.status, func.count())
            .where(col(ForwardLog.received_at) >= since)
            .group_by(ForwardLog.status)
        )
        return {status: int(number) for status, number in session.exec(statement).all()}


@dataclass(frozen=True)
class Taken:
    """A dedupe key another message holds: which message, since when."""

    key: str
    forward_id: int
    first_at: datetime


def take_keys(
    engine: Engine, keys: Sequence[str], forward_id: int, since: datetime, now: datetime | None = None
) -> list[Taken]:
    """Take every key for `forward_id`, all or none, in one transaction. A key held by another message
    since `since` or later is not taken; an older hold is taken over. Returns the keys others hold
    (empty: every key is now this message's). Taking the keys one message already holds is a no-op."""
    keys = sorted({clean(k, 128, key=True) for k in keys if k})
    if not keys:
        return []
    now = now or utcnow()
    with Session(engine) as session:
        rows = {
            r.key: r for r in session.exec(select(ForwardSeen).where(col(ForwardSeen.key).in_(keys))).all()
        }
        taken = [
            Taken(r.key, r.forward_id, r.first_at)
            for r in rows.values()
            if r.forward_id != forward_id and r.first_at >= since
        ]
        if taken:
            return taken
        for key in keys:
            row = rows.get(key)
            if row is None:
                session.add(ForwardSeen(key=key, first_at=now, forward_id=forward_id))
            elif row.forward_id != forward_id:
                # an old hold: taken over only if nobody else took it over meanwhile
                won = session.execute(
                    update(ForwardSeen)
                    .where(col(ForwardSeen.id) == row.id, col(ForwardSeen.forward_id) == row.forward_id)
                    .values(first_at=now, forward_id=forward_id)
                )
                if won.rowcount != 1:  # type: ignore[attr-defined]
                    session.rollback()
                    return [Taken(key, row.forward_id, row.first_at)]
        try:
            session.commit()
        except IntegrityError:  # another process took a new key between our read and our write
            session.rollback()
            fresh = session.exec(select(ForwardSeen).where(col(ForwardSeen.key).in_(keys))).all()
            return [Taken(r.key, r.forward_id, r.first_at) for r in fresh if r.forward_id != forward_id] or [
                Taken(keys[0], 0, now)
            ]
    return []


def release_keys(engine: Engine, forward_id: int) -> None:
    """Let go of the keys a message took and then did not forward to anyone (every group failed)."""
    with Session(engine) as session:
        for row in session.exec(select(ForwardSeen).where(ForwardSeen.forward_id == forward_id)).all():
            session.delete(row)
        session.commit()


def sent_lately(engine: Engine, group_ids: Iterable[int], since: datetime) -> dict[int, int]:
    """How many forwards each group was sent (or is being sent) since `since`: the per-hour cap."""
    ids = list(group_ids)
    if not ids:
        return {}
    with Session(engine) as session:
        statement = (
            select(PushLog.group_id, func.count())
            .where(
                col(PushLog.group_id).in_(ids),
                col(PushLog.slot).startswith(SLOT_PREFIX),
                col(PushLog.claimed_at) >= since,
                col(PushLog.status).in_(["claimed", "sending", "sent", "interrupted"]),
            )
            .group_by(col(PushLog.group_id))
        )
        return {int(group): int(number) for group, number in session.exec(statement).all()}


def groups_done(engine: Engine, forward_id: int) -> dict[int, str]:
    """The groups that already have this forward's claim (sent, sending, skipped, …): group → status."""
    with Session(engine) as session:
        statement = select(PushLog.group_id, PushLog.status).where(PushLog.slot == slot_of(forward_id))
        return {int(group): status for group, status in session.exec(statement).all()}


def reopen_unsent(engine: Engine, owner_prefix: str) -> list[int]:
    """At start-up, before anything of ours is claimed: forwards a stopped process of ours had reserved
    for groups and never began sending are given back (their reservations deleted) and their messages
    reopened, so the forward job sends them to those groups — within `max_delay_minutes`. What it had
    begun sending is left to `claims.recover_interrupted` (marked interrupted, never resent)."""
    with Session(engine) as session:
        rows = session.exec(
            select(PushLog).where(
                PushLog.status == "claimed",
                col(PushLog.slot).startswith(SLOT_PREFIX),
                col(PushLog.claimed_by).startswith(owner_prefix),
            )
        ).all()
        ids = sorted(
            {int(r.slot.removeprefix(SLOT_PREFIX)) for r in rows if r.slot[len(SLOT_PREFIX) :].isdigit()}
        )
        for row in rows:
            session.delete(row)
        if ids:
            session.execute(
                update(ForwardLog)
                .where(col(ForwardLog.id).in_(ids), col(ForwardLog.status) == FORWARDED)
                .values(status=QUEUED, next_try_at=None, updated_at=utcnow())
            )
        session.commit()
        return ids


def total(engine: Engine) -> int:
    """How many source messages the log holds."""
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(ForwardLog)).one())


@dataclass(frozen=True)
class GroupOutcome:
    """What one target group got of a forward (its push-log row)."""

    room_id: str
    name: str
    status: str
    """sent, sending, claimed (waiting in the sender), skipped, failed, interrupted."""
    detail: str
    at: datetime


def group_outcomes(engine: Engine, forward_id: int) -> list[GroupOutcome]:
    """Each target group's outcome for this forward, in the order they were claimed."""
    with Session(engine) as session:
        statement = (
            select(PushLog, Group)
            .where(PushLog.slot == slot_of(forward_id), col(PushLog.group_id) == col(Group.id))
            .order_by(col(PushLog.id))
        )
        return [
            GroupOutcome(g.room_id, g.name, p.status, p.detail, p.finished_at or p.claimed_at)
            for p, g in session.exec(statement).all()
        ]
