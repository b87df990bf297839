"""What the console's pages are given: the same parts `tuike run` built for the chat side, made by the
composition (bot/compose.py); pages never build domain objects themselves."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import Engine

from bot.config import Settings
from bot.leagues.base import League
from bot.leagues.linkcache import LinkCache
from bot.orders.sync import OrderSync
from bot.push.service import PushService
from bot.render.engine import Renderer
from bot.services.attribution import GroupSpots


def _now() -> datetime:
    return datetime.now(UTC)


class WebParts(Protocol):
    """What the composition (`bot.compose.Composition`) hands the console beyond the settings."""

    @property
    def spots(self) -> GroupSpots:
        """Each group's identity on each league (the same object the chat side uses)."""
        ...

    @property
    def links(self) -> LinkCache:
        """The link cache, kept `[deals] link_ttl_hours`."""
        ...

    def composer(self, clock: Callable[[], datetime] | None = None) -> PushService | None:
        """A push service that only composes (a preview), or None when no league can supply one."""
        ...


@dataclass
class WebServices:
    settings: Settings
    engine: Engine
    renderer: Renderer
    leagues: dict[str, League] = field(default_factory=dict)
    pushes: dict[str, PushService] = field(default_factory=dict)
    """Chat account → its push service. Empty when the console is served alone (`tuike web`): then
    broadcasts and "send now" wait in the database for the process that serves the group's account."""
    orders: OrderSync | None = None
    clock: Callable[[], datetime] = _now
    parts: WebParts = field(kw_only=True)
    """Spots, links and a composing push service, built once by the composition."""

    def subscriptions_changed(self) -> None:
        """Rebuild the scheduler jobs after the console changed a subscription (as 订阅 does in chat)."""
        for push in self.pushes.values():
            push.jobs_changed()

    @property
    def serves_chat(self) -> bool:
        """True inside `tuike run`: pushes and broadcasts can go out from this process."""
        return bool(self.pushes)
