"""Groups' promotion identities per league (`LeagueSpot` rows): read, and assign once.

Choosing an identity may cost a league call that makes something (a PDD PID), so a process first
*claims* the group's row (a placeholder whose tag starts with `CLAIM`), then chooses, then fills the row
in; another process that finds the claim waits for it instead of making a second PID. A claim left by a
process that died is taken over after a while.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select, update

from bot.store.models import LeagueSpot, utcnow

CLAIM = "~claim~"
"""Tag prefix of a placeholder row: a process is choosing this group's identity right now."""


def is_claim(row: LeagueSpot) -> bool:
    return row.tag.startswith(CLAIM)


def read_spot(engine: Engine, group_id: int, league: str) -> LeagueSpot | None:
    with Session(engine, expire_on_commit=False) as session:
        statement = select(LeagueSpot).where(LeagueSpot.group_id == group_id, LeagueSpot.league == league)
        return session.exec(statement).first()


def taken_identities(engine: Engine, league: str) -> set[tuple[str, str]]:
    """(pid, tag) pairs already held by some group on `league`."""
    with Session(engine) as session:
        rows = session.exec(select(LeagueSpot.pid, LeagueSpot.tag).where(LeagueSpot.league == league))
        return {(pid, tag) for pid, tag in rows if not tag.startswith(CLAIM)}


def insert_spot(engine: Engine, group_id: int, league: str, pid: str, tag: str) -> LeagueSpot | None:
    """Keep the group's identity; None when the group or the identity was taken meanwhile (re-read)."""
    with Session(engine, expire_on_commit=False) as session:
        row = LeagueSpot(group_id=group_id, league=league, pid=pid, tag=tag)
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            return None
        session.refresh(row)
        return row


def claim_spot(engine: Engine, group_id: int, league: str, claim: str) -> bool:
    """Claim the group's row on `league` for choosing its identity; False when it already has a row."""
    return insert_spot(engine, group_id, league, "", claim) is not None


def fill_spot(
    engine: Engine, group_id: int, league: str, claim: str, pid: str, tag: str
) -> LeagueSpot | None:
    """Turn our claim into the chosen identity; None when the identity is taken by another group."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            session.exec(
                update(LeagueSpot)
                .where(col(LeagueSpot.group_id) == group_id, col(LeagueSpot.league) == league)
                .where(col(LeagueSpot.tag) == claim)
                .values(pid=pid, tag=tag, created_at=utcnow())
            )
            session.commit()
        except IntegrityError:
            session.rollback()
            return None
    row = read_spot(engine, group_id, league)
    return row if row is not None and (row.pid, row.tag) == (pid, tag) else None


def drop_claim(
    engine: Engine, group_id: int, league: str, claim: str | None = None, before: datetime | None = None
) -> None:
    """Remove a claim: ours (`claim`) after choosing failed, or anyone's made `before` a time (stale)."""
    statement = delete(LeagueSpot).where(
        col(LeagueSpot.group_id) == group_id,
        col(LeagueSpot.league) == league,
        col(LeagueSpot.tag).startswith(CLAIM),
    )
    if claim is not None:
        statement = statement.where(col(LeagueSpot.tag) == claim)
    if before is not None:
        statement = statement.where(col(LeagueSpot.created_at) < before)
    with Session(engine) as session:
        session.exec(statement)
        session.commit()


def group_of_identity(engine: Engine, league: str, pid: str, tag: str = "") -> int | None:
    """The group an order came through, by the identity its link was made with: the exact (pid, tag)
    first, then the tag alone (JD: subUnionId under any position), then the PID alone (PDD: a PID per
    group) when one group alone holds it (a Taobao PID shared by tagged groups names none). None when no group holds it (the operator's own default links)."""
    with Session(engine) as session:

        def first(*conditions: object) -> int | None:
            row = session.exec(
                select(LeagueSpot.group_id).where(LeagueSpot.league == league, *conditions)  # type: ignore[arg-type]
            ).first()
            return int(row) if row is not None else None

        found = first(LeagueSpot.pid == pid, LeagueSpot.tag == tag) if pid or tag else None
        if found is None and tag and not tag.startswith(CLAIM):
            found = first(LeagueSpot.tag == tag)
        if found is None and pid:  # only when one group holds the PID: a shared one proves nothing
            holders = session.exec(
                select(LeagueSpot.group_id)
                .where(LeagueSpot.league == league, LeagueSpot.pid == pid)
                .where(col(LeagueSpot.tag).not_like(f"{CLAIM}%"))
                .limit(2)
            ).all()
            found = int(holders[0]) if len(holders) == 1 else None
        return found
