"""Groups the bot serves: created on first sight, named and owned as the chat says.

Accounts own groups: a group's row names the chat account that heard from it first, and only that
account's process pushes to it. A row from before accounts ('') is adopted by the first account that hears
from the group, together with its subscriptions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Engine, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.chat.base import GroupInfo
from bot.store import block_changes
from bot.store.models import Group, LeagueSpot, OrderRow, RequestLog, SharerBinding, Subscription, utcnow
from bot.store.orders import CANCELLED
from bot.store.spots import is_claim
from bot.store.text import stored


def ensure_group(
    engine: Engine, room_id: str, name: str, owner_id: str = "", account: str = "", owner_name: str = ""
) -> Group:
    """The group's row, created or refreshed (name, owner and the owner's name) from what the chat just
    told us; `account` is the chat account that heard it, which becomes the group's when it has none yet."""
    try:
        return _ensure_group(engine, room_id, name, owner_id, account, owner_name)
    except IntegrityError:
        # another task or process created the row between our read and our insert: use theirs
        return _ensure_group(engine, room_id, name, owner_id, account, owner_name)


def _ensure_group(
    engine: Engine, room_id: str, name: str, owner_id: str, account: str, owner_name: str
) -> Group:
    # compared as they will be stored: a name with a NUL is not "changed" on every message
    name, owner_id, account, owner_name = (
        stored(Group, "name", name),
        stored(Group, "owner_id", owner_id),
        stored(Group, "account", account),
        stored(Group, "owner_name", owner_name),
    )
    with Session(engine, expire_on_commit=False) as session:
        group = session.exec(select(Group).where(Group.room_id == room_id)).first()
        adopt = False
        if group is None:
            group = Group(
                room_id=room_id, name=name, owner_id=owner_id, account=account, owner_name=owner_name
            )
        elif (
            (name and group.name != name)
            or (owner_id and group.owner_id != owner_id)
            or (owner_name and group.owner_name != owner_name)
            or (account and not group.account)
        ):
            group.name = name or group.name
            if owner_id and owner_id != group.owner_id:  # a new owner: the old one's name goes with them
                group.owner_id, group.owner_name = owner_id, ""
            group.owner_name = owner_name or group.owner_name
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


def ensure_groups(engine: Engine, found: Iterable[GroupInfo], account: str) -> int:
    """Every group a chat account is in (what its channel's `list_groups` said), created or refreshed
    like `ensure_group`; returns how many were seen. The console's group list shows them even before
    anyone there has asked the bot anything."""
    seen = 0
    for info in found:
        if info.room_id:
            ensure_group(engine, info.room_id, info.name, info.owner_id, account, info.owner_name)
            seen += 1
    return seen


# -- the owner's 推客 (Channels sharer) ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SharerSet:
    """What `set_sharer` did: `outcome` is "set", "unchanged" or "taken" (another group holds this
    sharer: orders are told apart by sharer, so two groups never share one); `group` is the row after."""

    outcome: str
    group: Group | None


def set_sharer(engine: Engine, group_id: int, sharer_appid: str) -> SharerSet:
    """Make `sharer_appid` the group's Channels sharer ("" goes back to the operator's default).

    One group per sharer is the database's rule (a unique index over the bound appids): the check
    below answers the common case, and when another request or process binds the same sharer to
    another group between that check and this write, the index refuses the write and the answer is
    the same "taken"."""
    with Session(engine, expire_on_commit=False) as session:
        group = session.get(Group, group_id)
        if group is None:
            return SharerSet("unchanged", None)
        if group.channels_sharer_appid == sharer_appid:
            return SharerSet("unchanged", group)
        if sharer_appid and _sharer_holder(session, sharer_appid, group_id) is not None:
            return SharerSet("taken", group)
        now = utcnow()
        if group.channels_sharer_appid:  # the history: orders made with the old sharer stay this group's
            session.execute(
                update(SharerBinding)
                .where(
                    col(SharerBinding.group_id) == group_id,
                    col(SharerBinding.sharer_appid) == group.channels_sharer_appid,
                    col(SharerBinding.unbound_at).is_(None),
                )
                .values(unbound_at=now)
            )
        if sharer_appid:
            session.add(SharerBinding(sharer_appid=sharer_appid, group_id=group_id, bound_at=now))
        group.channels_sharer_appid, group.updated_at = sharer_appid, now
        session.add(group)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            if not sharer_appid or _sharer_holder(session, sharer_appid, group_id) is None:
                raise  # not the one-group-per-sharer index: a fault to report, not an answer
            session.refresh(group)  # the row as it is: still the sharer it had
            return SharerSet("taken", group)
        session.refresh(group)
        return SharerSet("set", group)


