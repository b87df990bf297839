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

__all__ = [
    "HasDailyQuota",
    "HasLives",
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
