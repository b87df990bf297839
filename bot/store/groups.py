"""Groups the bot serves: created on first sight, named and owned as the chat says.

Accounts own groups: a group's row names the chat account that heard from it first, and only that
account's process pushes to it. A row from before accounts ('') is adopted by the first account that hears
from the group, together with its subscriptions.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.store.models import Group, Subscription, utcnow


def ensure_group(engine: Engine, room_id: str, name: str, owner_id: str = "", account: str = "") -> Group:
    """The group's row, created or refreshed (name, owner) from what the chat just told us; `account`
    is the chat account that heard it, which becomes the group's when it has none yet."""
    try:
        return _ensure_group(engine, room_id, name, owner_id, account)
    except IntegrityError:
        # another task or process created the row between our read and our insert: use theirs
        return _ensure_group(engine, room_id, name, owner_id, account)


def _ensure_group(engine: Engine, room_id: str, name: str, owner_id: str, account: str) -> Group:
    with Session(engine, expire_on_commit=False) as session:
        group = session.exec(select(Group).where(Group.room_id == room_id)).first()
        adopt = False
        if group is None:
            group = Group(room_id=room_id, name=name, owner_id=owner_id, account=account)
        elif (
            (name and group.name != name)
            or (owner_id and group.owner_id != owner_id)
            or (account and not group.account)
        ):
            group.name = name or group.name
            group.owner_id = owner_id or group.owner_id
            adopt = bool(account and not group.account)
            group.account = group.account or account
            group.updated_at = utcnow()
        else:
            return group
        session.add(group)
        if adopt and group.id is not None:
            session.execute(
                update(Subscription)
                .where(Subscription.group_id == group.id, Subscription.account == "")  # type: ignore[arg-type]
                .values(account=account)
            )
        session.commit()
        session.refresh(group)
        return group


def find_group(engine: Engine, name_or_id: str) -> Group | None:
    with Session(engine, expire_on_commit=False) as session:
        by_id = session.exec(select(Group).where(Group.room_id == name_or_id)).first()
        return by_id or session.exec(select(Group).where(Group.name == name_or_id)).first()


def find_groups(engine: Engine, name_or_id: str) -> list[Group]:
    """The group with this room id, else every group with this name (several groups may share one:
    the operator must then pick by id). How the CLI resolves a GROUP everywhere."""
    with Session(engine, expire_on_commit=False) as session:
        by_id = session.exec(select(Group).where(Group.room_id == name_or_id)).first()
        if by_id is not None:
            return [by_id]
        return list(session.exec(select(Group).where(Group.name == name_or_id).order_by(col(Group.id))).all())


def all_groups(engine: Engine) -> list[Group]:
    with Session(engine, expire_on_commit=False) as session:
        return list(session.exec(select(Group).order_by(col(Group.id))).all())


def named_not_by_id(engine: Engine, entries: Iterable[str]) -> dict[str, str]:
    """Entries of an id list that are really some group's name → that group's room id (to tell the
    operator: a name matches nothing, since any member can rename a group)."""
    wanted = set(entries)
    if not wanted:
        return {}
    with Session(engine) as session:
        rows = session.exec(select(Group).where(col(Group.name).in_(wanted))).all()
    return {g.name: g.room_id for g in rows if g.room_id not in wanted}
