"""`YouzanShop`: the operator's Youzan shop behind the `League` protocol, and the issuer of each
group's salesman (销售员).

Attribution: each group gets a salesman of its own, a 自有粉丝 id derived from the group and made a
salesman with `youzan.salesman.account.add` the first time the group needs a link, kept in the store
(`league_spots`: pid = the fans id, tag = the group's tag). A group's links are that salesman's binding
links (`youzan.salesman.promotion.create`), so an order through them is credited to that salesman; order
sync reads each kept salesman's trades (`youzan.salesman.trades.get`), which is how orders map to groups.
The operator's default spot has no salesman: such links are the item's own page (no attribution).

A shop is a league that sells its own goods: a product's commission is the operator's margin
(`margin_percent`, 0 by default); a trade carries what the shop pays the salesman (`cps_money`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import Engine

from bot.leagues.base import (
    Category,
    LeagueUnavailable,
    Order,
    Platform,
    Product,
    ProductNotFound,
    PromotionLink,
    SearchQuery,
    Spot,
)
from bot.leagues.shop_search import cached_search
from bot.leagues.ttlcache import TtlCache
from bot.leagues.youzan.client import YouzanClient
from bot.leagues.youzan.errors import SalesmanMissing, YouzanGone, YouzanUnavailable
from bot.leagues.youzan.mapping import (
    fans_id_of,
    group_tag,
    item_url,
    on_sale,
    orders_from_trade,
    product_from_item,
)

log = logging.getLogger(__name__)

ALIAS = re.compile(r"/v2/goods/([A-Za-z0-9]{4,40})/?$")
"""An item page: `h5.youzan.com/v2/goods/<alias>` (also `shop<kdt>.m.youzan.com`, `h5.koudaitong.com`)."""


def alias_of_url(url: str) -> str:
    parts = urlsplit(url.strip() if "://" in url else "https://" + url.strip())
    m = ALIAS.search(parts.path)
    return m.group(1) if m else ""


class YouzanShop:
    name = "youzan"
    platform: Platform = "youzan"

    def __init__(
        self,
        client: YouzanClient,
        *,
        margin_ppm: int = 0,
        engine: Engine | None = None,
        cache_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.margin_ppm = margin_ppm
        self.engine = engine
        self._cache = TtlCache(cache_seconds, clock=clock)
        self._made: set[tuple[str, str]] = set()
        """Salesmen made by this process (order sync reads them even without a store)."""

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- products ------------------------------------------------------------------------------------

    async def search(self, query: SearchQuery) -> list[Product]:
        """The shop's items on sale matching the keyword (newest first with none: a push's picks)."""
        key = ("search", query.keyword.strip(), query.limit, query.min_price_fen, query.max_price_fen)

        async def fetch() -> list[Product]:
            items, _total = await self.client.search_items(
                query.keyword.strip(), page_size=max(query.limit * 2, 10)
            )
            return [product_from_item(item, self.margin_ppm) for item in items if on_sale(item)]

        return await cached_search(
            self._cache,
            key,
            query,
            fetch,
            unavailable=YouzanUnavailable,
            product_key="item",
            degraded="youzan: unavailable",
        )

    async def product(self, product_id: str, shop_id: str = "") -> Product:
        """By item id (digits) or by the alias of its link."""
        ident = product_id.strip()
        hit = self._cache.get(("item", ident))
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        if ident.isdigit():
            item = await self.client.item(item_id=ident)
        elif ident:
            item = await self.client.item(alias=ident)
        else:
            raise ProductNotFound("有赞商品 id 是空的")
        if not on_sale(item):
            raise YouzanGone(f"有赞店铺的商品 {ident} 已下架或售罄")
        p = product_from_item(item, self.margin_ppm)
        self._cache.put(("item", p.product_id), p)
        return p

    async def lookup_link(self, url: str) -> Product:
        """A pasted item page of the shop (`/v2/goods/<alias>`); a shop's home page is no product."""
        alias = alias_of_url(url)
        if not alias:
            raise ProductNotFound(f"这不是有赞的商品页：{url}")
        return await self.product(alias)

    async def promote(self, product: Product, spot: Spot) -> PromotionLink:
        """The group's salesman's binding link; the item's own page for the operator's default spot."""
        if not spot.pid.isdigit():
            url = product.promotion_param or item_url(product.shop_id)
        else:
            fans_id = int(spot.pid)
            try:
                url = await self.client.promotion_link(fans_id, product.product_id, product.shop_id)
            except SalesmanMissing:  # removed in the shop's back office (or a sandbox restarted): again
                log.info("youzan: salesman %s is gone; making it again", fans_id)
                await self.client.add_salesman(fans_id)
                url = await self.client.promotion_link(fans_id, product.product_id, product.shop_id)
            if not url:
                raise LeagueUnavailable(f"有赞云没有给商品 {product.product_id} 生成销售员链接")
        return PromotionLink(
            product_id=product.product_id, spot=spot, shop_id=product.shop_id, http_short_link=url
        )

    async def featured(self, category_id: str, limit: int) -> list[Product]:
        """Pushes draw from the shop's newest items on sale (the shop's own groups are not categories)."""
        return await self.search(SearchQuery(limit=limit))

    async def categories(self) -> list[Category]:
        return []

    # -- salesmen and orders -------------------------------------------------------------------------

    async def choose_identity(self, group_key: str, taken: set[tuple[str, str]]) -> tuple[str, str]:
        """The group's salesman, made once (the caller keeps it): (fans id, group tag)."""
        fans_id = fans_id_of(group_key)
        pid, tag = str(fans_id), group_tag(group_key)
        if any(held == pid for held, _ in taken):
            raise LeagueUnavailable(f"有赞销售员 {fans_id} 已被别的群占用")
        await self.client.add_salesman(fans_id)
        self._made.add((pid, tag))
        return pid, tag

    def salesmen(self) -> set[tuple[str, str]]:
        """Every group's salesman: those kept in the store and those made here."""
        kept: set[tuple[str, str]] = set()
        if self.engine is not None:
            from bot.store.spots import taken_identities

            kept = taken_identities(self.engine, self.name)
        return {(pid, tag) for pid, tag in kept | self._made if pid.isdigit()}

    async def orders_since(self, since: datetime, until: datetime | None = None) -> list[Order]:
        """Each group's salesman's orders created from `since` to `until` (now)."""
        end = until or datetime.now(UTC)
        out: list[Order] = []
        for pid, tag in sorted(await asyncio.to_thread(self.salesmen)):
            try:
                rows = await self.client.salesman_trades(
                    int(pid), int(since.timestamp()), int(end.timestamp())
                )
            except SalesmanMissing:  # no longer a salesman: no new orders through it
                log.info("youzan: salesman %s is gone; no orders read for it", pid)
                continue
            for row in rows:
                out.extend(orders_from_trade(row, pid, tag))
        return out

    async def refresh_orders(self, order_ids: list[str]) -> list[Order]:
        """Open orders read again (the sync asks after each run: a trade is listed by creation time, so
        its payment, settlement or closing shows only here): per salesman, one read from its oldest open
        order to now, kept to the orders asked for."""
        if self.engine is None or not order_ids:
            return []
        held = await asyncio.to_thread(_open_orders, self.engine, self.name, order_ids)
        wanted = set(order_ids)
        out: list[Order] = []
        now = int(datetime.now(UTC).timestamp())
        for (pid, tag), oldest in sorted(held.items()):
            if not pid.isdigit():
                continue
            start = int(oldest.timestamp()) - 1
            try:
                rows = await self.client.salesman_trades(int(pid), start, max(now, start + 86_400))
            except SalesmanMissing:
                continue
            for row in rows:
                if str(row.get("order_no") or "") in wanted:
                    out.extend(orders_from_trade(row, pid, tag))
        return out


def _open_orders(engine: Engine, league: str, order_ids: list[str]) -> dict[tuple[str, str], datetime]:
    """(salesman, tag) → the creation time of its oldest order among `order_ids`."""
    from sqlmodel import Session, col, select

    from bot.store.models import OrderRow

    oldest: dict[tuple[str, str], datetime] = {}
    with Session(engine) as session:
        rows = session.exec(
            select(OrderRow.pid, OrderRow.tag, OrderRow.created_at)
            .where(OrderRow.league == league)
            .where(col(OrderRow.order_id).in_(order_ids))
        )
        for pid, tag, created in rows:
            moment = created if created.tzinfo else created.replace(tzinfo=UTC)
            key = (pid, tag)
            oldest[key] = min(oldest.get(key, moment), moment)
    return oldest
