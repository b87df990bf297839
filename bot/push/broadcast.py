"""群发: one message an operator confirmed, to the groups they chose, each group once.

A broadcast is a row and its targets (written in one transaction). Sending is a push like any other:
each target is claimed in the push log as (group, "broadcast:<id>") when it reaches the front of its
account's paced sender, so pacing and the push share apply, and a second click or a restart can never
send it twice. Each process sends only its own account's targets (`PushService.send_broadcasts`), so a
broadcast made while the console runs alone waits in the database for the bot process.

The text may name the group: `{群名}` becomes each group's name, which is why the preview is per group.

A broadcast may carry deals the operator picked from a keyword search (`Broadcast.products`,
"league:product_id" joined by ","). Each group then gets them rendered with `broadcast_deals`: the text
first (no daily push header under the operator's words), then the deals with ITS OWN links: the group's spot on each league,
links cached per (league, product, spot), so the links a preview made are the ones sent. A product the
league no longer promotes when the message goes out is left out; with none left the target fails.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, String, and_, case, cast, func, literal
from sqlmodel import Session, col, select

from bot.leagues.base import (
    League,
    LeagueError,
    LeagueUnavailable,
    Product,
    ProductNotFound,
    PromotionLink,
    SearchQuery,
    Spot,
)
from bot.leagues.linkcache import LinkCache
from bot.leagues.ranking import RankBy, mix_leagues
from bot.reasons import reason
from bot.render.engine import Renderer
from bot.render.filters import cut
from bot.store.membership import not_refused
from bot.store.models import Broadcast, BroadcastTarget, Group, PushLog

log = logging.getLogger(__name__)

SLOT_PREFIX = "broadcast:"
GROUP_NAME = "{群名}"
"""Written in a broadcast's text, replaced by each group's name."""


def slot_of(broadcast_id: int) -> str:
    """The push-log slot a broadcast's target is claimed under."""
    return f"{SLOT_PREFIX}{broadcast_id}"


def text_for(text: str, group: Group) -> str:
    """The broadcast's text as this group gets it."""
    return text.replace(GROUP_NAME, group.name or group.room_id).strip()


def text_problem(text: str, max_chars: int, groups: Iterable[Group] = (), *, deals: int = 0) -> str:
    """Why this text cannot be broadcast ('' when it can): empty (allowed when deals go with it: it is
    then their intro), or longer than a message may be (`[templates] max_message_chars`) for some group
    once its name is filled in."""
    if not text.strip():
        return "" if deals else "群发内容是空的，写点什么再发吧。"
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


def create(
    engine: Engine,
    text: str,
    group_ids: Iterable[int],
    created_by: str = "",
    products: Sequence[DealRef] = (),
) -> Broadcast:
    """The broadcast and its targets, in one transaction. Blocked groups are left out (they get
    nothing from the bot); a group id that does not exist is ignored. `products`: the deals picked."""
    wanted = sorted(set(group_ids))
    with Session(engine, expire_on_commit=False) as session:
        ids = list(
            session.exec(
                select(Group.id).where(col(Group.id).in_(wanted), col(Group.blocked).is_(False))
            ).all()
        )
        broadcast = Broadcast(
            text=text.strip(), products=products_field(products), created_by=created_by[:128]
        )
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
            statement = statement.where(col(Group.account).in_([account, ""]), not_refused(account))
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


# -- deals picked for a broadcast ------------------------------------------------------------------

DealRef = tuple[str, str]
"""(league name, product id) of a picked deal."""
SpotOf = Callable[[Group, str], Awaitable[Spot]]
"""(group, league name) → the group's promotion identity on that league."""
LINK_AT_SEND = "(发送时生成本群链接)"
"""Shown in a preview instead of a link the league could not make just now."""
GONE = "商品已下架或不再推广"


def products_field(refs: Iterable[DealRef]) -> str:
    """The `Broadcast.products` value for these deals: "league:product_id" joined by ","."""
    return ",".join(f"{league}:{product_id}" for league, product_id in refs)


def parse_products(value: str) -> list[DealRef]:
    """The deals of a `Broadcast.products` value (or of form fields joined the same way), in order,
    each once; malformed pieces are ignored."""
    out: list[DealRef] = []
    for piece in value.split(","):
        league, sep, product_id = piece.strip().partition(":")
        ref = (league.strip(), product_id.strip())
        if sep and all(ref) and ref not in out:
            out.append(ref)
    return out


@dataclass(frozen=True)
class Found:
    """A keyword search over the leagues: deals best first with the league each came from, and the
    leagues that could not answer."""

    deals: list[tuple[str, Product]]
    trouble: list[str] = field(default_factory=list)


