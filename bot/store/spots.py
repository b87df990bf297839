"""Groups' promotion identities per league (`LeagueSpot` rows): read, and assign once."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.store.models import LeagueSpot


def read_spot(engine: Engine, group_id: int, league: str) -> LeagueSpot | None:
    with Session(engine, expire_on_commit=False) as session:
        statement = select(LeagueSpot).where(LeagueSpot.group_id == group_id, LeagueSpot.league == league)
        return session.exec(statement).first()


def taken_identities(engine: Engine, league: str) -> set[tuple[str, str]]:
    """(pid, tag) pairs already held by some group on `league`."""
    with Session(engine) as session:
        rows = session.exec(select(LeagueSpot.pid, LeagueSpot.tag).where(LeagueSpot.league == league))
        return {(pid, tag) for pid, tag in rows}


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
