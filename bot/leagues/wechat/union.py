"""The WeChat mini-program union (小程序联盟 推客): client, spots and the `League` mapping.

Wire facts (../shared/reference/league-apis.md §2): `/union/promoter/*` under the same base URL and
token endpoints as Channels, but with the promoter account's own appid/secret; camelCase fields; list
endpoints are GET with every parameter in the query string, offset pages (`from`/`limit`,
`start`/`limit`) and numbered pages for orders (`page` from 1); commission ratios in 1/10000; prices
in fen, except order amounts, which are display strings ("¥0.20", "-" while pending) turned into fen by
`display_fen` and nowhere else.

Promotion spots (推广位, `pid`) are how orders map back to groups: each group gets its own on first use,
named after the group, created exactly once however many messages race for it. The account allows
about 100 (`promotionMaxCnt`); one is kept for a shared default spot, so when the rest run out the
operator is told and further groups share the default, still told apart by `customizeInfo` (the
spot's `tag`), which the union echoes back in orders. A group never fails for want of a spot.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from bot.leagues.base import (
    Category,
    Commission,
    Coupon,
    LeagueConfigError,
    LiveEvent,
    Order,
    Platform,
    Product,
    ProductNotFound,
    PromotionLink,
    SearchQuery,
    Spot,
)
from bot.leagues.ttlcache import TtlCache
from bot.leagues.wechat.client import Json, WechatApi
from bot.leagues.wechat.errors import QuotaExhausted, WechatApiError

log = logging.getLogger(__name__)

T = TypeVar("T")

UNION = "/union/promoter/"
LIST_LIMIT = 50
"""Most products one `product/list` or `product/select` page returns (doc: ≤ 50)."""
SPOT_LIST_LIMIT = 100
SPOT_NAME_MAX = 20
"""推广位名称最长 20 个字, and names must be unique on the account."""
SPOTS_FULL = 14005
SPOT_NAME_TAKEN = 14007
DEFAULT_SPOT_NAME = "推客默认推广位"
ORDER_INFO_BATCH = 20
"""Order ids per `order/info` call [U: the doc gives no limit]."""
ORDER_STATUS = {
    "SETTLEMENT_PENDING": "pending",
    "SETTLEMENT_SUCCESS": "settled",
    "SETTLEMENT_CANCELED": "cancelled",
}


# ---- money ---------------------------------------------------------------------------------------


class AmountFormatError(ValueError):
    """An order amount in a form we do not know; the order is kept and the operator told."""


_AMOUNT = re.compile(r"^(?:[¥￥]|RMB|CNY)?\s*(-?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?\s*元?$")


def display_fen(value: Any) -> int | None:
    """A union order amount in fen: "¥0.20" → 20, "¥0" → 0, "￥1,299.00" → 129900; "-" (pending) → None.

    A JSON number is taken as fen already [U: the docs say display strings; SKIT types them int].
    Anything else raises `AmountFormatError` rather than guess: no float ever touches the amount.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise AmountFormatError(f"amount {value!r}")
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        raise AmountFormatError(f"amount {value!r}")
    text = value.strip()
    if text in ("", "-", "--", "—"):
        return None
    m = _AMOUNT.match(text)
    if m is None:
        raise AmountFormatError(f"amount {value!r}")
    sign, whole, frac = m.groups()
    fen = int(whole.replace(",", "")) * 100 + int(((frac or "") + "00")[:2])
    return -fen if sign else fen


def ratio_ppm(ratio_1e4: Any) -> int:
    """The union's 1/10000 commission ratio in the domain's parts per million."""
    try:
        return max(int(ratio_1e4 or 0), 0) * 100
    except (TypeError, ValueError):
        return 0


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _ts(value: Any) -> datetime | None:
    seconds = _int(value)
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None


def _query(**params: Any) -> dict[str, str]:
    """GET parameters as the union wants them: omitted when unset, lists comma-joined, ints as text."""
    out: dict[str, str] = {}
    for name, value in params.items():
        if value is None or value == "" or value == ():
            continue
        if isinstance(value, list | tuple):
            value = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = int(value)
        out[name] = str(value)
    return out


# ---- client --------------------------------------------------------------------------------------


