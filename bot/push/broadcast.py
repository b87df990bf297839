"""群发: one message an operator confirmed, to the groups they chose, each group once.

A broadcast is a row and its targets (written in one transaction). Sending is a push like any other:
each target is claimed in the push log as (group, "broadcast:<id>") when it reaches the front of its
account's paced sender, so pacing and the push share apply, and a second click or a restart can never
send it twice. Each process sends only its own account's targets (`PushService.send_broadcasts`), so a
broadcast made while the console runs alone waits in the database for the bot process.

The text may name the group: `{群名}` becomes each group's name, which is why the preview is per group.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, String, and_, case, cast, func, literal
from sqlmodel import Session, col, select

from bot.store.models import Broadcast, BroadcastTarget, Group, PushLog

SLOT_PREFIX = "broadcast:"
GROUP_NAME = "{群名}"
"""Written in a broadcast's text, replaced by each group's name."""


def slot_of(broadcast_id: int) -> str:
    """The push-log slot a broadcast's target is claimed under."""
    return f"{SLOT_PREFIX}{broadcast_id}"


def text_for(text: str, group: Group) -> str:
    """The broadcast's text as this group gets it."""
    return text.replace(GROUP_NAME, group.name or group.room_id).strip()


def text_problem(text: str, max_chars: int, groups: Iterable[Group] = ()) -> str:
    """Why this text cannot be broadcast ('' when it can): empty, or longer than a message may be
    (`[templates] max_message_chars`) for some group once its name is filled in."""
    if not text.strip():
        return "群发内容是空的，写点什么再发吧。"
    longest = max((len(text_for(text, g)) for g in groups), default=len(text.strip()))
    if longest > max_chars:
        return f"内容太长了：最多 {max_chars} 个字，现在是 {longest} 个字（已算上群名）。"
    return ""


def _slot_column() -> object:
    return literal(SLOT_PREFIX) + cast(col(BroadcastTarget.broadcast_id), String)


def _pushed_join() -> object:
    """push_log rows of a target: same group, slot "broadcast:<its broadcast id>"."""
    return and_(
        col(PushLog.group_id) == col(BroadcastTarget.group_id),
        col(PushLog.slot) == _slot_column(),
    )


def create(engine: Engine, text: str, group_ids: Iterable[int], created_by: str = "") -> Broadcast:
    """The broadcast and its targets, in one transaction. Blocked groups are left out (they get
    nothing from the bot); a group id that does not exist is ignored."""
    wanted = sorted(set(group_ids))
    with Session(engine, expire_on_commit=False) as session:
        ids = list(
            session.exec(
                select(Group.id).where(col(Group.id).in_(wanted), col(Group.blocked).is_(False))
            ).all()
        )
        broadcast = Broadcast(text=text.strip(), created_by=created_by[:128])
        session.add(broadcast)
        session.flush()
        assert broadcast.id is not None
        session.add_all(BroadcastTarget(broadcast_id=broadcast.id, group_id=gid) for gid in ids if gid)
        session.commit()
        return broadcast


def made_by(engine: Engine, created_by: str) -> Broadcast | None:
    """The broadcast a confirm form already created (its `created_by` names the form), if any."""
    with Session(engine, expire_on_commit=False) as session:
        return session.exec(select(Broadcast).where(Broadcast.created_by == created_by)).first()


def get(engine: Engine, broadcast_id: int) -> Broadcast | None:
    with Session(engine, expire_on_commit=False) as session:
        return session.get(Broadcast, broadcast_id)


def pending(engine: Engine, account: str | None, since: datetime) -> list[tuple[Broadcast, Group]]:
    """Targets of broadcasts made since `since` that no process has claimed yet (no push-log row),
    of groups `account` serves (its own and those from before accounts; None: every group). Blocked
    groups are included: the caller records them as skipped."""
    with Session(engine, expire_on_commit=False) as session:
        statement = (
            select(Broadcast, Group)
            .join(BroadcastTarget, col(BroadcastTarget.broadcast_id) == col(Broadcast.id))
            .join(Group, col(Group.id) == col(BroadcastTarget.group_id))
            .outerjoin(PushLog, _pushed_join())  # type: ignore[arg-type]
            .where(col(PushLog.id).is_(None), col(Broadcast.created_at) >= since)
            .order_by(col(Broadcast.id), col(Group.id))
        )
        if account is not None:
            statement = statement.where(col(Group.account).in_([account, ""]))
        return [(b, g) for b, g in session.exec(statement).all()]


@dataclass(frozen=True)
class Summary:
    """A past broadcast and how its targets went (counts by push-log status; "waiting": no row yet)."""

    broadcast: Broadcast
    targets: int
    counts: dict[str, int]

    @property
    def waiting(self) -> int:
        return self.targets - sum(self.counts.values())


