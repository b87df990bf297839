"""Groups the bot serves: created on first sight, named and owned as the chat says."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.store.models import Group, utcnow


def ensure_group(engine: Engine, room_id: str, name: str, owner_id: str = "") -> Group:
    """The group's row, created or refreshed (name, owner) from what the chat just told us."""
    try:
        return _ensure_group(engine, room_id, name, owner_id)
    except IntegrityError:
        # another task or process created the row between our read and our insert: use theirs
        return _ensure_group(engine, room_id, name, owner_id)


def _ensure_group(engine: Engine, room_id: str, name: str, owner_id: str) -> Group:
    with Session(engine, expire_on_commit=False) as session:
        group = session.exec(select(Group).where(Group.room_id == room_id)).first()
        if group is None:
            group = Group(room_id=room_id, name=name, owner_id=owner_id)
        elif (name and group.name != name) or (owner_id and group.owner_id != owner_id):
            group.name = name or group.name
            group.owner_id = owner_id or group.owner_id
            group.updated_at = utcnow()
        else:
            return group
        session.add(group)
        session.commit()
        session.refresh(group)
        return group


def find_group(engine: Engine, name_or_id: str) -> Group | None:
    with Session(engine, expire_on_commit=False) as session:
        by_id = session.exec(select(Group).where(Group.room_id == name_or_id)).first()
        return by_id or session.exec(select(Group).where(Group.name == name_or_id)).first()


def named_not_by_id(engine: Engine, entries: Iterable[str]) -> dict[str, str]:
    """Entries of an id list that are really some group's name → that group's room id (to tell the
    operator: a name matches nothing, since any member can rename a group)."""
    wanted = set(entries)
    if not wanted:
        return {}
    with Session(engine) as session:
        rows = session.exec(select(Group).where(col(Group.name).in_(wanted))).all()
    return {g.name: g.room_id for g in rows if g.room_id not in wanted}