def _sharer_holder(session: Session, sharer_appid: str, group_id: int) -> int | None:
    """The id of another group than `group_id` that holds `sharer_appid`, if one does."""
    return session.exec(
        select(Group.id).where(Group.channels_sharer_appid == sharer_appid, col(Group.id) != group_id)
    ).first()


# -- blocked groups ------------------------------------------------------------------------------------


def set_blocked(engine: Engine, group_id: int, blocked: bool) -> Group | None:
    """Block (the bot neither answers nor pushes there) or allow a group; None when there is no such group."""
    with Session(engine, expire_on_commit=False) as session:
        group = session.get(Group, group_id)
        if group is None:
            return None
        if group.blocked != blocked:
            group.blocked, group.updated_at = blocked, utcnow()
            session.add(group)
            session.commit()
            session.refresh(group)
    block_changes.changed()
    return group


def blocked_rooms(engine: Engine) -> frozenset[str]:
    """Room ids of the groups the operator blocked."""
    with Session(engine) as session:
        return frozenset(session.exec(select(Group.room_id).where(col(Group.blocked).is_(True))).all())


# -- the console's listing ------------------------------------------------------------------------------

SORTS = ("commission", "requests", "name", "newest")
"""How the group list may be ordered: commission or requests (most first, the last 30 days), name, newest."""


@dataclass(frozen=True, slots=True)
class GroupRow:
    """One group as the console lists it: the row, its live subscriptions, its identity per league
    (`LeagueSpot` rows; Channels is the group's own `channels_sharer_appid`), and its figures since
    the listing's `since`."""

    group: Group
    requests: int
    orders: int
    commission_fen: int
    subscriptions: list[Subscription]
    spots: list[LeagueSpot]


@dataclass(frozen=True, slots=True)
class GroupListing:
    rows: list[GroupRow]
    total: int
    """How many groups match the filters (all pages)."""


def group_accounts(engine: Engine) -> list[str]:
    """The chat accounts that serve some group ('' when a group has none yet), for the account filter."""
    with Session(engine) as session:
        return sorted(session.exec(select(Group.account).distinct()).all())


def list_groups(
    engine: Engine,
    *,
    since: datetime,
    search: str = "",
    account: str | None = None,
    subscribed: bool | None = None,
    blocked: bool | None = None,
    sort: str = "commission",
    page: int = 1,
    per_page: int = 50,
) -> GroupListing:
    """One page of groups with their requests (request log) and commission and orders (order lines
    not cancelled, created since `since`), aggregated in SQL; `search` matches a part of the name, the
    room id or the owner's name, without regard to case. The total counts every group the filters let through."""
    filters = _filters(search, account, subscribed, blocked)
    with Session(engine) as session:
        total = session.exec(select(func.count()).select_from(Group).where(*filters)).one()
    rows = _rows(engine, since, filters, sort, offset=max(page - 1, 0) * per_page, limit=per_page)
    return GroupListing(rows, int(total))


def group_row(engine: Engine, group_id: int, *, since: datetime) -> GroupRow | None:
    """One group as `list_groups` shows it (its detail page), None when there is no such group. Only
    this group's orders and requests are summed."""
    group = get_group(engine, group_id)
    if group is None:
        return None
    rows = _rows(engine, since, [col(Group.id) == group_id], "name", offset=0, limit=1, only=group)
    return rows[0] if rows else None


def get_group(engine: Engine, group_id: int) -> Group | None:
    with Session(engine, expire_on_commit=False) as session:
        return session.get(Group, group_id)


def _filters(
    search: str, account: str | None, subscribed: bool | None, blocked: bool | None
) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    words = search.strip().lower()
    if words:
        filters.append(
            or_(
                func.lower(col(Group.name)).contains(words, autoescape=True),
                func.lower(col(Group.room_id)).contains(words, autoescape=True),
                func.lower(col(Group.owner_name)).contains(words, autoescape=True),
            )
        )
    if account is not None:
        filters.append(col(Group.account) == account)
    if subscribed is not None:
        live = (
            select(Subscription.id)
            .where(col(Subscription.group_id) == col(Group.id), col(Subscription.active).is_(True))
            .exists()
        )
        filters.append(live if subscribed else ~live)
    if blocked is not None:
        filters.append(col(Group.blocked).is_(blocked))
    return filters


