"""TOP JSON → domain types. Prices arrive as yuan strings ("39.90"): `fen` is the one place they turn
into integer fen, `rate_ppm` the one place commission rates turn into millionths.

Both search shapes are read: the legacy flat `map_data` item (`taobao.tbk.dg.material.optional`) and
the nested upgrade item (`item_basic_info`, `price_promotion_info`, `publish_info`). Item ids stay
strings: the new ids are alphanumeric.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.leagues.base import Commission, Coupon, Order, Product, ratio_of
from bot.leagues.taobao.client import GMT8, from_top_time

Json = dict[str, Any]

_THRESHOLD = re.compile(r"满\s*(\d+(?:\.\d+)?)")
ORDER_STATUS = {12: "pending", 14: "pending", 3: "settled", 13: "cancelled"}


def fen(yuan: Any) -> int:
    """ "39.90" / "39.9" / 39 → 3990, exactly (Decimal, never float); junk or empty → 0."""
    if yuan is None or yuan == "":
        return 0
    if type(yuan) is str and yuan.isascii():  # the usual "39.90": no Decimal (an order sync reads two a line)
        if len(yuan) > 3 and yuan[-3] == ".":  # two decimals, as TOP writes money: "39.90" → "3990"
            digits = yuan[:-3] + yuan[-2:]
            if digits.isdigit():
                return int(digits)
        whole, _, cents = yuan.partition(".")
        if whole.isdigit() and len(cents) <= 2 and (not cents or cents.isdigit()):
            return int(whole) * 100 + int(cents.ljust(2, "0"))
    try:
        value = Decimal(str(yuan).strip())
    except InvalidOperation:
        return 0
    return int((value * 100).to_integral_value())


def rate_ppm(rate: Any, *, legacy: bool) -> int:
    """Commission rate in millionths: legacy "1550" means 15.50%, upgrade "15.50" means 15.50%."""
    if rate is None or rate == "":
        return 0
    try:
        value = Decimal(str(rate).strip())
    except InvalidOperation:
        return 0
    return int((value * (100 if legacy else 10_000)).to_integral_value())


def items(value: Any, *names: str) -> list[Json]:
    """A TOP list, whether bare (`[...]`, simplify=true) or wrapped (`{"map_data": [...]}`)."""
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    if isinstance(value, dict):
        for name in names:
            if name in value:
                return items(value[name])
        for inner in value.values():
            if isinstance(inner, list):
                return items(inner)
    return []


def strings(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, dict):
        return strings(value.get("string") or next(iter(value.values()), []))
    return []


def https(url: Any) -> str:
    """TOP hands out protocol-relative links (`//uland.taobao.com/…`)."""
    text = str(url or "")
    return "https:" + text if text.startswith("//") else text


def when(value: Any) -> datetime | None:
    """Coupon times: epoch milliseconds, "yyyy-MM-dd HH:mm:ss" or "yyyy-MM-dd" (GMT+8)."""
    text = str(value or "").strip()
    if not text:
        return None
    if text.isdigit():
        number = int(text)
        return datetime.fromtimestamp(number / 1000 if number > 10**11 else number, UTC)
    if len(text) == 10:
        text += " 23:59:59"
    return from_top_time(text)


def _coupon(
    coupon_id: str,
    amount_fen: int,
    title: str,
    threshold_fen: int,
    start: Any,
    end: Any,
    remaining: Any,
    now: datetime,
) -> Coupon | None:
    valid_until = when(end)
    if amount_fen <= 0 or (valid_until is not None and valid_until < now):
        return None  # an expired coupon is no coupon
    if not threshold_fen and (m := _THRESHOLD.search(title)):
        threshold_fen = fen(m.group(1))
    left: int | None
    try:
        left = int(remaining) if remaining not in (None, "") else None
    except (TypeError, ValueError):
        left = None
    return Coupon(
        coupon_id=coupon_id or f"tb-{amount_fen}",
        amount_fen=amount_fen,
        threshold_fen=threshold_fen,
        name=title,
        valid_from=when(start),
        valid_until=valid_until,
        remaining=left,
    )


def product_of(raw: Json, now: datetime | None = None) -> Product:
    """One search or detail item, either shape."""
    now = now or datetime.now(UTC)
    if "item_basic_info" in raw or "price_promotion_info" in raw or "publish_info" in raw:
        return _upgrade(raw, now)
    return _legacy(raw, now)


def _legacy(raw: Json, now: datetime) -> Product:
    price = fen(raw.get("zk_final_price") or raw.get("reserve_price"))
    coupons: tuple[Coupon, ...] = ()
    amount = fen(raw.get("coupon_amount"))
    if amount:
        coupon = _coupon(
            str(raw.get("coupon_id") or ""),
            amount,
            str(raw.get("coupon_info") or ""),
            fen(raw.get("coupon_start_fee")),
            raw.get("coupon_start_time"),
            raw.get("coupon_end_time"),
            raw.get("coupon_remain_count"),
            now,
        )
        coupons = (coupon,) if coupon else ()
    rate = raw.get("commission_rate")
    ratio = rate_ppm(rate, legacy=True)
    images = [https(raw.get("pict_url"))] if raw.get("pict_url") else []
    images += [https(u) for u in strings(raw.get("small_images"))]
    return Product(
        platform="taobao",
        product_id=str(raw.get("item_id") or raw.get("num_iid") or ""),
        title=str(raw.get("title") or ""),
        price_fen=price,
        shop_id=str(raw.get("seller_id") or ""),
        shop_name=str(raw.get("shop_title") or raw.get("nick") or ""),
        images=tuple(images),
        sales=_int(raw.get("volume")),
        category=str(raw.get("level_one_category_name") or raw.get("cat_name") or ""),
        commission=Commission(ratio, ratio_of(price, ratio)) if rate not in (None, "") else None,
        coupons=coupons,
        promotion_param=https(raw.get("coupon_share_url") or raw.get("url") or raw.get("click_url")),
    )


def _upgrade(raw: Json, now: datetime) -> Product:
    basic = raw.get("item_basic_info") or {}
    prices = raw.get("price_promotion_info") or {}
    publish = raw.get("publish_info") or {}
    price = fen(prices.get("zk_final_price") or prices.get("reserve_price"))
    coupons = []
    for path in items(prices.get("final_promotion_path_list"), "final_promotion_path_map_data"):
        title = str(path.get("promotion_title") or path.get("promotion_desc") or "")
        if "券" not in title and "coupon" not in str(path.get("promotion_id", "")).lower():
            continue
        coupon = _coupon(
            str(path.get("promotion_id") or ""),
            fen(path.get("promotion_fee")),
            title,
            0,
            path.get("promotion_start_time"),
            path.get("promotion_end_time"),
            None,
            now,
        )
        if coupon:
            coupons.append(coupon)
    income = publish.get("income_info") or {}
    rate = income.get("commission_rate") or publish.get("income_rate")
    ratio = rate_ppm(rate, legacy=False)
    amount = (
        fen(income.get("commission_amount")) if income.get("commission_amount") else ratio_of(price, ratio)
    )
    images = [https(basic.get("pict_url"))] if basic.get("pict_url") else []
    images += [https(u) for u in strings(basic.get("small_images"))]
    return Product(
        platform="taobao",
        product_id=str(raw.get("item_id") or ""),
        title=str(basic.get("title") or ""),
        price_fen=price,
        shop_id=str(basic.get("seller_id") or ""),
        shop_name=str(basic.get("shop_title") or ""),
        images=tuple(images),
        sales=_int(basic.get("volume") or basic.get("annual_vol")),
        category=str(basic.get("level_one_category_name") or basic.get("category_name") or ""),
        commission=Commission(ratio, amount) if rate not in (None, "") else None,
        coupons=tuple(coupons),
        promotion_param=https(publish.get("coupon_share_url") or publish.get("click_url")),
    )


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def order_of(raw: Json, member: str) -> Order:
    """One `publisher_order_dto`: the pid the order came through is rebuilt from its site and adzone.

    Read once per order line of a sync (100k lines in a first sync), so it reads the dict directly and
    leaves the usual values (ints, exact time strings) as they come."""
    get = raw.get
    status = get("tk_status")
    if type(status) is not int:
        status = _int(status)
    created = _time(get("tk_create_time")) or datetime.now(UTC)
    updated = (
        _time(get("modified_time")) or _time(get("tk_earning_time")) or _time(get("tk_paid_time")) or created
    )
    site, adzone = get("site_id"), get("adzone_id")
    site, adzone = str(site) if site else "", str(adzone) if adzone else ""
    settled = status == 3
    return Order(
        order_id=str(get("trade_id") or ""),
        sku_id=str(get("trade_parent_id") or ""),
        product_id=str(get("item_id") or ""),
        title=str(get("item_title") or ""),
        paid_fen=fen(get("alipay_total_price") or get("pay_price")),
        commission_fen=fen(get("pub_share_fee") if settled else get("pub_share_pre_fee")),
        status=ORDER_STATUS.get(status) or str(status),
        sharer_appid="",
        created_at=created,
        updated_at=updated,
        pid=f"mm_{member}_{site}_{adzone}" if site and adzone else "",
        tag=str(get("relation_id") or get("special_id") or ""),
    )


def _time(value: Any) -> datetime | None:
    """A TOP time field (a string as TOP sends it; anything else as its text) in UTC, or None."""
    return from_top_time(value if type(value) is str else str(value or ""))


__all__ = ["GMT8", "fen", "items", "order_of", "product_of", "rate_ppm"]
