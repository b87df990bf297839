"""Which promotion identity (`Spot`) a group's links are made for, per league.

The group's row decides: the owner's bound sharer appid when there is one, else the operator's
default. Rows are read at most once a minute per group so the reply path stays off the disk.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

from sqlalchemy import Engine

from bot.chat.base import Incoming
from bot.leagues.base import Spot
from bot.store.groups import ensure_group
from bot.store.models import Group


class GroupSpots:
    def __init__(
        self,
        engine: Engine | None,
        defaults: Mapping[str, Spot],
        ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.defaults = defaults
        self.ttl = ttl
        self.clock = clock
        self._groups: dict[str, tuple[float, Group | None]] = {}
        self._lock = asyncio.Lock()

    async def group(self, message: Incoming) -> Group | None:
        if self.engine is None:
            return None
        hit = self._groups.get(message.chat_id)
        if hit and self.clock() - hit[0] < self.ttl:
            return hit[1]
        async with self._lock:  # one read per group however many links a message carries
            hit = self._groups.get(message.chat_id)
            if hit and self.clock() - hit[0] < self.ttl:
                return hit[1]
            owner = message.sender_id if message.sender_is_owner else ""
            group = await asyncio.to_thread(
                ensure_group, self.engine, message.chat_id, message.chat_name, owner, message.account
            )
            self._groups[message.chat_id] = (self.clock(), group)
            return group

    async def __call__(self, message: Incoming, league: str) -> Spot:
        default = self.defaults.get(league, Spot(league=league))
        group = await self.group(message)
        if league == "channels" and group is not None and group.channels_sharer_appid:
            return Spot(league=league, sharer_appid=group.channels_sharer_appid)
        return default