def _summaries(session: Session, rows: list[Broadcast]) -> list[Summary]:
    ids = [b.id for b in rows]
    targets: dict[int, int] = {}
    counts: dict[int, dict[str, int]] = {}
    if ids:
        for bid, number in session.exec(
            select(BroadcastTarget.broadcast_id, func.count())
            .where(col(BroadcastTarget.broadcast_id).in_(ids))
            .group_by(col(BroadcastTarget.broadcast_id))
        ).all():
            targets[bid] = number
        for bid, status, number in session.exec(
            select(BroadcastTarget.broadcast_id, PushLog.status, func.count())
            .join(PushLog, _pushed_join())  # type: ignore[arg-type]
            .where(col(BroadcastTarget.broadcast_id).in_(ids))
            .group_by(col(BroadcastTarget.broadcast_id), col(PushLog.status))
        ).all():
            counts.setdefault(bid, {})[status] = number
    return [Summary(b, targets.get(b.id or 0, 0), counts.get(b.id or 0, {})) for b in rows]


def summaries(engine: Engine, offset: int = 0, limit: int = 50) -> tuple[list[Summary], int]:
    """A page of broadcasts, newest first, with their results counted in SQL; and how many there are."""
    with Session(engine, expire_on_commit=False) as session:
        total = session.exec(select(func.count()).select_from(Broadcast)).one()
        rows = list(
            session.exec(
                select(Broadcast).order_by(col(Broadcast.id).desc()).offset(offset).limit(limit)
            ).all()
        )
        return _summaries(session, rows), int(total)


def summary(engine: Engine, made: Broadcast) -> Summary:
    """One broadcast's results, counted in SQL."""
    with Session(engine, expire_on_commit=False) as session:
        return _summaries(session, [made])[0]


@dataclass(frozen=True)
class TargetResult:
    """One target group of a broadcast and its push-log row (status '' when nothing claimed it yet)."""

    group: Group
    status: str
    detail: str
    finished_at: datetime | None


def results(
    engine: Engine, broadcast_id: int, offset: int = 0, limit: int = 50
) -> tuple[list[TargetResult], int]:
    """A page of a broadcast's targets with how each went (failures first), and how many targets."""
    with Session(engine, expire_on_commit=False) as session:
        total = session.exec(
            select(func.count()).where(col(BroadcastTarget.broadcast_id) == broadcast_id)
        ).one()
        failed_first = case(
            (col(PushLog.status).in_(["failed", "interrupted"]), 0),
            (col(PushLog.status).is_(None), 1),
            else_=2,
        )
        rows = session.exec(
            select(Group, PushLog.status, PushLog.detail, PushLog.finished_at)
            .join(BroadcastTarget, col(BroadcastTarget.group_id) == col(Group.id))
            .outerjoin(PushLog, _pushed_join())  # type: ignore[arg-type]
            .where(col(BroadcastTarget.broadcast_id) == broadcast_id)
            .order_by(failed_first, col(Group.name), col(Group.id))
            .offset(offset)
            .limit(limit)
        ).all()
        out = [TargetResult(g, status or "", detail or "", finished) for g, status, detail, finished in rows]
        return out, int(total)


def accounts(engine: Engine) -> dict[str, int]:
    """Chat account → how many groups it serves that are not blocked (for "all of an account")."""
    with Session(engine) as session:
        rows = session.exec(
            select(Group.account, func.count())
            .where(col(Group.blocked).is_(False))
            .group_by(col(Group.account))
            .order_by(col(Group.account))
        ).all()
        return {account: number for account, number in rows}


def choosable_groups(engine: Engine) -> list[Group]:
    """Every group a broadcast can go to (not blocked), by name: the compose form's checkboxes."""
    with Session(engine, expire_on_commit=False) as session:
        statement = (
            select(Group).where(col(Group.blocked).is_(False)).order_by(col(Group.name), col(Group.id))
        )
        return list(session.exec(statement).all())


def groups_by_choice(engine: Engine, group_ids: Iterable[int], whole_accounts: Iterable[str]) -> list[Group]:
    """The groups an operator chose: these ids plus every group of these accounts; blocked ones left out."""
    ids, names = sorted(set(group_ids)), sorted(set(whole_accounts))
    if not ids and not names:
        return []
    with Session(engine, expire_on_commit=False) as session:
        statement = (
            select(Group)
            .where(col(Group.blocked).is_(False))
            .where(col(Group.id).in_(ids) | col(Group.account).in_(names))
            .order_by(col(Group.name), col(Group.id))
        )
        return list(session.exec(statement).all())
