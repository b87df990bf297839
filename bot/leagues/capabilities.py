"""What a league can do beyond the core `League` protocol, as typed, runtime-checkable protocols.

Callers ask `isinstance(league, HasLives)` and get a typed object, instead of probing with `getattr` or
calling a stub that answers `[]`. A league has a capability by having the methods; nothing registers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from bot.leagues.base import LiveEvent, Order, SharerStatus, Spot
from bot.leagues.base import SpotIssuer as IssuesSpots
from bot.leagues.organisation import Clue, Feed, FeedShare, FundsBalance, FundsFlow, OrgCoupon, Window
from bot.leagues.takeout import TakeoutLink

__all__ = [
    "HasClues",
    "HasDailyQuota",
    "HasFeeds",
    "HasFunds",
    "HasLivePreviews",
    "HasLives",
    "HasOrgCoupons",
    "HasTakeout",
    "HasWindows",
    "IssuesSpots",
    "LooksUpSharers",
    "RefreshesOrders",
    "SyncsOrders",
    "TellsOperator",
]


@runtime_checkable
class HasLives(Protocol):
    """Live-stream notices of followed talents (Channels)."""

    name: str

    async def lives(self, talent_appids: Sequence[str], spot: Spot) -> list[LiveEvent]: ...


@runtime_checkable
class LooksUpSharers(Protocol):
    """Knows the organisation's sharers (Channels 推客): registration and binding state."""

    name: str

    async def sharer_status(self, sharer_appid: str) -> SharerStatus: ...


@runtime_checkable
class RefreshesOrders(Protocol):
    """Can read open orders again by id (their status moves after the window that found them)."""

    name: str

    async def refresh_orders(self, order_ids: list[str]) -> list[Order]: ...


@runtime_checkable
class TellsOperator(Protocol):
    """Has trouble only the operator can fix (spots running out) and wants a way to say so."""

    def set_operator_notice(self, notify: Callable[[str], Awaitable[None] | None]) -> None: ...


@runtime_checkable
class HasDailyQuota(Protocol):
    """Its gateway reports today's call quota per API path (Channels)."""

    name: str

    async def quota(self, path: str) -> dict[str, Any]: ...


@runtime_checkable
class SyncsOrders(Protocol):
    """Lists orders changed in a time window (every affiliate league; a shop may not)."""

    name: str

    async def orders_since(self, since: datetime, until: datetime | None = None) -> list[Order]: ...


@runtime_checkable
class HasFunds(Protocol):
    """The organisation's own funds: balance and ledger (Channels 机构资金). Both raise
    `bot.leagues.organisation.NotPermitted` when the account lacks the permission."""

    name: str

    async def funds_balance(self) -> FundsBalance: ...

    async def funds_flows(self, since: datetime, until: datetime) -> list[FundsFlow]: ...


@runtime_checkable
class HasOrgCoupons(Protocol):
    """The organisation's coupons (Channels 机构券: 定向券 and 公开券), shared as links made for a spot."""

    name: str

    async def org_coupons(self) -> list[OrgCoupon]: ...

    async def coupon_share_link(self, coupon_id: str, spot: Spot) -> str: ...


@runtime_checkable
class HasFeeds(Protocol):
    """Followed talents' promotable feeds (视频号 videos with a product), shared for a spot."""

    name: str
    followed_talents: Sequence[str]
    """The talents the operator follows (appids), in config order."""
    mini_program_appid: str
    """The organisation's mini program, which opens a shared feed ("" when none is configured)."""

    async def feeds(self, talent_appids: Sequence[str]) -> list[Feed]: ...

    async def feed_shares(self, talent_appid: str, export_ids: Sequence[str], spot: Spot) -> list[FeedShare]:
        """Shares of the feeds still there: a removed feed is left out."""
        ...


@runtime_checkable
class HasLivePreviews(Protocol):
    """A share of an upcoming live (直播预约) made for a spot."""

    name: str

    async def live_preview_share(self, event: LiveEvent, spot: Spot) -> str: ...


@runtime_checkable
class HasWindows(Protocol):
    """What the followed talents' shop windows (橱窗) hold."""

    name: str

    async def windows(self) -> list[Window]: ...


@runtime_checkable
class HasClues(Protocol):
    """The organisation's clues (自营线索): own-goods orders through its sharers."""

    name: str

    async def clues(self, since: datetime, until: datetime) -> list[Clue]: ...


@runtime_checkable
class HasTakeout(Protocol):
    """Takeout coupon links (外卖红包: Ele.me, Meituan) made for a spot's sid, one per activity."""

    name: str

    async def takeout_links(self, spot: Spot) -> list[TakeoutLink]: ...
