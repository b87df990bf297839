"""Attribution: a group's promotion identity (`Spot`) in each league, and which group an order came
through. Used by the chat (every link is made for the asker's group), the pushes, the console's
previews, the CLI's --group and the order sync alike.

`GroupSpots` — which identity a group's links are made for, per league. Channels: the group's row
decides — the owner's bound sharer appid when there is one, else the operator's default. Other leagues
that give each group its own identity (`SpotIssuer`: a Taobao adzone, a PDD PID) have it chosen once per
group and kept in the store (`league_spots`). Rows are read at most once a minute per group so the reply
path stays off the disk, and at most `capacity` groups are remembered (least recently asked forgotten
first), so memory does not grow with the number of groups ever seen. Private chats have no group: they
never get a row.

`Attributor` — which group an order came through, by the identity its link was made with. Channels:
the sharer appid, when a group's owner bound their own — the group that held it when the order was
placed (`sharer_bindings`), so 解绑推客 or a later binding elsewhere does not move old orders (the
operator's default sharer is shared by every unbound group, and a Channels order carries nothing
else that could name one, so those orders stay unattributed: `bot.services.unattributed` says why). Every
other league: the (pid, tag) kept per group in `league_spots` — `bot.store.spots.group_of_identity`
(exact pair, then the JD subUnionId alone, then the PDD PID alone). An order that maps to no group is
kept as unattributed.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from bot.chat.base import Incoming
from bot.leagues.base import Order, Spot, SpotIssuer
from bot.leagues.registry import SHARER_LEAGUE
from bot.store.groups import ensure_group
from bot.store.models import Group, LeagueSpot
from bot.store.orders import SharerSpan, group_of_sharer, sharer_spans
from bot.store.spots import (
    CLAIM,
    claim_spot,
    drop_claim,
    fill_spot,
    group_of_identity,
    is_claim,
    read_spot,
    taken_identities,
)


class GroupSpots:
    def __init__(
        self,
        engine: Engine | None,
        defaults: Mapping[str, Spot],
        ttl: float = 60.0,
        issuers: Mapping[str, SpotIssuer] | None = None,
        clock: Callable[[], float] = time.monotonic,
        capacity: int = 10_000,
        claim_wait: float = 4.0,
        claim_dead_after: float = 60.0,
    ) -> None:
        self.engine = engine
        self.defaults = defaults
        self.ttl = ttl
        self.clock = clock
        self.capacity = capacity
        self.issuers = dict(issuers or {})
        self.claim_wait = claim_wait
        """How long a reply waits for another process choosing the same group's identity (then it
        uses the operator's default for now)."""
        self.claim_dead_after = claim_dead_after
        """A claim this old was left by a process that died: it is taken over."""
        self._groups: OrderedDict[str, tuple[float, Group | None]] = OrderedDict()
        self._spots: OrderedDict[tuple[str, str], Spot] = OrderedDict()
        self._lock = asyncio.Lock()
        self._assign = asyncio.Lock()

    async def group(self, message: Incoming) -> Group | None:
        """The group's row (created on first sight); None in a private chat or without a store."""
        if self.engine is None or not message.is_group:
            return None
        hit = self._groups.get(message.chat_id)
        if hit and self.clock() - hit[0] < self.ttl:
            self._groups.move_to_end(message.chat_id)
            return hit[1]
        async with self._lock:  # one read per group however many links a message carries
            hit = self._groups.get(message.chat_id)
            if hit and self.clock() - hit[0] < self.ttl:
                return hit[1]
            owner, owner_name = (
                (message.sender_id, message.sender_name) if message.sender_is_owner else ("", "")
            )
            group = await asyncio.to_thread(
                ensure_group,
                self.engine,
                message.chat_id,
                message.chat_name,
                owner,
                message.account,
                owner_name,
            )
            self._groups[message.chat_id] = (self.clock(), group)
            self._groups.move_to_end(message.chat_id)
            while len(self._groups) > self.capacity:
                self._groups.popitem(last=False)
            return group

    def forget(self, room_id: str) -> None:
        """Read the group's row again on its next message (its owner just changed its sharer)."""
        self._groups.pop(room_id, None)

    async def __call__(self, message: Incoming, league: str) -> Spot:
        return await self.for_group(await self.group(message), league)

    async def for_group(self, group: Group | None, league: str) -> Spot:
        """The group's identity on `league` (chosen and kept the first time), or the operator's default;
        the CLI's --group uses this too."""
        default = self.defaults.get(league, Spot(league=league))
        if league == SHARER_LEAGUE and group is not None and group.channels_sharer_appid:
            return Spot(league=league, sharer_appid=group.channels_sharer_appid)
        issuer = self.issuers.get(league)
        if issuer is None or group is None or group.id is None or self.engine is None:
            return default
        return await self._issued(group, issuer, default)

    async def _choose(self, group: Group, issuer: SpotIssuer) -> LeagueSpot | None:
        """Claim the group's row, have the league choose, keep the choice; None to look again."""
        assert group.id is not None and self.engine is not None
        engine, group_id, league = self.engine, group.id, issuer.name
        claim = f"{CLAIM}{uuid.uuid4().hex}"
        if not await asyncio.to_thread(claim_spot, engine, group_id, league, claim):
            return None  # someone else claimed or filled it first
        try:
            taken = await asyncio.to_thread(taken_identities, engine, league)
            # An issuer that names identities after their group (the union's 推广位) gets the name.
            named = getattr(issuer, "choose_named_identity", None)
            if named is not None:
                pid, tag = await named(group.room_id, group.name, taken)
            else:
                pid, tag = await issuer.choose_identity(group.room_id, taken)
            row = await asyncio.to_thread(fill_spot, engine, group_id, league, claim, pid, tag)
        except BaseException:
            await asyncio.to_thread(drop_claim, engine, group_id, league, claim)
            raise
        if row is None:
            await asyncio.to_thread(drop_claim, engine, group_id, league, claim)
        return row

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
            waited, attempts = 0.0, 0
            while waited < self.claim_wait and attempts < 20:
                attempts += 1
                row = await asyncio.to_thread(read_spot, engine, group_id, league)
                if row is None:
                    row = await self._choose(group, issuer)
                elif is_claim(row):  # another process is choosing: wait for it, or take over a dead claim
                    dead = datetime.now(UTC) - timedelta(seconds=self.claim_dead_after)
                    if row.created_at.replace(tzinfo=UTC) < dead:
                        await asyncio.to_thread(drop_claim, engine, group_id, league, None, dead)
                        continue
                    await asyncio.sleep(0.05)
                    waited += 0.05
                    attempts -= 1
                    continue
                if row is not None:
                    spot = Spot(league=league, pid=row.pid or default.pid, tag=row.tag)
                    self._spots[(group.room_id, league)] = spot
                    while len(self._spots) > self.capacity:
                        self._spots.popitem(last=False)
                    return spot
        return default


class Attributor:
    """Looks groups up once per identity during one sync (a window repeats the same few identities)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._seen: dict[tuple[str, str, str, str], int | None] = {}
        self._sharers: dict[str, list[SharerSpan]] = {}

    def group_of(self, league: str, order: Order) -> int | None:
        if league == SHARER_LEAGUE:
            if order.sharer_appid not in self._sharers:
                self._sharers[order.sharer_appid] = sharer_spans(self.engine, order.sharer_appid)
            return group_of_sharer(self._sharers[order.sharer_appid], order.created_at)
        key = (league, order.sharer_appid, order.pid, order.tag)
        if key not in self._seen:
            self._seen[key] = self._look_up(league, order)
        return self._seen[key]

    def _look_up(self, league: str, order: Order) -> int | None:
        if not (order.pid or order.tag):
            return None
        return group_of_identity(self.engine, league, order.pid, order.tag)
