"""`VipLeague`: the Vipshop union (唯品会联盟) behind the `League` protocol, and the issuer of each
group's PID.

Attribution: each group gets its own PID (`chanTag`), made with `UnionPidService.genPid` the first time
the group needs a link and kept in the store (`league_spots`), plus a `statParam` naming the group;
orders carry both back (`channelTag`, `statParam`), which is how orders map to groups. The operator's
default spot has no PID: such links credit the developer's own account.

Links: a product found by search or by id is linked with `genByGoodsId`; a member's pasted vip.com link
or t.vip.com short link with `genByVIPUrl` (it takes anyone's Vipshop link). A short link names no goods:
it is converted once to learn its goods id (from the links the union returns), then read with
`getByGoodsIds`. A goods that is off the shelf or sold out is "not found" for the member; a goods the
union does not promote (no commission, unknown to `getByGoodsIds`) is "not promotable".

Degraded mode: when the gateway keeps throttling after the client's retries (`VipThrottled`) the
league stops calling for `cooldown` seconds and answers searches and goods from its caches (of any
age); with nothing cached it says `LeagueUnavailable`.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from bot.leagues.base import (
    Category,
    LeagueUnavailable,
    NotPromotable,
    Order,
    Platform,
    Product,
    ProductNotFound,
    PromotionLink,
    SearchQuery,
    Spot,
)
from bot.leagues.ttlcache import TtlCache
from bot.leagues.vip.client import SEARCH_PAGE, VipClient
from bot.leagues.vip.errors import VipGoodsGone, VipThrottled
from bot.leagues.vip.mapping import orders_from_row, product_from_goods, unavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
MIN_PAGE = 10
PASTED_KEPT = 1000
"""Pasted links remembered for their goods until the group's link is made (oldest forgotten first)."""
HOT, HIGH_COMMISSION = 1, 0
"""`goodsList` channelType: 1 出单爆款, 0 超高佣."""
GOODS_PATH = re.compile(r"/(?:detail|product)-(\d{1,15})-(\d{5,25})\.html")
"""A vip.com goods page: `/detail-<brandId>-<goodsId>.html` (desktop), `/product-…` (mobile)."""
_GOODS_PARAM = re.compile(r"(?:^|[?&])(?:goodsId|goods_id|pid|productId)=(\d{5,25})(?:$|&)")
_GONE_WHY = {"off_shelf": "已下架", "sold_out": "已售罄"}


def group_tag(group_key: str) -> str:
    """A group's `statParam`: short, stable, letters and digits only."""
    return "tk" + hashlib.blake2b(group_key.encode(), digest_size=8).hexdigest()


def goods_id_of_url(url: str) -> str:
    """The goods id a vip.com goods page URL names ("" for any other link)."""
    parts = urlsplit(url.strip() if "://" in url else "https://" + url.strip())
    host = (parts.hostname or "").lower()
    if not (host == "vip.com" or host.endswith((".vip.com", ".vipshop.com"))):
        return ""
    m = GOODS_PATH.search(parts.path)
    return m.group(2) if m else ""


def goods_id_of_links(info: dict[str, Any]) -> str:
    """The goods id a `urlInfoList` entry points at: the deeplink (`…showGoodsDetail?pid=<goodsId>`),
    the universal link or the long link (which may wrap the goods page, URL-encoded)."""
    for key in ("deeplinkUrl", "ulUrl", "longUrl", "vipWxUrl", "noEvokeLongUrl", "source"):
        text = str(info.get(key) or "")
        for _ in range(3):  # wrapped links carry the goods page URL-encoded, sometimes twice
            m = GOODS_PATH.search(text)
            if m:
                return m.group(2)
            found = _GOODS_PARAM.search(urlsplit(text).query) if "?" in text else None
            if found:
                return found.group(1)
            decoded = unquote(text)
            if decoded == text:
                break
            text = decoded
    return ""


