"""Deal lookup: a product from a member's link or 口令, a keyword searched across the leagues and ranked
together, and a promotion link made (and cached) for a group's identity — what the chat's 找 and link
answers ask for (bot.handlers.deals renders and times them).

A keyword that is a product's whole title (pasted from a deal the bot posted) is found without a search
when a league showed it lately (`KnowsTitles`). Keyword results are kept briefly (`SearchCache`): a
popular keyword asked in many groups costs one search.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from bot.config import DealSettings
from bot.leagues import registry
from bot.leagues.base import League, LeagueError, Product, PromotionLink, SearchQuery, Spot
from bot.leagues.linkcache import LinkCache
from bot.leagues.ranking import RankBy, mix_leagues, rank_products
from bot.services.platforms import PLATFORM_NAMES

log = logging.getLogger(__name__)

__all__ = [
    "HARD_STOP_MARGIN",
    "PLATFORM_NAMES",
    "DealFinder",
    "KnowsTitles",
    "SearchCache",
    "Searched",
    "SpotFor",
    "own_store_first",
    "shop_names",
]

HARD_STOP_MARGIN = 0.5
"""Seconds past its budget after which an answer is cancelled outright, whatever the league does."""

SpotFor = Callable[[str], Awaitable[Spot]]
"""league name → the asking group's promotion identity on that league."""


@runtime_checkable
class KnowsTitles(Protocol):
    """A league that can find a product it showed lately by its whole title, with no list call."""

    async def product_titled(self, title: str) -> Product | None: ...


class SearchCache:
    """Keyword results kept briefly: a popular keyword asked in many groups costs one search."""

    def __init__(
        self, seconds: float, clock: Callable[[], float] = time.monotonic, capacity: int = 2000
    ) -> None:
        self.seconds = seconds
        self.clock = clock
        self.capacity = capacity
        self._items: dict[tuple[str, str], tuple[float, list[Product]]] = {}

    def get(self, league: str, keyword: str) -> list[Product] | None:
        hit = self._items.get((league, keyword))
        if hit and self.clock() - hit[0] < self.seconds:
            return hit[1]
        return None

    def put(self, league: str, keyword: str, products: list[Product]) -> None:
        if self.seconds <= 0:
            return
        if len(self._items) >= self.capacity:
            self._items.clear()
        self._items[(league, keyword)] = (self.clock(), products)


@dataclass(frozen=True, slots=True)
class Searched:
    """A keyword searched across the leagues: the products to show, best first, with the league each
    came from (by `id(product)`); `trouble` is the first league's fault when nothing was found and a
    league failed (then `top` is empty)."""

    top: list[Product]
    league_of: Mapping[int, League]
    trouble: tuple[League, LeagueError] | None = None


def shop_names() -> frozenset[str]:
    """The registered leagues that are the operator's own shops (`[shops.*]` plug-ins)."""
    return frozenset(plugin.name for plugin in registry.LEAGUES if plugin.section == "shops")


def own_store_first(
    per_league: Sequence[tuple[str, list[Product]]], limit: int, rank_by: RankBy, keyword: str = ""
) -> list[Product]:
    """`[deals] own_store_first`: each own shop's best match ahead of the affiliate deals (which are
    mixed as always in the places left), at most `limit - 1` of them while an affiliate league found
    something, so a member always sees a deal beside the shop's own goods."""
    shops = shop_names()
    own_lists = [products for name, products in per_league if name in shops and products]
    others = [products for name, products in per_league if name not in shops]
    own = rank_products(
        [rank_products(products, rank_by, keyword)[0] for products in own_lists], rank_by, keyword
    )
    room = limit - 1 if any(others) else limit
    own = own[: max(room, 0)]
    return own + mix_leagues(others, limit - len(own), rank_by, keyword)


