"""Domain types shared by every league, and the `League` protocol handlers call.

Money is integer fen everywhere. Ratios are kept as parts per million (the Channels unit) and only
`ratio_of` turns them into an amount. Times are aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

Platform = str
"""A registered league's name (`bot.leagues.registry`): what `Product.platform` and `Spot.league` hold."""

PPM = 1_000_000


def ratio_of(amount_fen: int, ratio_ppm: int) -> int:
    """`amount_fen × ratio_ppm / 1e6`, rounded half down to whole fen, with integers only."""
    return (amount_fen * ratio_ppm) // PPM


@dataclass(frozen=True, slots=True)
class Spot:
    """The per-group promotion identity on one league; each league fills the fields it knows.

    Channels: `sharer_appid` (or `sharer_openid`). Other leagues: `pid`, the promotion position (Taobao
    PID `mm_<member>_<site>_<adzone>`, PDD PID, union promotion pid, JD positionId), and `tag`, a
    per-group tag where the league takes one (Taobao external_id / relation id, JD subUnionId, PDD
    custom_parameters). Links are cached per (league, product, `key`).
    """

    league: str
    sharer_appid: str = ""
    sharer_openid: str = ""
    pid: str = ""
    tag: str = ""

    @property
    def key(self) -> str:
        channels = self.sharer_appid or self.sharer_openid
        parts = [part for part in (channels, self.pid, self.tag) if part]
        return "|".join(parts) if parts else "-"


@dataclass(frozen=True, slots=True)
class Coupon:
    coupon_id: str
    amount_fen: int
    """Money off; for a discount coupon, what it takes off this product's price."""
    threshold_fen: int = 0
    """Minimum spend (满 X); 0 means no threshold."""
    discount_permille: int = 0
    """For 折扣券: 9.5折 is 950. 0 for a plain amount-off coupon."""
    name: str = ""
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    remaining: int | None = None
    """Coupons left to hand out; None when the league does not say."""

    @property
    def available(self) -> bool:
        return self.remaining is None or self.remaining > 0


@dataclass(frozen=True, slots=True)
class Commission:
    ratio_ppm: int
    amount_fen: int


@dataclass(frozen=True, slots=True)
class Product:
    platform: Platform
    product_id: str
    title: str
    price_fen: int
    """Lowest SKU price."""
    shop_id: str = ""
    shop_name: str = ""
    images: tuple[str, ...] = ()
    sales: int = 0
    category: str = ""
    commission: Commission | None = None
    coupons: tuple[Coupon, ...] = ()
    promotion_param: str = ""
    """Channels `product_promotion_link`: needed to embed the product card."""
    list_price_fen: int = 0
    """A higher reference price the league shows beside `price_fen` (PDD 单买价 against the 拼团价 in
    `price_fen`); 0 when there is none."""
    badges: tuple[str, ...] = ()
    """Short labels the league gives the item and members care about (京东自营, 百亿补贴)."""

    @property
    def image(self) -> str:
        return self.images[0] if self.images else ""

    def best_coupon(self) -> Coupon | None:
        """The usable coupon that takes the most off this product's price."""
        usable = [
            c for c in self.coupons if c.available and c.threshold_fen <= self.price_fen and c.amount_fen > 0
        ]
        return max(usable, key=lambda c: c.amount_fen, default=None)

    @property
    def final_price_fen(self) -> int:
        coupon = self.best_coupon()
        return max(self.price_fen - (coupon.amount_fen if coupon else 0), 0)


@dataclass(frozen=True, slots=True)
class PromotionLink:
    product_id: str
    spot: Spot
    shop_id: str = ""
    short_link: str = ""
    """WeChat-internal short link (opaque)."""
    http_short_link: str = ""
    """The tappable https link: Channels https://store.weixin.qq.com/shop/a/…, Taobao
    https://s.click.taobao.com/…, a JD/PDD short URL."""
    qrcode_url: str = ""
    card_param: str = ""
    """The long-lived mini-program card parameter."""
    code: str = ""
    """A 口令 to copy where the league makes one (淘口令 `￥AbCd1234567￥`, 京口令); empty otherwise."""
    mini_path: str = ""
    """A mini-program page path, where the league gives one."""

    @property
    def best_url(self) -> str:
        return self.http_short_link or self.short_link


@dataclass(frozen=True, slots=True)
class LiveEvent:
    talent_appid: str
    talent_name: str
    notice_id: str
    description: str
    start_time: datetime | None
    is_live: bool = False
    export_id: str = ""
    share_link: str = ""
    qrcode_url: str = ""