class VipLeague:
    name = "vip"
    platform: Platform = "vip"

    def __init__(
        self,
        client: VipClient,
        *,
        cache_seconds: float = 300.0,
        cooldown: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.cooldown = cooldown
        self.clock = clock
        self._cache = TtlCache(cache_seconds, clock=clock)
        self._cool_until = 0.0
        self._pasted: dict[str, str] = {}
        """goodsId → the vip.com / t.vip.com link a member just pasted for it (converted with genByVIPUrl)."""

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- degraded mode -----------------------------------------------------------------------------

    @property
    def degraded(self) -> bool:
        return self.clock() < self._cool_until

    async def _degradable(self, key: tuple[Any, ...], fetch: Callable[[], Awaitable[T]]) -> T:
        fresh = self._cache.get(key)
        if fresh is not None:
            return fresh  # type: ignore[no-any-return]
        if self.degraded:
            stale = self._cache.get(key, stale_ok=True)
            if stale is not None:
                return stale  # type: ignore[no-any-return]
            raise LeagueUnavailable("唯品会联盟调用太频繁，正在冷却")
        try:
            value = await fetch()
        except VipThrottled:
            self._cool_until = self.clock() + self.cooldown
            log.warning("vip: throttled after retries; degraded for %.0fs", self.cooldown)
            stale = self._cache.get(key, stale_ok=True)
            if stale is not None:
                return stale  # type: ignore[no-any-return]
            raise
        self._cache.put(key, value)
        return value

    async def _live(self, fetch: Callable[[], Awaitable[T]]) -> T:
        """A call that has nothing cached to fall back on (links): refused while cooling down."""
        if self.degraded:
            raise LeagueUnavailable("唯品会联盟调用太频繁，正在冷却")
        try:
            return await fetch()
        except VipThrottled:
            self._cool_until = self.clock() + self.cooldown
            log.warning("vip: throttled after retries; degraded for %.0fs", self.cooldown)
            raise

    # -- products ----------------------------------------------------------------------------------

    async def search(self, query: SearchQuery) -> list[Product]:
        """Products for a keyword; with none (a push asking for picks), the curated lists."""
        if not query.keyword.strip():
            picks = await self.featured(query.category_id, query.limit * 2)
            return [p for p in picks if query.admits_price(p.final_price_fen)][: query.limit]

        async def fetch() -> tuple[Product, ...]:
            products: list[Product] = []
            page = 1
            size = min(SEARCH_PAGE, max(MIN_PAGE, query.limit * 2))  # a margin for goods filtered out
            while len(products) < query.limit:
                data = await self.client.goods_query(
                    query.keyword,
                    page=page,
                    page_size=size,
                    price_start=_yuan(query.min_price_fen),
                    price_end=_yuan(query.max_price_fen),
                )
                goods = [g for g in data.get("goodsInfoList") or [] if isinstance(g, dict)]
                for g in goods:
                    p = product_from_goods(g)
                    if not unavailable(g) and query.admits_price(p.final_price_fen):
                        products.append(p)
                        self._cache.put(("goods", p.product_id), p)
                if len(goods) < size or page * size >= int(data.get("total") or 0):
                    break
                page += 1
            return tuple(products[: query.limit])

        return list(await self._degradable(("search", query), fetch))

    async def product(self, product_id: str, shop_id: str = "") -> Product:
        """By goodsId (digits)."""
        goods_id = product_id.strip()
        if not goods_id.isdigit():
            raise ProductNotFound(f"唯品会的商品 id 是数字：{product_id!r}")

        async def fetch() -> Product:
            found = await self.client.goods_by_ids([goods_id])
            goods = next((g for g in found if str(g.get("goodsId")) == goods_id), None)
            if goods is None:
                raise NotPromotable("not_alliance", f"唯品会商品 {goods_id} 不在唯品会联盟推广中")
            why = unavailable(goods)
            if why == "not_alliance":
                raise NotPromotable("not_alliance", f"唯品会商品 {goods_id} 没有佣金")
            if why:
                raise VipGoodsGone(f"唯品会商品 {goods_id} {_GONE_WHY[why]}")
            return product_from_goods(goods)

        return await self._degradable(("goods", goods_id), fetch)

    async def lookup_link(self, url: str) -> Product:
        """A pasted vip.com goods page or t.vip.com short link (anyone's) → the goods; the link is
        kept so the group's link is made from it (`genByVIPUrl`)."""
        text = url.strip()
        goods_id = goods_id_of_url(text)
        if not goods_id:
            try:
                infos = await self._live(lambda: self.client.links_by_urls([text]))
            except VipGoodsGone as exc:
                raise NotPromotable("code_unresolved", str(exc)) from None
            goods_id = goods_id_of_links(infos[0]) if infos else ""
            if not goods_id:
                raise NotPromotable(
                    "code_unresolved", f"唯品会链接读不出商品（可能已失效或不是商品页）：{text}"
                )
        product = await self.product(goods_id)
        self._pasted.pop(product.product_id, None)
        self._pasted[product.product_id] = text
        while len(self._pasted) > PASTED_KEPT:  # links found in the store's cache are never promoted here
            self._pasted.pop(next(iter(self._pasted)))
        return product

    async def promote(self, product: Product, spot: Spot) -> PromotionLink:
        pasted = self._pasted.pop(product.product_id, "")  # once: the link that was just pasted

        async def make() -> list[dict[str, Any]]:
            if pasted:
                return await self.client.links_by_urls([pasted], chan_tag=spot.pid, stat_param=spot.tag)
            return await self.client.links_by_goods_ids(
                [product.product_id], chan_tag=spot.pid, stat_param=spot.tag
            )

        try:
            infos = await self._live(make)
        except VipGoodsGone as exc:
            raise NotPromotable("not_alliance", str(exc)) from None
        info = infos[0] if infos else {}
        url = str(info.get("url") or info.get("noEvokeUrl") or info.get("longUrl") or "")
        if not url:
            raise NotPromotable("not_alliance", f"唯品会联盟没有给商品 {product.product_id} 生成链接")
        return PromotionLink(
            product_id=product.product_id, spot=spot, shop_id=product.shop_id, http_short_link=url
        )

    async def featured(self, category_id: str, limit: int) -> list[Product]:
        """Pushes draw from 出单爆款, then 超高佣; the category is the union's first-level `cat1stId`."""

        async def fetch() -> tuple[Product, ...]:
            out: list[Product] = []
            for channel in (HOT, HIGH_COMMISSION):
                data = await self.client.goods_list(channel, page_size=max(20, min(limit * 2, 100)))
                for g in data.get("goodsInfoList") or []:
                    if not isinstance(g, dict) or unavailable(g):
                        continue
                    p = product_from_goods(g)
                    fits = not category_id or p.category == category_id
                    if fits and all(q.product_id != p.product_id for q in out):
                        out.append(p)
                if len(out) >= limit:
                    break
            return tuple(out[:limit])

        return list(await self._degradable(("featured", category_id, limit), fetch))

    async def categories(self) -> list[Category]:
        """The union has no category API; goods carry their `cat1stId` (see `featured`)."""
        return []

    # -- orders and identities ---------------------------------------------------------------------

    async def orders_since(self, since: datetime, until: datetime | None = None) -> list[Order]:
        """Orders (one per goods line) updated since `since`, refunds and voids included."""
        out: list[Order] = []
        async for row in self.client.orders(since, until or datetime.now(UTC)):
            out.extend(orders_from_row(row))
        return out

    async def choose_identity(self, group_key: str, taken: set[tuple[str, str]]) -> tuple[str, str]:
        """A new PID for the group (made once: the caller keeps it) and its `statParam`."""
        return await self.choose_named_identity(group_key, "", taken)

    async def choose_named_identity(
        self, group_key: str, group_name: str, taken: set[tuple[str, str]]
    ) -> tuple[str, str]:
        """As `choose_identity`, the PID named after the group so the union's console shows whose it is."""
        tag = group_tag(group_key)
        name = f"{group_name[:31]} {tag}" if group_name else f"tuike {tag}"
        made = await self._live(lambda: self.client.gen_pids([name]))
        usable = [p for p in made if p.get("pid") and str(p.get("status", 1)) == "1"]
        if not usable:
            raise LeagueUnavailable(f"唯品会联盟没有生成推广位 (genPid: {made!r})")
        pid = str(usable[0]["pid"])
        if (pid, tag) in taken:  # never two groups on one identity, whatever the gateway says
            raise LeagueUnavailable(f"唯品会联盟给出了已在用的推广位 {pid}")
        return pid, tag


def _yuan(fen: int | None) -> str:
    return "" if fen is None else f"{fen // 100}.{fen % 100:02d}"
