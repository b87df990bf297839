"""Domain types of what an organisation's league account holds beyond products and links: its funds
(balance and ledger), its coupons (机构券), the feeds and shop windows of the talents it works with,
and its clues (自营线索). Money is integer fen; times are aware UTC datetimes.

The capabilities that return them are in `bot.leagues.capabilities` (HasFunds, HasOrgCoupons, …).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.leagues.base import Coupon, LeagueConfigError

COMMISSION = "commission"
"""A flow that pays the organisation an order's commission (分账)."""
WITHDRAWAL = "withdrawal"
"""A flow that takes money out of the balance (提现)."""
OTHER = "other"

FLOW_LABELS = {COMMISSION: "分账", WITHDRAWAL: "提现", OTHER: "其他"}


class NotPermitted(LeagueConfigError):
    """The account has no permission for this API (WeChat 48001): only the operator can apply for it.
    Said once where the operator looks (`tuike check`, the console), never on every sync."""


@dataclass(frozen=True, slots=True)
class FundsBalance:
    available_fen: int
    """可提现余额."""
    pending_fen: int
    """待结算余额."""


@dataclass(frozen=True, slots=True)
class FundsFlow:
    """One line of the organisation's ledger (资金流水)."""

    flow_id: str
    amount_fen: int
    """Signed: money in (分账) is positive, money out (提现) negative."""
    time: datetime
    type: str
    """`COMMISSION`, `WITHDRAWAL` or `OTHER`."""
    order_id: str = ""
    """The order a 分账 pays for."""
    balance_fen: int | None = None
    """The balance after this flow, when the league says."""
    remark: str = ""


@dataclass(frozen=True, slots=True)
class OrgCoupon:
    """One of the organisation's coupons (机构券): 定向券 (cooperative) or 公开券 (public)."""

    coupon: Coupon
    cooperative: bool
    shop_id: str = ""

    @property
    def kind_label(self) -> str:
        return "定向券" if self.cooperative else "公开券"

    @property
    def run_out(self) -> bool:
        return self.coupon.remaining == 0


@dataclass(frozen=True, slots=True)
class Feed:
    """A talent's 视频号 video that carries a product. It has no title of its own: `title` is its
    product's name."""

    export_id: str
    talent_appid: str
    talent_name: str
    title: str
    products: tuple[str, ...]
    image: str = ""
    price_fen: int | None = None
    predict_commission_fen: int = 0


@dataclass(frozen=True, slots=True)
class FeedShare:
    """What a mini program needs to open a feed for a sharer (`<channel-video>` / openChannelsActivity)."""

    export_id: str
    feed_token: str
    share_link: str


@dataclass(frozen=True, slots=True)
class WindowItem:
    product_id: str
    shop_id: str
    title: str = ""
    image: str = ""


@dataclass(frozen=True, slots=True)
class Window:
    """What one talent's 橱窗 holds, as far as it was read (`error` says why not)."""

    talent_appid: str
    talent_name: str
    items: tuple[WindowItem, ...] = ()
    total: int = 0
    error: str = ""


@dataclass(frozen=True, slots=True)
class Clue:
    """A 自营线索: an order of the organisation's own goods through one of its sharers (no commission)."""

    order_id: str
    sku_id: str
    product_id: str
    title: str
    paid_fen: int
    status: str
    sharer_appid: str
    sharer_name: str
    created_at: datetime
    extra: dict[str, str] = field(default_factory=dict)
