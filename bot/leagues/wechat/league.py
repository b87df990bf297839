"""`ChannelsLeague`: the WeChat Channels 推客 league behind the `League` protocol.

Wire → domain: a product's price is its cheapest SKU (fen); its commission is that price times the
推客 ratio (millionths, one helper: `ratio_of`); coupons come from the detail's coupon ids and their
own detail calls. Details and coupons are cached briefly; when the daily quota runs out (45009) the
league serves whatever it has cached, of any age, and says `LeagueUnavailable` only when it has
nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar, cast

from bot.leagues.answers import StoredAnswers
from bot.leagues.base import (
    Category,
    Commission,
    Coupon,
    LeagueUnavailable,
    LiveEvent,
    Order,
    Platform,
    Product,
    ProductNotFound,
    PromotionLink,
    SearchQuery,
    SharerStatus,
    Spot,
    ratio_of,
)
from bot.leagues.ranking import RankBy, rank_products
from bot.leagues.relevance import title_key
from bot.leagues.ttlcache import TtlCache
from bot.leagues.wechat.client import ChannelsClient, Json
from bot.leagues.wechat.errors import QuotaExhausted, WechatApiError
from bot.leagues.wechat.org_calls import WINDOW_LIFETIME, OrganisationCalls
from bot.leagues.wechat.values import as_int as _int
from bot.leagues.wechat.values import as_time as _ts

log = logging.getLogger(__name__)

T = TypeVar("T")
ORDER_STATUS = {20: "pending", 100: "settled", 200: "cancelled"}


KEYWORD_CANDIDATES = 6
"""Products a keyword search looks at in detail. The list carries ids only, in the league's own
relevance order, and every detail (and each of its coupons) is a call: the first six gave the same
best three as the first twelve on every keyword sampled."""
PRODUCT_LIFETIME = 3600.0
"""Seconds a product's detail is kept in the store: prices and commission change a few times a day."""
COUPON_LIFETIME = 900.0
"""Seconds a coupon's detail is kept: its remaining stock is what goes stale first."""
TITLE_LIFETIME = 86400.0
"""Seconds a title is remembered as leading to its product (`product_titled`): only a pointer, the
product's detail keeps its own lifetime and the title is checked again on every use."""


SHOWN_SPARE = 1
"""Products looked at in detail beyond those shown, when the caller says how many it shows. The best
three of the first five were those of the first six on 772 of 774 sandbox keywords and titles, and
those of the first twelve on 413 of 418 keywords (six: 414); each product dropped saves a detail
call and its coupons'. With the caller's ranking (`SearchQuery.rank_by`) the spare's coupons are not
fetched either (`ChannelsLeague._shown_completed`): four candidates so ranked gave the same best
three, in the same order, as five with every coupon fetched on 149 of 149 sandbox keywords (the most
common words of the catalogue's titles), at one detail and its coupons fewer per search."""