class UnionClient(WechatApi):
    """The `/union/promoter/*` endpoints; returns decoded JSON (wire field names)."""

    league = "union"

    async def categories(self) -> Json:
        return await self.call(UNION + "product/category", method="GET")

    async def product_list(
        self,
        *,
        query: str = "",
        offset: int = 0,
        limit: int = 20,
        category_id: str = "",
        min_price: int | None = None,
        max_price: int | None = None,
        min_commission_ratio: int | None = None,
        has_coupon: bool | None = None,
        shop_appids: Sequence[str] = (),
        product_ids: Sequence[str] = (),
        sort_type: int | None = None,
    ) -> Json:
        params = _query(
            **{"from": max(offset, 0)},
            limit=min(max(limit, 1), LIST_LIMIT),
            query=query,
            queryType=0 if query else None,
            categoryId=category_id,
            minPrice=min_price,
            maxPrice=max_price,
            minCommissionRatio=min_commission_ratio,
            hasCoupon=has_coupon,
            shopAppIds=tuple(shop_appids),
            productId=tuple(product_ids),
            sortType=sort_type,
        )
        return await self.call(UNION + "product/list", method="GET", query=params)

    async def product_select(
        self,
        *,
        offset: int = 0,
        limit: int = 20,
        category_id: str = "",
        min_price: int | None = None,
        max_price: int | None = None,
        has_coupon: bool | None = None,
        sort_type: int | None = None,
    ) -> Json:
        """联盟精选: like `product_list` without a keyword."""
        params = _query(
            **{"from": max(offset, 0)},
            limit=min(max(limit, 1), LIST_LIMIT),
            categoryId=category_id,
            minPrice=min_price,
            maxPrice=max_price,
            hasCoupon=has_coupon,
            sortType=sort_type,
        )
        return await self.call(UNION + "product/select", method="GET", query=params)

    async def generate(self, pid: str, products: Iterable[tuple[str, str, str]]) -> Json:
        """Promotion material for (productId, shop appId, customizeInfo) triples on spot `pid`."""
        items = [
            {"productId": pid_, "appId": appid, **({"customizeInfo": tag} if tag else {})}
            for pid_, appid, tag in products
        ]
        return await self.call(UNION + "product/generate", {"pid": pid, "productList": items})

    async def spot_add(self, name: str) -> Json:
        return await self.call(UNION + "promotion/add", {"promotionSourceName": name})

    async def spot_list(self, start: int = 0, limit: int = SPOT_LIST_LIMIT) -> Json:
        return await self.call(UNION + "promotion/list", method="GET", query=_query(start=start, limit=limit))

    async def spot_delete(self, pid: str, name: str) -> Json:
        body = {"promotionSourcePid": pid, "promotionSourceName": name}
        return await self.call(UNION + "promotion/del", body)

    async def spot_rename(self, pid: str, old_name: str, new_name: str) -> Json:
        body = {
            "previousPromotionInfo": {"promotionSourcePid": pid, "promotionSourceName": old_name},
            "promotionInfo": {"promotionSourceName": new_name},
        }
        return await self.call(UNION + "promotion/upd", body)

    async def order_search(
        self, page: int, start: int | None = None, end: int | None = None, commission_status: str = ""
    ) -> Json:
        params = _query(
            page=max(page, 1),
            startTimestamp=start,
            endTimestamp=end,
            commissionStatus=commission_status,
        )
        return await self.call(UNION + "order/search", method="GET", query=params)

    async def order_info(self, order_ids: Sequence[str]) -> Json:
        return await self.call(UNION + "order/info", {"orderIdList": [str(o) for o in order_ids]})


# ---- spots ---------------------------------------------------------------------------------------


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


