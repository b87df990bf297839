"""Today's takeout (外卖红包) links for a group: every enabled takeout league's links, made for the
group's sid and kept until the end of the local day — what 外卖 answers, the daily 外卖 push sends and
`tuike takeout` prints.

A group's links change rarely, and every member of a group gets the same ones, so each (league, group)
costs one league call a day however many members ask and however many slots push (the links expire
at local midnight, or sooner when the league says the activity ends sooner). Several members asking at
once share one call. A league that fails is asked again after `retry_seconds`, not on every message;
the other league still answers. Private chats share the operator's own links (no sid).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from typing import Any
from zoneinfo import ZoneInfo

from bot.chat.base import MiniProgramCard, ReplyPart
from bot.leagues.base import League, LeagueConfigError, LeagueError, Spot
from bot.leagues.capabilities import HasTakeout
from bot.leagues.takeout import TakeoutLink
from bot.services.platforms import PLATFORM_NAMES
from bot.store.models import Group

log = logging.getLogger(__name__)

SpotOf = Callable[[Group | None, str], Awaitable[Spot]]
"""(the group or None for a private chat, league name) → the identity its links are made for."""
Key = tuple[str, str]
"""(league, spot key)."""


def link_context(link: TakeoutLink) -> dict[str, Any]:
    """What a template reads of one link (operators edit `takeout` and `takeout_push`)."""
    return {
        "platform": link.platform,
        "name": PLATFORM_NAMES.get(link.platform, link.platform),
        "title": link.title,
        "url": link.url,
        "mini_program": link.mini_program,
        "ends_at": link.ends_at,
    }


@dataclass(frozen=True)
class TakeoutAnswer:
    """The links made for one group, and the leagues that gave none now (name → why: "config" when the
    operator must act — Meituan refusing the account, a wrong key —, "slow" past the deadline, else
    "error")."""

    links: list[TakeoutLink]
    missing: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    """League name → the failure in one line, for the operator (push results, `tuike takeout`)."""

    def context(self) -> dict[str, Any]:
        return {
            "links": [link_context(link) for link in self.links],
            "missing": [PLATFORM_NAMES.get(name, name) for name in self.missing],
        }

    @property
    def note(self) -> str:
        """One line for a push result: which league gave no links and why ("" when all did)."""
        return "；".join(f"{PLATFORM_NAMES.get(n, n)}未取到链接：{why}" for n, why in self.errors.items())


def takeout_cards(links: list[TakeoutLink]) -> list[ReplyPart]:
    """A mini-program card per league whose link opens one (one per league at most: cards flood a
    group); a channel that cannot send cards leaves them out, the text carries the links anyway."""
    cards: list[ReplyPart] = []
    seen: set[str] = set()
    for link in links:
        if link.mini_appid and link.mini_path and link.platform not in seen:
            seen.add(link.platform)
            cards.append(
                MiniProgramCard(
                    appid=link.mini_appid,
                    title=link.title,
                    page_path=link.mini_path,
                    description=PLATFORM_NAMES.get(link.platform, link.platform),
                )
            )
    return cards


def takeout_leagues(leagues: Mapping[str, League]) -> dict[str, HasTakeout]:
    """The enabled leagues that hand out takeout links, in registry order."""
    return {name: league for name, league in leagues.items() if isinstance(league, HasTakeout)}


class TakeoutLinks:
    def __init__(
        self,
        leagues: Mapping[str, League],
        spot_of: SpotOf,
        *,
        timezone: str = "Asia/Shanghai",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        retry_seconds: float = 60.0,
        capacity: int = 20_000,
    ) -> None:
        self.leagues = takeout_leagues(leagues)
        self.spot_of = spot_of
        self.zone = ZoneInfo(timezone)
        self.clock = clock
        self.retry = timedelta(seconds=retry_seconds)
        self.capacity = capacity
        self._links: OrderedDict[Key, tuple[datetime, list[TakeoutLink]]] = OrderedDict()
        self._failed: dict[Key, tuple[datetime, LeagueError]] = {}
        self._inflight: dict[Key, asyncio.Task[list[TakeoutLink]]] = {}
        self.calls: Counter[str] = Counter()
        """League calls made per league (each `takeout_links` asked of it): what a day of pushes costs."""

    @property
    def available(self) -> bool:
        return bool(self.leagues)

    def _expiry(self, now: datetime, links: list[TakeoutLink]) -> datetime:
        """The end of the local day, or the first activity's end when that is sooner."""
        local = now.astimezone(self.zone)
        midnight = datetime.combine(local.date() + timedelta(days=1), dt_time(0), tzinfo=self.zone)
        ends = [link.ends_at for link in links if link.ends_at is not None and link.ends_at > now]
        return min([midnight.astimezone(UTC), *ends])

    async def for_group(self, group: Group | None, *, deadline: float | None = None) -> TakeoutAnswer:
        """Every takeout league's links for the group, within `deadline` seconds (a league past it is
        "slow"; its call goes on and its links are kept for the next ask)."""
        tasks = {
            name: asyncio.ensure_future(self._league_links(name, league, group))
            for name, league in self.leagues.items()
        }
        if not tasks:
            return TakeoutAnswer([])
        _done, pending = await asyncio.wait(tasks.values(), timeout=deadline)
        links: list[TakeoutLink] = []
        missing: dict[str, str] = {}
        errors: dict[str, str] = {}
        for name, task in tasks.items():
            if task in pending:
                task.cancel()
                missing[name], errors[name] = "slow", f"没有在 {deadline:g} 秒内答复"
                continue
            failure = task.exception()
            if failure is None:
                links += task.result()
            else:
                missing[name] = "config" if isinstance(failure, LeagueConfigError) else "error"
                errors[name] = f"{type(failure).__name__}: {failure}".splitlines()[0]
        return TakeoutAnswer(links, missing, errors)

    async def _league_links(self, name: str, league: HasTakeout, group: Group | None) -> list[TakeoutLink]:
        spot = await self.spot_of(group, name)
        key = (name, spot.key)
        now = self.clock()
        hit = self._links.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        failed = self._failed.get(key)
        if failed is not None and failed[0] > now:
            raise failed[1]
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._fetch(key, league, spot))
            self._inflight[key] = task
            task.add_done_callback(lambda _t: self._inflight.pop(key, None))
        return await asyncio.shield(task)  # a member's deadline never cancels the call the group shares

    async def _fetch(self, key: Key, league: HasTakeout, spot: Spot) -> list[TakeoutLink]:
        """One league call for a group's links, on the league client's own timeouts and retries (not a
        member's deadline: the links are kept for the next ask even when this one gave up waiting)."""
        self.calls[key[0]] += 1
        try:
            links = await league.takeout_links(spot)
        except LeagueError as exc:
            self._failed[key] = (self.clock() + self.retry, exc)
            log.warning("takeout %s: no links for %s: %s", key[0], spot.key, exc)
            raise
        self._failed.pop(key, None)
        now = self.clock()
        self._links[key] = (self._expiry(now, links), links)
        self._links.move_to_end(key)
        while len(self._links) > self.capacity:
            self._links.popitem(last=False)
        return links