@dataclass(frozen=True, slots=True)
class Order:
    order_id: str
    sku_id: str
    product_id: str
    title: str
    paid_fen: int
    commission_fen: int
    status: str
    sharer_appid: str
    created_at: datetime
    updated_at: datetime
    pid: str = ""
    """The promotion position the order came through, on leagues that say (Taobao adzone PID)."""
    tag: str = ""
    """The per-group tag the order carries back, on leagues that have one."""


@dataclass(frozen=True, slots=True)
class SharerStatus:
    """A 推客 (Channels sharer) as the league sees it for the operator's organisation
    (`get_promoter_register_and_bind_status`, plus the bound sharer's nickname and bind time).

    `register_status`: 0 not registered as a 推客, 1 registering, 2 registered, 3 needs WeChat Pay
    real-name. `bind_status`: 1 bound to the organisation. The query strings (with their business
    types) are what `wx.openBusinessView` opens to register or to bind.
    """

    sharer_appid: str
    bind_status: int
    register_status: int
    bind_query_string: str = ""
    bind_business_type: str = ""
    register_query_string: str = ""
    register_business_type: str = ""
    nickname: str = ""
    """The sharer's nickname once bound, when the league says it ("" otherwise)."""
    bound_at: datetime | None = None
    """When the sharer was bound to the organisation, when the league says it."""

    @property
    def bound(self) -> bool:
        return self.bind_status == 1


@dataclass(frozen=True, slots=True)
class Category:
    category_id: str
    name: str
    parent_id: str = ""
    level: int = 1


@dataclass(frozen=True, slots=True)
class SearchQuery:
    keyword: str = ""
    category_id: str = ""
    min_price_fen: int | None = None
    max_price_fen: int | None = None
    limit: int = 10
    shown: int = 0
    """How many of the results the caller will show (0: not said); a league that pays a call per
    product it looks at in detail may look at fewer (Channels: `candidates`)."""
    rank_by: str = ""
    """How the caller ranks the results before showing `shown` of them (`[deals] rank_by`; '' when it
    does not say). A league that pays a call per coupon may then fetch the coupons only of the products
    that rank among the shown on what their details say (Channels); the others come without them."""

    def admits_price(self, price_fen: int) -> bool:
        """Within the query's price bounds (either may be open)."""
        return (self.min_price_fen is None or price_fen >= self.min_price_fen) and (
            self.max_price_fen is None or price_fen <= self.max_price_fen
        )


@dataclass(frozen=True, slots=True)
class SearchPage:
    products: Sequence[Product] = field(default_factory=tuple)
    next_key: str = ""


class LeagueError(Exception):
    """A league call failed in a way the member should hear about as "稍后再试"."""


class LeagueUnavailable(LeagueError):
    """The league cannot be used right now (quota used up, retries exhausted)."""


class QuotaExhausted(LeagueUnavailable):
    """The league's daily quota is used up; it resets tomorrow."""


class LeagueConfigError(LeagueError):
    """The operator must fix something (wrong appid/secret, IP not whitelisted, API not authorised)."""


class ProductNotFound(LeagueError):
    """The league does not know this product."""


class NotPromotable(ProductNotFound):
    """The product exists but cannot be promoted; `reason` says why in a word a template can switch on.

    Reasons: ``not_alliance`` (no commission: not in the alliance), ``xianyu`` (a 闲鱼 second-hand
    listing), ``chaoshi`` (天猫超市), ``code_unresolved`` (a 口令 the league cannot read),
    ``coupon_expired`` (the coupon the member pasted is over).
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


class League(Protocol):
    """What handlers and planners need from an affiliate platform; more, where a league has it, is in
    `bot.leagues.capabilities` (lives, sharers, a spot per group, …)."""

    name: str
    platform: Platform

    async def search(self, query: SearchQuery) -> list[Product]: ...

    async def product(self, product_id: str, shop_id: str = "") -> Product: ...

    async def lookup_link(self, url: str) -> Product: ...

    async def promote(self, product: Product, spot: Spot) -> PromotionLink: ...

    async def featured(self, category_id: str, limit: int) -> list[Product]: ...

    async def categories(self) -> list[Category]: ...

    async def orders_since(self, since: datetime) -> list[Order]: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class SpotIssuer(Protocol):
    """A league that gives each group its own identity (beyond Channels' bound sharer) implements this.

    `choose_identity` returns the (pid, tag) for a group that has none yet, avoiding `taken`; the
    caller keeps it in the store, so it is chosen once per group.
    """

    name: str

    async def choose_identity(self, group_key: str, taken: set[tuple[str, str]]) -> tuple[str, str]: ...