def _coupon(info: Json, price_fen: int) -> Coupon | None:
    if not _int(info.get("hasCoupon")):
        return None
    detail = info.get("couponDetail") or {}
    discount = detail.get("discountInfo") or {}
    condition = discount.get("discountCondition") or {}
    valid = detail.get("validInfo") or {}
    fee = _int(discount.get("discountFee"))
    permille = _int(discount.get("discountNum")) // 10  # 9.5折 is 9500 on the wire [U: as Channels]
    amount = fee if fee else (price_fen - price_fen * permille // 1000 if permille else 0)
    rest = detail.get("restNum")
    return Coupon(
        coupon_id=str(info.get("couponId", "")),
        amount_fen=amount,
        threshold_fen=_int(condition.get("productPrice")),
        discount_permille=permille if not fee else 0,
        valid_from=_ts(valid.get("startTime")),
        valid_until=_ts(valid.get("endTime")),
        remaining=_int(rest) if rest is not None else None,
    )


def to_product(item: Json) -> Product:
    """One `productList[]` element as a domain product; raises ProductNotFound when it cannot be sold."""
    raw = item.get("product") or {}
    info = raw.get("info") or {}
    product_id = str(item.get("productId") or raw.get("productId") or "")
    prices = [
        _int((s.get("productSkuInfo") or {}).get("salePrice"), -1)
        for s in raw.get("skus") or []
        if (s.get("productSkuInfo") or {}).get("salePrice") is not None
    ]
    price = _int(info.get("minPrice"), -1)
    if price < 0:
        price = min((p for p in prices if p >= 0), default=-1)
    if price < 0 or not product_id:
        raise ProductNotFound(f"union product {product_id or '?'} has no price")
    ex = item.get("leagueExInfo") or {}
    ratio = ratio_ppm(ex.get("commissionRatio"))
    value = ex.get("commissionValue")
    amount = _int(value) if value is not None else price * ratio // 1_000_000
    shop = item.get("shopInfo") or {}
    cats = info.get("category") or []
    coupon = _coupon(item.get("couponInfo") or {}, price)
    return Product(
        platform="union",
        product_id=product_id,
        title=str(info.get("title", "")),
        price_fen=price,
        shop_id=str(shop.get("appId") or item.get("appId") or ""),
        shop_name=str(shop.get("name", "")),
        images=tuple(str(u) for u in info.get("headImg") or ()),
        sales=_int(info.get("totalSoldNum")),
        category=str(cats[0].get("catId", "")) if cats else "",
        commission=Commission(ratio_ppm=ratio, amount_fen=amount if _int(ex.get("hasCommission", 1)) else 0),
        coupons=(coupon,) if coupon else (),
    )


class UnionLeague:
    name = "union"
    platform: Platform = "union"

    def __init__(
        self,
        client: UnionClient,
        *,
        spots: UnionSpots | None = None,
        ttl: float = 300.0,
        order_window: timedelta = timedelta(days=1),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.spots = spots or UnionSpots(client)
        self.order_window = order_window
        self.clock = clock
        self._searches = TtlCache(ttl)
        self._details = TtlCache(ttl)
        self._cats = TtlCache(ttl * 12)
        self._moved: dict[str, str] = {}
        """Stored pid → the pid used instead, for spots deleted from the account."""
        self._issued: dict[str, tuple[str, str]] = {}
        """promotionUrl → (productId, shop appid) for links this process made."""
        self.degraded = False
        self.unparsed_amounts = 0
        """Order amounts in a form `display_fen` refused (the orders are kept; the operator is told)."""

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _degradable(
        self, key: tuple[Any, ...], cache: TtlCache, fetch: Callable[[], Awaitable[T]]
    ) -> T:
        """Fresh cache, else the league; when the quota is gone, a stale cache entry of any age."""
        fresh = cache.get(key)
        if fresh is not None:
            return fresh  # type: ignore[no-any-return]
        try:
            value = await fetch()
        except QuotaExhausted:
            self.degraded = True
            stale = cache.get(key, stale_ok=True)
            if stale is not None:
                log.info("union quota used up: serving %s from cache", key)
                return stale  # type: ignore[no-any-return]
            raise
        self.degraded = False
        cache.put(key, value)
        return value

    def _products(self, data: Json) -> list[Product]:
        out = []
        for item in data.get("productList") or []:
            try:
                product = to_product(item)
            except ProductNotFound as exc:
                log.info("skipping %s", exc)
                continue
            self._details.put(("product", product.product_id), product)
            out.append(product)
        return out

    async def _paged(self, fetch: Callable[[int, int], Awaitable[Json]], limit: int) -> list[Product]:
        products: list[Product] = []
        offset = 0
        while len(products) < limit:
            want = min(LIST_LIMIT, limit - len(products))
            data = await fetch(offset, want)
            page = data.get("productList") or []
            products += self._products(data)
            offset += len(page)
            if len(page) < want or offset >= _int(data.get("total"), offset + 1):
                break
        return products[:limit]

    async def search(self, query: SearchQuery) -> list[Product]:
        """Products for a keyword; with no keyword and no filter, the union's own picks (联盟精选)."""
        unfiltered = query.min_price_fen is None and query.max_price_fen is None
        if not query.keyword and unfiltered:
            return await self.featured(query.category_id, query.limit)

        def page(offset: int, limit: int) -> Awaitable[Json]:
            return self.client.product_list(
                query=query.keyword,
                offset=offset,
                limit=limit,
                category_id=query.category_id,
                min_price=query.min_price_fen,
                max_price=query.max_price_fen,
            )

        key = (
            "search",
            query.keyword,
            query.category_id,
            query.min_price_fen,
            query.max_price_fen,
            query.limit,
        )
        return await self._degradable(key, self._searches, lambda: self._paged(page, query.limit))

    async def featured(self, category_id: str, limit: int) -> list[Product]:
        """联盟精选 for daily pushes, per category (a union catId, or a category name such as "食品生鲜")."""
        if category_id:
            cats = await self.categories()
            if all(c.category_id != category_id for c in cats):
                category_id = next((c.category_id for c in cats if c.name == category_id), category_id)

        def page(offset: int, size: int) -> Awaitable[Json]:
            return self.client.product_select(offset=offset, limit=size, category_id=category_id)

        key = ("select", category_id, limit)
        return await self._degradable(key, self._searches, lambda: self._paged(page, limit))

    async def product(self, product_id: str, shop_id: str = "") -> Product:
        async def fetch() -> Product:
            data = await self.client.product_list(
                product_ids=(product_id,), shop_appids=(shop_id,) if shop_id else (), limit=1
            )
            found = [p for p in self._products(data) if p.product_id == product_id]
            if not found:
                raise ProductNotFound(f"union product {product_id} is not in the union (removed or unknown)")
            return found[0]

        return await self._degradable(("product", product_id), self._details, fetch)

    async def lookup_link(self, url: str) -> Product:
        """A promotionUrl this process issued; others cannot be resolved (the union has no such API)."""
        hit = self._issued.get(url.strip().rstrip("/"))
        if hit is None:
            raise ProductNotFound(f"cannot resolve {url}: not a link this bot issued")
        return await self.product(*hit)

    async def _generate(self, product: Product, spot: Spot) -> tuple[Json, str]:
        """Material (and the pid used) on the spot's pid; a spot deleted from the account is replaced."""
        pid = self._moved.get(spot.pid, spot.pid) or (await self.spots.default()).pid
        try:
            return await self.client.generate(pid, [(product.product_id, product.shop_id, spot.tag)]), pid
        except WechatApiError:
            if await self.spots.exists(pid):
                raise
        replacement = await (self.spots.for_tag(spot.tag) if spot.tag else self.spots.default())
        self._moved[spot.pid] = replacement.pid
        await self.spots.tell(
            f"小程序联盟推广位 {pid} 已不在账号里（后台删了？）：这个群改用推广位 {replacement.pid}，"
            f"订单仍按 customizeInfo={spot.tag or '-'} 归群"
        )
        items = [(product.product_id, product.shop_id, spot.tag)]
        return await self.client.generate(replacement.pid, items), replacement.pid

    async def promote(self, product: Product, spot: Spot) -> PromotionLink:
        data, pid = await self._generate(product, spot)
        spot = Spot(league="union", pid=pid, tag=spot.tag)
        item = next(
            (
                i
                for i in data.get("list") or []
                if str((i.get("productInfo") or {}).get("productId", product.product_id))
                == product.product_id
            ),
            None,
        )
        share = (item or {}).get("shareInfo") or {}
        url = str(share.get("promotionUrl") or "")
        if not url:
            raise ProductNotFound(f"union product {product.product_id} has no promotion material (removed?)")
        appid = str(share.get("appId") or product.shop_id)
        self._issued[url.rstrip("/")] = (product.product_id, appid)
        return PromotionLink(
            product_id=product.product_id,
            spot=spot,
            shop_id=appid,
            http_short_link=url,
            short_link=str(share.get("couponPromotionUrl") or ""),
            qrcode_url=str(share.get("wxaCode") or ""),
            mini_path=str(share.get("path") or ""),
            card_param=str(share.get("promotionWording") or ""),
        )

    async def categories(self) -> list[Category]:
        async def fetch() -> list[Category]:
            data = await self.client.categories()
            return [
                Category(category_id=str(c.get("catId", "")), name=str(c.get("name", "")))
                for c in data.get("productCats") or []
            ]

        return await self._degradable(("categories",), self._cats, fetch)

    def set_operator_notice(self, notify: OperatorNotice) -> None:
        """Where spot trouble (limit reached, a spot deleted) is told; the app passes its admin-chat notice."""
        self.spots.notify = notify

    # -- per-group identity (SpotIssuer) -----------------------------------------------------------------

    async def choose_identity(self, group_key: str, taken: set[tuple[str, str]]) -> tuple[str, str]:
        return await self.choose_named_identity(group_key, "", taken)

    async def choose_named_identity(
        self, group_key: str, group_name: str, taken: set[tuple[str, str]]
    ) -> tuple[str, str]:
        """The group's (pid, tag): its own spot, named after the group; the shared default beyond the limit.

        The caller keeps the answer per group; `taken` only matters if two group keys hash to one tag.
        """
        key = group_key
        for attempt in range(1, 5):
            spot = await self.spots.for_group(key, group_name or group_key)
            if (spot.pid, spot.tag) not in taken:
                return spot.pid, spot.tag
            key = f"{group_key}#{attempt}"
        raise LeagueConfigError(f"no free union identity for group {group_key}")  # 2^-128 territory

    async def lives(self, talent_appids: Sequence[str], spot: Spot) -> list[LiveEvent]:
        return []  # the union has no live-stream API

    # -- orders ----------------------------------------------------------------------------------------

    def _orders(self, data: Json) -> list[Order]:
        """One domain order per product line; amounts through `display_fen`, odd ones kept and reported."""
        out: list[Order] = []
        for raw in data.get("orderList") or []:
            order_id = str(raw.get("orderId", ""))
            paid_at = _ts(raw.get("payTime")) or self.clock()
            for line in raw.get("productList") or []:
                promotion = line.get("promotionInfo") or {}
                paid = self._amount(order_id, "price", line.get("price"))
                commission = self._amount(order_id, "commission", line.get("commission"))
                if commission is None:  # "-" while pending (or unreadable): the union's estimate, in fen
                    commission = _int(line.get("estimatedCommission"))
                updated = _ts(line.get("commissionStatusUpdateTime")) or paid_at
                status = str(line.get("commissionStatus", ""))
                out.append(
                    Order(
                        order_id=order_id,
                        sku_id=str(line.get("skuId", "")),
                        product_id=str(line.get("productId", "")),
                        title=str(line.get("title", "")),
                        paid_fen=paid or 0,
                        commission_fen=commission,
                        status=ORDER_STATUS.get(status, status.lower() or "unknown"),
                        sharer_appid="",
                        created_at=paid_at,
                        updated_at=updated,
                        pid=str(promotion.get("promotionSourcePid", "")),
                        tag=str(line.get("customizeInfo") or raw.get("customizeInfo") or ""),
                    )
                )
        return out

    def _amount(self, order_id: str, name: str, value: Any) -> int | None:
        try:
            return display_fen(value)
        except AmountFormatError:
            self.unparsed_amounts += 1
            log.warning(
                "联盟订单 %s 的 %s 格式看不懂 (%r)：订单照常记下，佣金按联盟预估记，请人工核对",
                order_id,
                name,
                value,
            )
            return None

    async def orders_between(self, start: datetime, end: datetime) -> list[Order]:
        """Orders paid in [start, end), window by window, every page of each."""
        out: list[Order] = []
        low = start
        while low < end:
            high = min(low + self.order_window, end)
            first = int(low.timestamp())
            last = max(int(high.timestamp()) - 1, first)  # whole seconds: a window within one reads it
            page = 1
            while True:
                data = await self.client.order_search(page, first, last)
                rows = data.get("orderList") or []
                out += self._orders(data)
                size = _int(data.get("pageSize"), len(rows)) or len(rows)
                if not rows or page * size >= _int(data.get("totalNum"), 0):
                    break
                page += 1
            low = high
        return out

    async def orders_since(self, since: datetime, until: datetime | None = None) -> list[Order]:
        """Orders paid in [since, until) (until: now). The union finds orders by payment time only, so
        a later settlement or refund is read with `refresh_orders` (the order sync does, for the
        orders it holds open)."""
        return await self.orders_between(since, until or self.clock() + timedelta(seconds=1))

    async def refresh_orders(self, order_ids: Sequence[str]) -> list[Order]:
        """Current state of known orders (`order/info`), in batches."""
        out: list[Order] = []
        ids = list(dict.fromkeys(order_ids))
        for i in range(0, len(ids), ORDER_INFO_BATCH):
            out += self._orders(await self.client.order_info(ids[i : i + ORDER_INFO_BATCH]))
        return out


__all__ = [
    "AmountFormatError",
    "LeagueConfigError",
    "SpotUsage",
    "UnionClient",
    "UnionLeague",
    "UnionSpots",
    "display_fen",
    "group_tag",
    "spot_name",
]