class DealFinder:
    """The leagues as one catalogue for a member's request. `settings`: [deals] (which leagues a
    keyword search asks, in the operator's order; how many results; how to rank)."""

    def __init__(
        self,
        *,
        leagues: Mapping[str, League],
        links: LinkCache,
        settings: DealSettings,
        search_cache: SearchCache | None = None,
    ) -> None:
        self.leagues = leagues
        self.by_platform: dict[str, League] = {league.platform: league for league in leagues.values()}
        self.search_leagues = [leagues[name] for name in settings.leagues if name in leagues]
        """What a keyword search asks, in the operator's order ([deals] leagues, enabled ones only)."""
        self.links = links
        self.settings = settings
        self.search_cache = search_cache or SearchCache(settings.search_cache_seconds)

    def league_for(self, platform: str) -> League | None:
        """The enabled league that serves a platform's links, or None."""
        return self.by_platform.get(platform)

    async def product(
        self, league: League, *, product_id: str | None, url: str | None, code: str | None
    ) -> Product:
        """The product a link, 口令 or id names: by id when the link carried one, else by a link this
        bot issued itself (no league call to resolve it), else resolved by the league."""
        issued = await self.links.find(url) if url else None
        if product_id:
            return await league.product(product_id)
        if issued is not None and issued[0] == league.name:
            return await league.product(issued[1], issued[2])
        return await league.lookup_link(url or code or "")

    async def link(self, league: League, product: Product, spot: Spot) -> PromotionLink:
        """The product's promotion link for `spot`, cached per (league, product, spot)."""
        return await self.links.get_or_create(
            league.name, product.product_id, spot, lambda: league.promote(product, spot)
        )

    async def links_for(
        self, products: Sequence[Product], league_of: Mapping[int, League], spot_for: SpotFor
    ) -> list[PromotionLink | BaseException]:
        """Each product's link for the asking group, made at once; a failure stands in its place."""

        async def one(product: Product) -> PromotionLink:
            league = league_of[id(product)]
            return await self.link(league, product, await spot_for(league.name))

        return await asyncio.gather(*(one(p) for p in products), return_exceptions=True)

    async def titled(self, keyword: str) -> tuple[League, Product] | None:
        """The product whose whole title the keyword is, from the first league that showed it lately
        (`KnowsTitles`): a member pasting the title of a deal the bot posted gets that deal, without
        a search. Not asked while every league's search for the keyword is cached anyway."""
        leagues = self.search_leagues
        if all(self.search_cache.get(league.name, keyword) is not None for league in leagues):
            return None
        for league in leagues:
            if not isinstance(league, KnowsTitles):
                continue
            try:
                product = await league.product_titled(keyword)
            except LeagueError as exc:  # the search meets the same trouble and says so
                log.info("title lookup on %s failed: %s", league.name, exc)
                continue
            if product is not None:
                return league, product
        return None

    async def search(self, keyword: str) -> Searched:
        """Every search league asked at once, the answers ranked together (`[deals] rank_by`)."""
        leagues = self.search_leagues
        results = await asyncio.gather(
            *(self._search_one(league, keyword) for league in leagues), return_exceptions=True
        )
        found: list[tuple[League, Product]] = []
        per_league: list[list[Product]] = []
        named: list[tuple[str, list[Product]]] = []
        trouble: tuple[League, LeagueError] | None = None
        for league, result in zip(leagues, results, strict=True):
            if isinstance(result, LeagueError):
                trouble = trouble or (league, result)
                continue
            if isinstance(result, BaseException):
                raise result
            found.extend((league, p) for p in result)
            per_league.append(result)
            named.append((league.name, result))
        if not found and trouble is not None:
            return Searched([], {}, trouble)
        league_of = {id(p): lg for lg, p in found}
        limit, rank_by = self.settings.results_per_search, self.settings.rank_by
        if self.settings.own_store_first and shop_names() & {name for name, products in named if products}:
            top = own_store_first(named, limit, rank_by, keyword)
        else:
            top = mix_leagues(per_league, limit, rank_by, keyword)
        return Searched(top, league_of)

    async def search_title(self, keyword: str) -> Searched:
        """`search`, and when a long keyword (a whole pasted title) finds nothing, its leading words:
        a title as a shop writes it rarely matches a league's search word for word."""
        searched = await self.search(keyword)
        shorter = leading_words(keyword)
        if searched.top or searched.trouble is not None or shorter == keyword:
            return searched
        return await self.search(shorter)

    async def _search_one(self, league: League, keyword: str) -> list[Product]:
        cached = self.search_cache.get(league.name, keyword)
        if cached is not None:
            return cached
        wanted = max(self.settings.results_per_search * 4, 10)
        products = await league.search(
            SearchQuery(
                keyword=keyword,
                limit=wanted,
                shown=self.settings.results_per_search,
                rank_by=self.settings.rank_by,
            )
        )
        self.search_cache.put(league.name, keyword, products)
        return products


LEADING_CHARS = 6
"""A title without spaces is searched again by this many leading characters (brand and product)."""


def leading_words(keyword: str) -> str:
    """The first words of a title, what a league's search matches: two words (three when the first
    two are short, "Apple AirPods Pro"), or the first characters of a title written without spaces."""
    words = keyword.split()
    if len(words) >= 3:
        two = " ".join(words[:2])
        return two if len(two) >= 6 else " ".join(words[:3])
    if len(words) == 1 and len(keyword) > 2 * LEADING_CHARS:
        return keyword[:LEADING_CHARS]
    return keyword
