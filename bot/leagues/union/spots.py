"""Promotion spots (推广位) per group on the union: made once per group, shared when the account runs out."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.leagues.base import (
    Spot,
)
from bot.leagues.union.client import (
    DEFAULT_SPOT_NAME,
    SPOT_LIST_LIMIT,
    SPOT_NAME_MAX,
    SPOT_NAME_TAKEN,
    SPOTS_FULL,
    UnionClient,
    _int,
)
from bot.leagues.wechat.errors import WechatApiError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SpotInfo:
    pid: str
    name: str


@dataclass(frozen=True, slots=True)
class SpotUsage:
    """What `tuike union spots` shows: the account's spots against its limit."""

    spots: tuple[SpotInfo, ...]
    limit: int
    default_pid: str
    full: bool

    @property
    def used(self) -> int:
        return len(self.spots)


def group_tag(group_key: str) -> str:
    """A short stable tag for a group (its chat id hashed): the spot name's suffix and customizeInfo."""
    return hashlib.blake2b(group_key.encode(), digest_size=4).hexdigest()


def spot_name(group_name: str, tag: str) -> str:
    """The spot's name, e.g. 宝妈省钱群#1a2b3c4d: the group's name cut to fit 20 characters, then its tag."""
    room = SPOT_NAME_MAX - len(tag) - 1
    name = " ".join((group_name or "群").split())[:room] or "群"
    return f"{name}#{tag}"


OperatorNotice = Callable[[str], Awaitable[None] | None]


class UnionSpots:
    """One promotion spot per group, made on first use, exactly once per group and account.

    The account's spot list is read once (and again when another process wins a race); a group's spot
    is found by its tag suffix, so a restart or a renamed group reuses the spot it already has.
    """

    def __init__(
        self,
        client: UnionClient,
        *,
        default_name: str = DEFAULT_SPOT_NAME,
        notify: OperatorNotice | None = None,
    ) -> None:
        self.client = client
        self.default_name = default_name
        self.notify = notify
        self._by_tag: dict[str, SpotInfo] = {}
        self._names: dict[str, SpotInfo] = {}
        self._limit = 100
        self._default: SpotInfo | None = None
        self._loaded = False
        self._full = False
        self._told = False
        self._load_lock = asyncio.Lock()
        self._locks: dict[str, asyncio.Lock] = {}
        self.created = 0
        """Spots this process created (tests and the bench count them)."""

    # -- reading the account ---------------------------------------------------------------------------

    async def _load(self, *, again: bool = False) -> None:
        async with self._load_lock:
            if self._loaded and not again:
                return
            spots: list[SpotInfo] = []
            start = 0
            while True:
                data = await self.client.spot_list(start, SPOT_LIST_LIMIT)
                page = data.get("promotionSourceList") or []
                spots += [
                    SpotInfo(str(s.get("promotionSourcePid", "")), str(s.get("promotionSourceName", "")))
                    for s in page
                ]
                self._limit = _int(data.get("promotionMaxCnt"), self._limit) or self._limit
                start += len(page)
                if not page or start >= _int(data.get("total"), start):
                    break
            self._names, self._by_tag, self._default = {}, {}, None  # the account is the truth
            for spot in spots:
                self._remember(spot)
            self._full = len(self._names) >= self._limit
            self._loaded = True

    def _remember(self, spot: SpotInfo) -> None:
        self._names[spot.name] = spot
        _, sep, tag = spot.name.rpartition("#")
        if sep and tag:
            self._by_tag.setdefault(tag, spot)
        if spot.name == self.default_name:
            self._default = spot

    async def usage(self, *, refresh: bool = True) -> SpotUsage:
        await self._load(again=refresh)
        spots = tuple(sorted(self._names.values(), key=lambda s: s.name))
        default = self._default.pid if self._default else ""
        return SpotUsage(spots, self._limit, default, self._full or len(spots) >= self._limit)

    # -- making spots ----------------------------------------------------------------------------------

    async def tell(self, text: str) -> None:
        """Something the operator must hear: to `notify` (the app sends it to the admin chat), else the log."""
        if self.notify is None:
            log.warning("%s", text)
            return
        result = self.notify(text)
        if result is not None:
            await result

    async def _add(self, name: str) -> SpotInfo | None:
        """Create the spot `name`, or find it when someone else just did; None when the account is full."""
        try:
            data = await self.client.spot_add(name)
        except WechatApiError as exc:
            if exc.errcode == SPOT_NAME_TAKEN:
                await self._load(again=True)
                return self._names.get(name)
            if exc.errcode == SPOTS_FULL:
                await self._full_now()
                return None
            raise
        spot = SpotInfo(str(data.get("pid", "")), name)
        self.created += 1
        self._remember(spot)
        return spot

    async def _full_now(self) -> None:
        self._full = True
        if not self._told:
            self._told = True
            await self.tell(
                f"小程序联盟推广位已用完（{len(self._names)}/{self._limit}）：新的群从现在起共用默认推广位"
                f"「{self.default_name}」，订单仍按 customizeInfo 分到各群。"
                "到联盟推客后台删掉不用的推广位，或用 `tuike union spots` 查看。"
            )

    async def default(self) -> Spot:
        """The shared spot for groups beyond the limit (and for the CLI); made first, so it always fits."""
        await self._load()
        if self._default is None:
            async with self._lock("\0default"):
                if self._default is None:
                    made = await self._add(self.default_name)
                    if made is None and self._names:
                        # Full before we ever made one: borrow an existing spot rather than fail.
                        made = sorted(self._names.values(), key=lambda s: s.name)[0]
                        await self.tell(f"没有空位建默认推广位，暂用「{made.name}」")
                    self._default = made
        return Spot(league="union", pid=self._default.pid if self._default else "")

    def _lock(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def for_group(self, group_key: str, group_name: str, known_pid: str = "") -> Spot:
        """The group's spot: `known_pid` when the store has one, else found or made (exactly once)."""
        tag = group_tag(group_key)
        if known_pid:
            return Spot(league="union", pid=known_pid, tag=tag)
        return await self.for_tag(tag, group_name)

    async def exists(self, pid: str) -> bool:
        """Whether the account still has the spot `pid` (re-read: the operator may have deleted it)."""
        await self._load(again=True)
        return any(s.pid == pid for s in self._names.values())

    async def for_tag(self, tag: str, group_name: str = "") -> Spot:
        """The spot of the group whose tag is `tag`, found by its name's suffix or made."""
        default = await self.default()  # reserves the default's slot before any group takes the last one
        async with self._lock(tag):
            found = self._by_tag.get(tag)
            if found is None and not self._full and len(self._names) < self._limit:
                found = await self._add(spot_name(group_name, tag))
            elif found is None:
                await self._full_now()
        return Spot(league="union", pid=found.pid if found else default.pid, tag=tag)


# ---- the league ----------------------------------------------------------------------------------
