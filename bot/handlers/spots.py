"""Which promotion identity (`Spot`) a group's links are made for, per league.

Channels: the group's row decides — the owner's bound sharer appid when there is one, else the
operator's default. Other leagues that give each group its own identity (`SpotIssuer`: a Taobao
adzone, a PDD PID) have it chosen once per group and kept in the store (`league_spots`). Rows are read
at most once a minute per group so the reply path stays off the disk.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

from sqlalchemy import Engine

from bot.chat.base import Incoming
from bot.leagues.base import Spot, SpotIssuer
from bot.store.groups import ensure_group
from bot.store.models import Group
from bot.store.spots import insert_spot, read_spot, taken_identities


class GroupSpots:
    def __init__(
        self,
        engine: Engine | None,
        defaults: Mapping[str, Spot],
        ttl: float = 60.0,
        issuers: Mapping[str, SpotIssuer] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.defaults = defaults
        self.ttl = ttl
        self.clock = clock
        self.issuers = dict(issuers or {})
        self._groups: dict[str, tuple[float, Group | None]] = {}
        self._spots: dict[tuple[str, str], Spot] = {}
        self._lock = asyncio.Lock()
        self._assign = asyncio.Lock()

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
                ensure_group, self.engine, message.chat_id, message.chat_name, owner
            )
            self._groups[message.chat_id] = (self.clock(), group)
            return group

    async def __call__(self, message: Incoming, league: str) -> Spot:
        default = self.defaults.get(league, Spot(league=league))
        group = await self.group(message)
        if league == "channels" and group is not None and group.channels_sharer_appid:
            return Spot(league=league, sharer_appid=group.channels_sharer_appid)
        issuer = self.issuers.get(league)
        if issuer is None or group is None or group.id is None or self.engine is None:
            return default
        return await self._issued(group, issuer, default)

    async def _issued(self, group: Group, issuer: SpotIssuer, default: Spot) -> Spot:
        """The group's kept identity on the issuer's league, chosen and stored the first time."""
        assert group.id is not None and self.engine is not None
        engine, group_id, league = self.engine, group.id, issuer.name
        hit = self._spots.get((group.room_id, league))
        if hit is not None:
            return hit
        async with self._assign:  # one choice at a time in this process; the store guards the rest
            hit = self._spots.get((group.room_id, league))
            if hit is not None:
                return hit
            for _ in range(5):
                row = await asyncio.to_thread(read_spot, engine, group_id, league)
                if row is None:
                    taken = await asyncio.to_thread(taken_identities, engine, league)
                    # An issuer that names identities after their group (the union's 推广位) gets the name.
                    named = getattr(issuer, "choose_named_identity", None)
                    if named is not None:
                        pid, tag = await named(group.room_id, group.name, taken)
                    else:
                        pid, tag = await issuer.choose_identity(group.room_id, taken)
                    row = await asyncio.to_thread(insert_spot, engine, group_id, league, pid, tag)
                if row is not None:
                    spot = Spot(league=league, pid=row.pid or default.pid, tag=row.tag)
                    self._spots[(group.room_id, league)] = spot
                    return spot
        return default
