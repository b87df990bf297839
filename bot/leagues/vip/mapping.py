"""vop wire goods and orders → domain types.

The union writes money as yuan strings (`"179.00"`, a coupon's `fav` `"20"` or `"4.10"`) and the
commission rate as a percent string without `%` (`"6.5"`); they become integer fen and parts per million
here through `Decimal`, never a float. Times are epoch milliseconds.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from bot.leagues.base import Commission, Coupon, Order, Product, ratio_of

Json = dict[str, Any]

_ONE = Decimal(1)
SOLD_OUT = 1
"""`saleStockStatus`: 1 sold out, 2 in stock, 3 a chance (others' carts may free some)."""
ON_SHELF = 1
"""`status`: 0 off the shelf, 1 on it."""


def _decimal(value: Any) -> Decimal:
    if value is None or isinstance(value, bool):
        return Decimal(0)
    if isinstance(value, float):
        value = repr(value)
    try:
        result = Decimal(str(value).strip().rstrip("%") or "0")
    except InvalidOperation:
        return Decimal(0)
    return result if result.is_finite() else Decimal(0)


def yuan_to_fen(value: Any) -> int:
    """`"139.70"` → 13970, `"20"` → 2000, `"4.10"` → 410 (half up past the fen)."""
    return int((_decimal(value) * 100).quantize(_ONE, rounding=ROUND_HALF_UP))


def percent_to_ppm(value: Any) -> int:
    """A commission rate in percent (`"6.5"`) in parts per million (65000)."""
    return int((_decimal(value) * 10_000).quantize(_ONE, rounding=ROUND_HALF_UP))


def ms_time(value: Any) -> datetime | None:
    try:
        ms = int(value)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(ms / 1000, UTC) if ms > 0 else None


def goods_url(brand_id: str, goods_id: str) -> str:
    """The goods' own page (what `destUrl` holds and `genByVIPUrl` takes)."""
    return f"https://m.vip.com/product-{brand_id or 0}-{goods_id}.html"


def _coupon(goods_id: str, info: Any) -> tuple[Coupon, ...]:
    if not isinstance(info, dict):
        return ()
    amount = yuan_to_fen(info.get("fav"))
    if amount <= 0:
        return ()
    threshold = yuan_to_fen(info.get("buy"))
    total, used = info.get("totalAmount"), info.get("activedAmount")
    remaining = None
    if total not in (None, "") and used not in (None, ""):
        remaining = max(int(_decimal(total)) - int(_decimal(used)), 0)
    name = str(info.get("couponName") or "")
    if not name:
        name = f"满{threshold // 100}减{amount / 100:g}" if threshold else f"立减{amount / 100:g}元"
    return (
        Coupon(
            coupon_id=str(info.get("couponNo") or f"vip:{goods_id}"),
            amount_fen=amount,
            threshold_fen=threshold,
            name=name,
            valid_from=ms_time(info.get("useBeginTime")),
            valid_until=ms_time(info.get("useEndTime")),
            remaining=remaining,
        ),
    )


def product_from_goods(goods: Json) -> Product:
    """One `GoodsInfo` (search, curated list or detail). `shop_id` keeps the brandId (档期) that the
    goods' URL needs; the estimated commission is the union's own `commission` when it says one."""
    goods_id = str(goods.get("goodsId") or "")
    price = yuan_to_fen(goods.get("vipPrice"))
    market = yuan_to_fen(goods.get("marketPrice"))
    store_info = goods.get("storeInfo")
    store: Json = store_info if isinstance(store_info, dict) else {}
    images = [goods.get("goodsMainPicture"), goods.get("goodsThumbUrl")]
    images += list(goods.get("goodsCarouselPictures") or ())
    badges = []
    if str(goods.get("sourceType", "")) == "0":
        badges.append("唯品自营")
    if goods.get("haiTao") in (1, "1", True):
        badges.append("唯品国际")
    product = Product(
        platform="vip",
        product_id=goods_id,
        title=str(goods.get("goodsName") or ""),
        price_fen=price,
        shop_id=str(goods.get("brandId") or ""),
        shop_name=str(store.get("storeName") or goods.get("brandName") or ""),
        images=tuple(dict.fromkeys(str(u) for u in images if u)),
        category=str(goods.get("cat1stId") or ""),
        coupons=_coupon(goods_id, goods.get("couponInfo")),
        promotion_param=str(goods.get("destUrl") or ""),
        list_price_fen=market if market > price else 0,
        badges=tuple(badges),
    )
    rate = percent_to_ppm(goods.get("commissionRate"))
    stated = goods.get("commission")
    amount = yuan_to_fen(stated) if stated not in (None, "") else ratio_of(product.final_price_fen, rate)
    return replace(product, commission=Commission(rate, amount))


def unavailable(goods: Json) -> str:
    """Why a goods cannot be promoted now ("" when it can): off the shelf, sold out, no commission."""
    if str(goods.get("status", ON_SHELF)) != str(ON_SHELF):
        return "off_shelf"
    if str(goods.get("saleStockStatus", "")) == str(SOLD_OUT):
        return "sold_out"
    if percent_to_ppm(goods.get("commissionRate")) <= 0:
        return "not_alliance"
    return ""


ORDER_VOID, ORDER_PENDING, ORDER_DONE = 0, 1, 2
"""`status` of an order and of each line: 0 invalid (cancelled, refunded), 1 pending, 2 finished."""


def order_status(status: Any, settled: Any = 0) -> str:
    try:
        code = int(status)
    except (TypeError, ValueError):
        return "pending"
    if code == ORDER_VOID:
        return "cancelled"
    if code == ORDER_DONE or str(settled) == "1":
        return "settled"
    return "pending"


def orders_from_row(row: Json) -> list[Order]:
    """One `OrderInfo` → one `Order` per line of `detailList` (a line is the sub-order).

    Refunds: a line whose `status` is 0 is void; a line with after-sale entries (`afterSaleInfo[]`)
    keeps the commission the union still pays — its `commission` less each entry's
    `afterSaleChangeCommission` (read as the amount taken off), and void once every piece went back
    (`afterSaleChangeGoodsCount` reaching `goodsCount`)."""
    order_sn = str(row.get("orderSn") or "")
    created = ms_time(row.get("orderTime")) or datetime.fromtimestamp(0, UTC)
    updated = ms_time(row.get("lastUpdateTime")) or created
    pid = str(row.get("channelTag") or row.get("pid") or "")
    tag = str(row.get("statParam") or "")
    details = [d for d in row.get("detailList") or [] if isinstance(d, dict)] or [row]
    out: list[Order] = []
    for detail in details:
        status = order_status(detail.get("status", row.get("status")), row.get("settled"))
        commission = yuan_to_fen(detail.get("commission", row.get("commission")))
        count = int(_decimal(detail.get("goodsCount") or 1))
        returned = 0
        for after in detail.get("afterSaleInfo") or ():
            if isinstance(after, dict):
                commission -= abs(yuan_to_fen(after.get("afterSaleChangeCommission")))
                returned += abs(int(_decimal(after.get("afterSaleChangeGoodsCount"))))
        if count and returned >= count:
            status = "cancelled"
        goods_id = str(detail.get("goodsId") or "")
        out.append(
            Order(
                order_id=order_sn,
                sku_id=str(detail.get("sizeId") or goods_id),
                product_id=goods_id,
                title=str(detail.get("goodsName") or ""),
                paid_fen=yuan_to_fen(detail.get("commissionTotalCost")),
                commission_fen=0 if status == "cancelled" else max(commission, 0),
                status=status,
                sharer_appid="",
                created_at=created,
                updated_at=updated,
                pid=pid,
                tag=tag,
            )
        )
    return out
