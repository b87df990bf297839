"""What a daily push may carry from the organisation's own account, beside the deals: its coupons
(机构券, `[push] channels_coupons`) and the followed talents' feeds (`[push] channels_feeds`), each
shared for the group's sharer. The leagues are found by capability (HasOrgCoupons, HasFeeds).

A coupon that has run out is left out and said in the push result; a feed removed since it was
listed is left out the same way. A feed goes as a mini-program card where the channel can send one;
the text names it anyway, for the channels that cannot.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from bot.chat.base import MiniProgramCard
from bot.leagues.base import League, LeagueError, Spot
from bot.leagues.capabilities import HasFeeds, HasOrgCoupons
from bot.leagues.organisation import OrgCoupon

log = logging.getLogger(__name__)

FEED_PAGE = "pages/channels/feed"
"""The page of the organisation's mini program that opens a feed (`wx.openChannelsActivity` with the
share's feedId and promoterShareLink). The page is the organisation's own: a guess, like its query."""
MAX_COUPONS = 3
"""Coupons a push leads with at most (the best by amount off)."""

SpotFor = Callable[[str], Awaitable[Spot]]
"""league name → the group's spot on it."""


@dataclass
class OrgExtras:
    coupons: list[dict[str, Any]] = field(default_factory=list)
    """Each: coupon (Coupon), kind (定向券 / 公开券), link (the share link made for the group's sharer)."""
    feeds: list[dict[str, Any]] = field(default_factory=list)
    """Each: title (its product's name), talent_name, export_id, link (the promoter share link)."""
    cards: list[MiniProgramCard] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What was left out and why: goes into the push result."""


def _best(coupons: list[OrgCoupon]) -> list[OrgCoupon]:
    usable = [c for c in coupons if c.coupon.remaining != 0]
    return sorted(usable, key=lambda c: (-c.coupon.amount_fen, c.coupon.coupon_id))[:MAX_COUPONS]


async def org_extras(
    leagues: Mapping[str, League],
    spot_for: SpotFor,
    *,
    coupons: bool,
    feeds: int,
    exclude_feeds: frozenset[str] | set[str] = frozenset(),
) -> OrgExtras:
    """The coupons and feeds a push carries. League faults leave them out (the deals still go)."""
    extras = OrgExtras()
    if coupons:
        league = next((lg for lg in leagues.values() if isinstance(lg, HasOrgCoupons)), None)
        if league is not None:
            await _coupons(league, spot_for, extras)
    if feeds:
        league_f = next((lg for lg in leagues.values() if isinstance(lg, HasFeeds)), None)
        if league_f is not None and league_f.followed_talents:
            await _feeds(league_f, spot_for, extras, feeds, exclude_feeds)
    return extras


async def _coupons(league: HasOrgCoupons, spot_for: SpotFor, extras: OrgExtras) -> None:
    try:
        found = await league.org_coupons()
        spot = await spot_for(league.name)
        run_out = [c for c in found if c.run_out]
        for c in _best(found):
            link = await league.coupon_share_link(c.coupon.coupon_id, spot)
            if link:
                extras.coupons.append({"coupon": c.coupon, "kind": c.kind_label, "link": link})
    except LeagueError as exc:
        log.warning("organisation coupons left out of the push: %s", exc)
        extras.notes.append("机构券没取到，这次没带")
        return
    if run_out:
        names = "、".join(c.coupon.name or c.coupon.coupon_id for c in run_out[:3])
        more = f" 等 {len(run_out)} 张" if len(run_out) > 3 else ""
        extras.notes.append(f"机构券已抢光，没带：{names}{more}")


async def _feeds(
    league: HasFeeds,
    spot_for: SpotFor,
    extras: OrgExtras,
    count: int,
    exclude: frozenset[str] | set[str],
) -> None:
    mini_program_appid = league.mini_program_appid
    try:
        listed = [f for f in await league.feeds(league.followed_talents) if f.export_id not in exclude]
        spot = await spot_for(league.name)
        chosen = sorted(listed, key=lambda f: (-f.predict_commission_fen, f.export_id))[:count]
        by_talent: dict[str, list[str]] = {}
        for f in chosen:
            by_talent.setdefault(f.talent_appid, []).append(f.export_id)
        shares = {}
        for talent, ids in by_talent.items():
            shares.update({s.export_id: s for s in await league.feed_shares(talent, ids, spot)})
    except LeagueError as exc:
        log.warning("feeds left out of the push: %s", exc)
        extras.notes.append("达人视频没取到，这次没带")
        return
    gone = [f for f in chosen if f.export_id not in shares]
    for f in chosen:
        share = shares.get(f.export_id)
        if share is None:
            continue
        extras.feeds.append(
            {
                "title": f.title,
                "talent_name": f.talent_name,
                "export_id": f.export_id,
                "link": share.share_link,
                "card": bool(mini_program_appid),
            }
        )
        if mini_program_appid:
            query = urlencode(
                {
                    "feed_id": f.export_id,
                    "feed_token": share.feed_token,
                    "promoter_share_link": share.share_link,
                }
            )
            extras.cards.append(
                MiniProgramCard(
                    appid=mini_program_appid,
                    title=f"{f.talent_name}的视频：{f.title}" if f.talent_name else f.title,
                    page_path=f"{FEED_PAGE}?{query}",
                    thumb_url=f.image,
                )
            )
    if gone:
        extras.notes.append(f"达人视频已删除，没带：{'、'.join(f.title[:16] for f in gone)}")