async def search_deals(
    leagues: Mapping[str, League], order: Sequence[str], keyword: str, limit: int, rank_by: RankBy
) -> Found:
    """The chat's 找 for the console: each league in the operator's order (`[deals] leagues`, enabled
    ones) searched for `keyword`, ranked together by `mix_leagues` with `[deals] rank_by`."""
    asked = [leagues[name] for name in order if name in leagues]
    results = await asyncio.gather(
        *(league.search(SearchQuery(keyword=keyword, limit=limit, shown=limit)) for league in asked),
        return_exceptions=True,
    )
    per_league: list[list[Product]] = []
    league_of: dict[int, str] = {}
    trouble: list[str] = []
    for league, result in zip(asked, results, strict=True):
        if isinstance(result, LeagueError):
            log.warning("broadcast search on %s failed: %s", league.name, result)
            trouble.append(league.name)
            continue
        if isinstance(result, BaseException):
            raise result
        per_league.append(result)
        league_of.update((id(p), league.name) for p in result)
    top = mix_leagues(per_league, limit, rank_by, keyword)
    return Found([(league_of[id(p)], p) for p in top], trouble)


@dataclass(frozen=True)
class Picked:
    """The picked deals as the leagues show them now: those still promotable, in the operator's
    order, and those left out with why."""

    deals: list[tuple[League, Product]]
    left_out: list[tuple[DealRef, str]] = field(default_factory=list)


async def fetch_deals(leagues: Mapping[str, League], refs: Sequence[DealRef]) -> Picked:
    """Each picked product fetched from its league. One the league no longer knows or promotes is
    left out; a league that is down raises `LeagueUnavailable` (try again later, leave nothing out)."""

    async def one(ref: DealRef) -> Product | str:
        league = leagues.get(ref[0])
        if league is None:
            return f"联盟 {ref[0]} 没有启用"
        try:
            return await league.product(ref[1])
        except ProductNotFound:
            return GONE
        except LeagueUnavailable:
            raise
        except LeagueError as exc:
            return f"联盟没给出这个商品：{reason(exc)}"

    got = await asyncio.gather(*(one(ref) for ref in refs))
    deals: list[tuple[League, Product]] = []
    left_out: list[tuple[DealRef, str]] = []
    for ref, result in zip(refs, got, strict=True):
        if isinstance(result, str):
            left_out.append((ref, result))
        else:
            deals.append((leagues[ref[0]], result))
    return Picked(deals, left_out)


@dataclass(frozen=True)
class DealMessage:
    """What one group gets for a broadcast with deals: `text` ('' when no deal is left), the first
    deal's picture, the products in it, and the deals left out (with why)."""

    text: str
    image: str
    product_ids: list[str]
    left_out: list[tuple[str, str]]
    """(the product's title or "league:id", why)."""


async def deals_message(
    group: Group,
    text: str,
    picked: Picked,
    *,
    links: LinkCache,
    spot_of: SpotOf,
    renderer: Renderer,
    now: datetime,
    preview: bool = False,
) -> DealMessage:
    """The message of a broadcast with deals for this group: its text as the intro, then the deals
    rendered by the daily deals' template with links for the group's own spot on each league.

    At send time (`preview=False`) a deal the league refuses to link is left out and a league that is
    down raises `LeagueUnavailable`. In a preview, links are made for real (cached per league, product
    and spot: the send reuses them); one the league cannot make just now shows `LINK_AT_SEND`."""

    async def item(league: League, product: Product) -> dict[str, Any] | str:
        spot: Spot | None = None
        try:
            spot = await spot_of(group, league.name)
            link = await links.get_or_create(
                league.name, product.product_id, spot, lambda: league.promote(product, spot)
            )
        except ProductNotFound:
            return GONE
        except LeagueError as exc:
            if not preview:
                if isinstance(exc, LeagueUnavailable):
                    raise
                return f"本群的链接没生成：{reason(exc)}"
            link = PromotionLink(product.product_id, spot or Spot(league.name), short_link=LINK_AT_SEND)
        return {
            "product": product,
            "coupon": product.best_coupon(),
            "link": link,
            "final_price_fen": product.final_price_fen,
        }

    made = await asyncio.gather(*(item(league, product) for league, product in picked.deals))
    items = [m for m in made if not isinstance(m, str)]
    left_out = [(f"{league}:{pid}", why) for (league, pid), why in picked.left_out]
    left_out += [
        (product.title or product.product_id, m)
        for (_league, product), m in zip(picked.deals, made, strict=True)
        if isinstance(m, str)
    ]
    if not items:
        return DealMessage("", "", [], left_out)
    intro = text_for(text, group)
    deals = await renderer.render_async(  # the operator's text heads it: no daily push header
        "broadcast_deals",
        {"group_name": group.name or group.room_id, "intro": intro, "items": items},
        group=group.room_id,
    )
    message = cut(deals.strip(), renderer.max_chars)
    first: Product = items[0]["product"]
    return DealMessage(message, first.image, [i["product"].product_id for i in items], left_out)