def _figures(
    engine: Engine, since: datetime, only: Group | None
) -> tuple[dict[int, tuple[int, int]], dict[str, int]]:
    """Orders and commission per group id, requests per room id, since `since` (only `only`'s when given).

    Summed apart and joined in Python: joined in SQL, SQLite scans one grouped result per group (500
    groups × 1,000 rows ≈ 100 ms) instead of looking it up."""
    sqlite = engine.dialect.name == "sqlite"
    # SQLite, left to itself, groups by walking the group_id / chat_id index and reads every row from the
    # table (~140 ms each over 100k rows); grouping by an expression makes it range-scan the covering
    # (created_at …) / (at, outcome, chat_id) indexes instead (~20 ms). PostgreSQL plans this itself.
    group_key = (col(OrderRow.group_id) + 0) if sqlite else col(OrderRow.group_id)
    chat_key = col(RequestLog.chat_id).concat("") if sqlite else col(RequestLog.chat_id)
    in_orders = col(OrderRow.group_id).is_not(None) if only is None else col(OrderRow.group_id) == only.id
    earned = (
        select(group_key, func.count(), func.sum(OrderRow.commission_fen))
        .where(col(OrderRow.created_at) >= since, col(OrderRow.status) != CANCELLED, in_orders)
        .group_by(group_key)
    )
    asked_where = [col(RequestLog.at) >= since]
    if only is not None:
        asked_where.append(col(RequestLog.chat_id) == only.room_id)
    asked = select(chat_key, func.count()).where(*asked_where).group_by(chat_key)
    with engine.connect() as connection:
        orders = {int(g): (int(n), int(c or 0)) for g, n, c in connection.execute(earned) if g is not None}
        requests = {str(chat): int(n) for chat, n in connection.execute(asked)}
    return orders, requests


def _rows(
    engine: Engine,
    since: datetime,
    filters: list[ColumnElement[bool]],
    sort: str,
    *,
    offset: int,
    limit: int,
    only: Group | None = None,
) -> list[GroupRow]:
    """`only`: sum that one group's orders and requests, not every group's."""
    earned, asked = _figures(engine, since, only)

    def commission(group_id: int) -> int:
        return earned.get(group_id, (0, 0))[1]

    with Session(engine, expire_on_commit=False) as session:
        if sort in ("name", "newest"):
            order = (col(Group.name),) if sort == "name" else (col(Group.created_at).desc(),)
            statement = (
                select(Group).where(*filters).order_by(*order, col(Group.id)).offset(offset).limit(limit)
            )
            page = list(session.exec(statement).all())
        else:  # by figures: rank every matching group's (id, room) in Python, load only the page's rows
            keys = session.exec(select(Group.id, Group.room_id).where(*filters)).all()

            def rank(key: tuple[int | None, str]) -> tuple[int, int, int]:
                group_id, room = int(key[0] or 0), key[1]
                by_commission, by_requests = -commission(group_id), -asked.get(room, 0)
                if sort == "requests":
                    return by_requests, by_commission, group_id
                return by_commission, by_requests, group_id

            wanted = [int(k[0] or 0) for k in sorted(keys, key=rank)[offset : offset + limit]]
            loaded = {g.id: g for g in session.exec(select(Group).where(col(Group.id).in_(wanted))).all()}
            page = [loaded[i] for i in wanted if i in loaded]
        found = [
            (g, asked.get(g.room_id, 0), earned.get(g.id or 0, (0, 0))[0], commission(g.id or 0))
            for g in page
        ]
        ids = [g.id for g, *_ in found if g.id is not None]
        subs: dict[int, list[Subscription]] = {i: [] for i in ids}
        spots: dict[int, list[LeagueSpot]] = {i: [] for i in ids}
        if ids:
            for sub in session.exec(
                select(Subscription)
                .where(col(Subscription.group_id).in_(ids), col(Subscription.active).is_(True))
                .order_by(col(Subscription.kind), col(Subscription.at_time))
            ).all():
                subs[sub.group_id].append(sub)
            for spot in session.exec(
                select(LeagueSpot).where(col(LeagueSpot.group_id).in_(ids)).order_by(col(LeagueSpot.league))
            ).all():
                if not is_claim(spot):
                    spots[spot.group_id].append(spot)
    return [
        GroupRow(g, int(r or 0), int(o or 0), int(c or 0), subs.get(g.id or 0, []), spots.get(g.id or 0, []))
        for g, r, o, c in found
    ]