def candidates(query: SearchQuery) -> int:
    """How many products a search fetches in detail. Callers ask for two to four times what they
    show, to rank; a keyword search takes half that, at least `KEYWORD_CANDIDATES`, and when the
    caller says how many it shows, no more than that plus `SHOWN_SPARE` (one product shown: two
    looked at, not five). A category's featured products (the daily push, which skips recent ones)
    get all they ask for."""
    if not query.keyword:
        return query.limit
    wanted = min(query.limit, max(KEYWORD_CANDIDATES, query.limit // 2))
    if query.shown:
        wanted = min(wanted, query.shown + SHOWN_SPARE)
    return wanted


def _title_entry(data: Json) -> list[tuple[str, str, Json, float]]:
    """The store's title → product entry for a product detail (`ChannelsLeague.product_titled`)."""
    raw = data.get("product") or {}
    title = title_key(str((raw.get("product_info") or {}).get("title", "")))
    if not title or raw.get("product_id") is None:
        return []
    pointer: Json = {"product_id": str(raw.get("product_id")), "shop_appid": str(raw.get("shop_appid", ""))}
    return [("title", title, pointer, TITLE_LIFETIME)]


class ChannelsLeague(OrganisationCalls):
    name = "channels"
    platform: Platform = "channels"

    def __init__(
        self,
        client: ChannelsClient,
        *,
        mini_program_appid: str = "",
        talent_names: dict[str, str] | None = None,
        talent_finders: dict[str, str] | None = None,
        followed_talents: Sequence[str] = (),
        detail_ttl: float = 300.0,
        concurrency: int = 8,
        answers: StoredAnswers | None = None,
    ) -> None:
        self.client = client
        self.mini_program_appid = mini_program_appid
        self.talent_names = talent_names or {}
        self.talent_finders = talent_finders or {}
        self.followed_talents = tuple(followed_talents)
        """Talent appid → its openfinderid (what the window APIs name it by), where configured."""
        self._windows = TtlCache(WINDOW_LIFETIME)
        self._flows = TtlCache(float("inf"), capacity=50_000)
        """Funds flow id → its detail: a booked flow never changes (also kept in the store)."""
        self._details = TtlCache(detail_ttl)
        self._coupons = TtlCache(detail_ttl)
        self._searches = TtlCache(detail_ttl)
        self.answers = answers or StoredAnswers(None, self.name)
        """Product and coupon details kept in the store (`PRODUCT_LIFETIME`, `COUPON_LIFETIME`)."""
        self._shops = TtlCache(float("inf"), capacity=20_000)
        """product id → shop appid, for links that carry only the product id."""
        self._titles = TtlCache(TITLE_LIFETIME, capacity=10_000)
        """`title_key` of a product's title → (product id, shop appid), for `product_titled`."""
        self._gate = asyncio.Semaphore(concurrency)
        self._inflight: dict[tuple[Any, ...], asyncio.Future[Any]] = {}
        """Fetches under way by cache key: a second caller waits for the first's answer."""
        self.degraded = False

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _degradable(
        self, key: tuple[Any, ...], cache: TtlCache, fetch: Callable[[], Awaitable[T]]
    ) -> T:
        """The cached value while fresh, else one fetch per key however many callers ask at once:
        products of one shop share its coupons, and a search fetches their details side by side."""
        fresh = cache.get(key)
        if fresh is not None:
            return fresh  # type: ignore[no-any-return]
        running = self._inflight.get(key)
        if running is None:
            running = asyncio.ensure_future(self._refresh(key, cache, fetch))
            self._inflight[key] = running
            running.add_done_callback(lambda done: self._forget(key, done))
        # shielded: a caller that gives up (a member's reply timing out) does not cancel the others'
        return await asyncio.shield(running)

    def _forget(self, key: tuple[Any, ...], done: asyncio.Future[Any]) -> None:
        if self._inflight.get(key) is done:
            del self._inflight[key]

    async def _refresh(self, key: tuple[Any, ...], cache: TtlCache, fetch: Callable[[], Awaitable[T]]) -> T:
        try:
            value = await fetch()
        except QuotaExhausted:
            self.degraded = True
            stale = cache.get(key, stale_ok=True)
            if stale is not None:
                log.info("quota used up: serving %s from cache", key)
                return stale  # type: ignore[no-any-return]
            raise
        self.degraded = False
        cache.put(key, value)
        return value

    async def _kept(
        self,
        kind: str,
        key: str,
        lifetime: float,
        ask: Callable[[], Awaitable[Json]],
        index: Callable[[Json], list[tuple[str, str, Json, float]]] | None = None,
    ) -> Json:
        """The store's answer while it lasts, else the league's (then kept, with the entries `index`
        derives from it in the same write); with the quota used up, the store's answer of any age."""
        kept = await self.answers.get(kind, key)
        if kept is not None:
            return kept
        try:
            answer = await ask()
        except QuotaExhausted:
            stale = await self.answers.get(kind, key, stale_ok=True)
            if stale is None:
                raise
            self.degraded = True
            log.info("quota used up: serving %s %s from the store", kind, key)
            return stale
        await self.answers.put_many([(kind, key, answer, lifetime), *(index(answer) if index else ())])
        return answer

    # -- products ----------------------------------------------------------------------------------

    async def search(self, query: SearchQuery) -> list[Product]:
        async def fetch() -> list[Product]:
            ids: list[tuple[str, str]] = []
            next_key = ""
            wanted = candidates(query)
            while len(ids) < wanted:
                data = await self.client.product_list(
                    keyword=query.keyword,
                    category_id=query.category_id,
                    price_range=(query.min_price_fen, query.max_price_fen)
                    if query.min_price_fen is not None or query.max_price_fen is not None
                    else None,
                    next_key=next_key,
                    page_size=min(20, wanted - len(ids)),
                )
                page = data.get("product_list") or []
                ids += [(str(item.get("shop_appid", "")), str(item.get("product_id"))) for item in page]
                next_key = str(data.get("next_key") or "")
                if not page or not next_key or data.get("has_more") is False:
                    break
            if query.shown and query.rank_by and len(ids) > query.shown:
                return await self._shown_completed(ids, query)
            products = await asyncio.gather(*(self._detail_or_none(pid, shop) for shop, pid in ids))
            return [p for p in products if p is not None]

        key = (
            "search",
            query.keyword,
            query.category_id,
            query.min_price_fen,
            query.max_price_fen,
            query.limit,
            query.shown,
            query.rank_by,
        )
        return await self._degradable(key, self._searches, fetch)

    async def _shown_completed(self, ids: list[tuple[str, str]], query: SearchQuery) -> list[Product]:
        """Every candidate's detail (a call each), ranked as the caller will rank them, and the coupons
        (a call each) fetched only for the `shown` that rank first on their details: the best first,
        complete; the rest after them without coupons. A coupon only lowers a price, so completing
        the first ones keeps them first; a spare's own coupon is what this ranking does not see."""
        read = await asyncio.gather(*(self._uncompleted(pid, shop) for shop, pid in ids))
        data = {id(product): raw for product, raw in (r for r in read if r is not None)}
        ranked = rank_products(
            [r[0] for r in read if r is not None], cast(RankBy, query.rank_by), query.keyword
        )
        first = await asyncio.gather(*(self._completed(p, data[id(p)]) for p in ranked[: query.shown]))
        return [*first, *ranked[query.shown :]]

    async def _uncompleted(self, product_id: str, shop_id: str) -> tuple[Product, Json | None] | None:
        """The product as its detail says, without its coupons' details, and the detail; the full
        product (and no detail) when it is known already; None when it is not on offer."""
        known = self._details.get(("product", product_id))
        if known is not None:
            return known, None

        async def ask() -> Json:
            async with self._gate:
                return await self.client.product_detail(shop_id, product_id)

        try:
            data = await self._kept("product", product_id, PRODUCT_LIFETIME, ask, _title_entry)
            product = await self._to_product(data, coupons=False)
        except ProductNotFound:
            return None
        self._shops.put(product_id, product.shop_id)
        return product, data

    async def _completed(self, product: Product, data: Json | None) -> Product:
        """`product` with its coupons, from the detail already read (no second detail call)."""
        if data is None:
            return product

        async def fetch() -> Product:
            full = await self._to_product(data)
            self._titles.put(title_key(full.title), (full.product_id, full.shop_id))
            return full

        return await self._degradable(("product", product.product_id), self._details, fetch)

    async def _detail_or_none(self, product_id: str, shop_id: str) -> Product | None:
        try:
            return await self.product(product_id, shop_id)
        except ProductNotFound:
            return None

    async def product(self, product_id: str, shop_id: str = "") -> Product:
        shop = shop_id or self._shops.get(product_id) or ""

        async def fetch() -> Product:
            async def ask() -> Json:
                async with self._gate:
                    return await self.client.product_detail(shop, product_id)

            data = await self._kept("product", product_id, PRODUCT_LIFETIME, ask, _title_entry)
            product = await self._to_product(data)
            self._titles.put(title_key(product.title), (product.product_id, product.shop_id))
            return product

        product = await self._degradable(("product", product_id), self._details, fetch)
        self._shops.put(product_id, product.shop_id)
        return product

    async def product_titled(self, title: str) -> Product | None:
        """The product whose whole title `title` is, when this league showed it lately (its detail
        was fetched here, or before a restart), else None — found without a list call. The detail is
        read as `product` reads it (a call only once its own lifetime is over) and its title checked
        again; a product no longer on promotion is None."""
        key = title_key(title)
        if not key:
            return None
        known = self._titles.get(key)
        if known is None:
            kept = await self.answers.get("title", key)
            if kept is None:
                return None
            known = (str(kept.get("product_id", "")), str(kept.get("shop_appid", "")))
        product_id, shop = known
        try:
            product = await self.product(product_id, shop)
        except ProductNotFound:
            return None
        return product if title_key(product.title) == key else None

    async def lookup_link(self, url: str) -> Product:
        """Links this league issued are resolved by the caller's link cache; others are unknown here."""
        raise ProductNotFound(f"cannot resolve {url} without the product id")

    async def _to_product(self, data: Json, *, coupons: bool = True) -> Product:
        """`coupons`: with its coupons' details (a call each, `_coupon`); without, none listed."""
        raw = data.get("product") or {}
        info = raw.get("product_info") or {}
        skus = info.get("skus") or []
        prices = [int(s.get("sale_price", 0)) for s in skus if s.get("sale_price") is not None]
        if not prices:
            raise ProductNotFound(f"product {raw.get('product_id')} has no price")
        commission_info = raw.get("commission_info") or {}
        if int(commission_info.get("status", 1) or 1) != 1:
            raise ProductNotFound(f"product {raw.get('product_id')} is not on promotion")
        ratio = (
            commission_info.get("ratio")
            or (commission_info.get("normal_commission_info") or {}).get("ratio")
            or 0
        )
        price = min(prices)
        coupon_ids = [
            str(c.get("coupon_id"))
            for key in ("publish_coupons", "public_coupons", "cooperative_coupons")
            for c in data.get(key) or []
        ]
        found = await asyncio.gather(*(self._coupon(cid, price) for cid in coupon_ids)) if coupons else []
        cats = info.get("cats_v2") or info.get("cats") or []
        return Product(
            platform="channels",
            product_id=str(raw.get("product_id")),
            title=str(info.get("title", "")),
            price_fen=price,
            shop_id=str(raw.get("shop_appid", "")),
            shop_name=str(raw.get("shop_name") or (raw.get("head_supplier_info") or {}).get("name") or ""),
            images=tuple(str(u) for u in info.get("head_imgs") or ()),
            sales=int(raw.get("monthly_sales", 0) or 0),
            category=str(cats[0].get("cat_id", "")) if cats else "",
            commission=Commission(ratio_ppm=int(ratio), amount_fen=ratio_of(price, int(ratio))),
            coupons=tuple(c for c in found if c is not None),
            promotion_param=str(raw.get("product_promotion_link", "")),
        )

    async def _coupon(self, coupon_id: str, price_fen: int) -> Coupon | None:
        async def ask() -> Json:
            async with self._gate:
                return await self.client.coupon_detail(coupon_id)

        async def fetch() -> Json:
            return await self._kept("coupon", coupon_id, COUPON_LIFETIME, ask)

        try:
            data = await self._degradable(("coupon", coupon_id), self._coupons, fetch)
        except ProductNotFound:
            return None
        raw = data.get("coupon") or {}
        info = raw.get("coupon_info") or {}
        discount = info.get("discount_info") or {}
        condition = discount.get("discount_condition") or {}
        stock = raw.get("stock_info") or {}
        valid = info.get("valid_info") or {}
        receive = info.get("receive_info") or {}
        total = int(receive.get("total_num", stock.get("issued_num", 0)) or 0)
        remaining = max(total - int(stock.get("receive_num", 0) or 0), 0) if total else None
        fee = int(discount.get("discount_fee", 0) or 0)
        permille = int(discount.get("discount_num", 0) or 0) // 10  # 9.5折 is 9500 on the wire
        amount = fee if fee else (price_fen - price_fen * permille // 1000 if permille else 0)
        return Coupon(
            coupon_id=str(raw.get("coupon_id", coupon_id)),
            amount_fen=amount,
            threshold_fen=int(condition.get("product_price", 0) or 0),
            discount_permille=permille if not fee else 0,
            name=str(info.get("name", "")),
            valid_from=_ts(valid.get("start_time")),
            valid_until=_ts(valid.get("end_time")),
            remaining=remaining,
        )

    async def promote(self, product: Product, spot: Spot) -> PromotionLink:
        data = await self.client.promotion_link(product.shop_id, product.product_id, spot.sharer_appid)
        return PromotionLink(
            product_id=product.product_id,
            spot=spot,
            shop_id=product.shop_id,
            short_link=str(data.get("short_link", "")),
            http_short_link=str(data.get("http_short_link", "")),
            card_param=product.promotion_param,
        )

    async def featured(self, category_id: str, limit: int) -> list[Product]:
        return await self.search(SearchQuery(category_id=category_id, limit=limit))

    async def categories(self) -> list[Category]:
        data = await self.client.category_tree()
        nodes = data.get("cats_v2") or data.get("cats") or []
        return [
            Category(
                category_id=str(n.get("cat_id")),
                name=str(n.get("name", "")),
                parent_id=str(n.get("f_cat_id", "") or ""),
                level=int(n.get("level", 1) or 1),
            )
            for n in nodes
        ]

    # -- quota -------------------------------------------------------------------------------------

    async def quota(self, path: str) -> dict[str, Any]:
        """Today's call quota of one API path, as WeChat reports it (`HasDailyQuota`)."""
        return await self.client.quota(path)

    # -- sharers (推客) ----------------------------------------------------------------------------

    async def sharer_status(self, sharer_appid: str) -> SharerStatus:
        """Whether `sharer_appid` is registered as a 推客 and bound to the operator's organisation
        (the simple register flow), with its nickname and bind time once bound. Never cached: an owner
        asks again right after finishing the binding in WeChat."""
        data = await self.client.register_and_bind_status(sharer_appid, simple=True)
        status = SharerStatus(
            sharer_appid=str(data.get("sharer_appid") or sharer_appid),
            bind_status=_int(data.get("bind_status")),
            register_status=_int(data.get("register_status")),
            bind_query_string=str(data.get("bind_query_string") or ""),
            bind_business_type=str(data.get("bind_business_type") or ""),
            register_query_string=str(data.get("register_query_string") or ""),
            register_business_type=str(data.get("register_business_type") or ""),
        )
        if not status.bound:
            return status
        try:
            listed = await self.client.bound_sharer(sharer_appid)
        except WechatApiError as exc:  # the nickname is a nicety: the binding itself is known
            log.info("sharer list for %s failed: %s", sharer_appid, exc)
            listed = None
        if listed is None:
            return status
        return replace(
            status, nickname=str(listed.get("nickname") or ""), bound_at=_ts(listed.get("bind_time"))
        )

    # -- lives and orders --------------------------------------------------------------------------

    async def lives(self, talent_appids: Sequence[str], spot: Spot) -> list[LiveEvent]:
        events: list[LiveEvent] = []
        for talent in talent_appids:
            name = self.talent_names.get(talent, "")  # "" rather than an appid members cannot read
            notices = await self.client.live_notices(talent, self.mini_program_appid, spot.sharer_appid)
            for n in notices.get("live_notice_record_list") or []:
                events.append(
                    LiveEvent(
                        talent,
                        name,
                        str(n.get("notice_id")),
                        str(n.get("description", "")),
                        _ts(n.get("start_time")),
                    )
                )
            if self.mini_program_appid:
                records = await self.client.live_records(talent, self.mini_program_appid, spot.sharer_appid)
                for r in records.get("live_record_list") or []:
                    events.append(
                        LiveEvent(
                            talent,
                            name,
                            notice_id=str(r.get("export_id")),
                            description=str(r.get("description", "")),
                            start_time=None,
                            is_live=True,
                            export_id=str(r.get("export_id")),
                            share_link=str(r.get("promoter_share_link", "")),
                        )
                    )
        return events

    async def live_preview_share(self, event: LiveEvent, spot: Spot) -> str:
        """A live preview's share parameter for `spot`'s sharer (`HasLivePreviews`); "" when there is no
        mini program or sharer to make it for."""
        if not (self.mini_program_appid and spot.sharer_appid and event.notice_id) or event.is_live:
            return event.share_link
        data = await self.client.live_notice_share_link(
            event.talent_appid, self.mini_program_appid, event.notice_id, spot.sharer_appid
        )
        return str(data.get("promoter_share_link") or "")

    async def orders_since(self, since: datetime, until: datetime | None = None) -> list[Order]:
        out: list[Order] = []
        end = int(until.timestamp()) if until is not None else None
        async for item in self.client.orders(update_since=int(since.timestamp()), until=end):
            data = await self.client.order_detail(str(item.get("order_id")), str(item.get("sku_id")))
            raw = data.get("commssion_order") or data.get("commission_order") or {}
            detail = raw.get("order_detail") or {}
            product = detail.get("product_info") or {}
            sharer = (detail.get("commission_info") or {}).get("sharer_info") or {}
            created = _ts(raw.get("create_time")) or since
            out.append(
                Order(
                    order_id=str(raw.get("order_id")),
                    sku_id=str(raw.get("sku_id")),
                    product_id=str(product.get("product_id", "")),
                    title=str(product.get("title", "")),
                    paid_fen=int(product.get("actual_payment", 0) or 0),
                    commission_fen=int(sharer.get("amount", 0) or 0),
                    status=ORDER_STATUS.get(int(raw.get("status", 0) or 0), str(raw.get("status"))),
                    sharer_appid=str(sharer.get("sharer_appid", "")),
                    created_at=created,
                    updated_at=_ts(raw.get("update_time")) or created,
                )
            )
        return out


__all__ = ["ChannelsLeague", "LeagueUnavailable"]
