"""What the takeout (外卖红包) leagues share: the link type, the per-group sid and the League stubs.

Ele.me (`bot.leagues.eleme`) and Meituan (`bot.leagues.meituan`) sell no products a member searches
for: they hand out one coupon link per activity, made for a group through a `sid` that comes back on
every order. Both sit on the league registry like any league (order sync, reports, the console) and
answer the product calls of the `League` protocol with nothing, so a keyword search never waits on
them. What they do have is `HasTakeout` (`bot.leagues.capabilities`): today's links for a spot.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.leagues.base import Category, LeagueError, NotPromotable, Product, PromotionLink, SearchQuery, Spot

SID_PREFIX = "tk_"
SID_SHAPE = re.compile(r"^[A-Za-z0-9_-]{1,50}$")
"""What both leagues accept as a sid (Ele.me: at most 50, letters, digits, `_` and `-`; Meituan: 64)."""


def group_sid(group_key: str, digits: int = 12) -> str:
    """The group's stable sid: `tk_` and 12 hex digits of its chat id's hash. Short, the same on both
    leagues and in every process, and it never shows the chat id itself."""
    return SID_PREFIX + hashlib.sha256(group_key.encode("utf-8")).hexdigest()[:digits]


def fen_of(value: object) -> int:
    """A yuan amount as the leagues send it ("12.34", 12.3, "null", None) in whole fen, by `Decimal`."""
    if value is None or isinstance(value, bool):
        return 0
    try:
        amount = Decimal(str(value).strip() or "0")
    except InvalidOperation:
        return 0
    if not amount.is_finite():
        return 0
    return int((amount * 100).to_integral_value())


@dataclass(frozen=True, slots=True)
class TakeoutLink:
    """One coupon link made for a spot: what the member taps (`url`) and, where the league gives one,
    the mini program that opens it (`mini_appid` + `mini_path`)."""

    platform: str
    """The league's name: "eleme" or "meituan"."""
    title: str
    url: str
    mini_appid: str = ""
    mini_path: str = ""
    activity_id: str = ""
    sid: str = ""
    """The sid the link was made with ("" for the operator's own link)."""
    ends_at: datetime | None = None
    """When the activity ends, where the league says."""

    @property
    def mini_program(self) -> dict[str, str] | None:
        if self.mini_appid and self.mini_path:
            return {"appid": self.mini_appid, "path": self.mini_path}
        return None

    def as_json(self) -> dict[str, Any]:
        """The shape `tuike takeout --json` prints (kept exactly: scripts read it)."""
        out: dict[str, Any] = {"platform": self.platform, "title": self.title, "url": self.url}
        if self.mini_program is not None:
            out["mini_program"] = self.mini_program
        return out


class SidRejected(LeagueError):
    """The league refused the sid a link was asked for with (the league then makes it without one)."""


class TakeoutLeague:
    """The `League` protocol for a league with no products, and a sid per group (`SpotIssuer`)."""

    name: str
    platform: str

    async def search(self, query: SearchQuery) -> list[Product]:
        return []

    async def product(self, product_id: str, shop_id: str = "") -> Product:
        raise NotPromotable("not_alliance", f"{self.name}: no products, only coupon links")

    async def lookup_link(self, url: str) -> Product:
        raise NotPromotable("not_alliance", f"{self.name}: no products, only coupon links")

    async def promote(self, product: Product, spot: Spot) -> PromotionLink:
        raise NotPromotable("not_alliance", f"{self.name}: no products, only coupon links")

    async def featured(self, category_id: str, limit: int) -> list[Product]:
        return []

    async def categories(self) -> list[Category]:
        return []

    async def choose_identity(self, group_key: str, taken: set[tuple[str, str]]) -> tuple[str, str]:
        """The group's sid, kept in the store as its tag: orders name the group through it (a longer
        hash in the unlikely case another group holds this one)."""
        for digits in (12, 16, 24, 32):
            sid = group_sid(group_key, digits)
            if ("", sid) not in taken:
                return "", sid
        raise LeagueError(f"{self.name}: no free sid for this group")
