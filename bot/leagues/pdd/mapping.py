"""PDD wire goods → domain types. Prices and coupons are already fen; the commission rate is per mille and
the estimated commission is (拼团价 − coupon) × rate / 1000, as 多多进宝 computes it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.leagues.base import Commission, Coupon, Product

Json = dict[str, Any]

MEMBER_TAGS = frozenset({"百亿补贴", "品牌", "官方补贴", "秒杀"})
"""`unified_tags` worth showing a member; the rest are operator jargon."""


def s_time(value: Any) -> datetime | None:
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None


def permille_to_ppm(rate: Any) -> int:
    return int(rate or 0) * 1000


def commission_fen(price_fen: int, rate_permille: int) -> int:
    """多多进宝's estimate: price after coupon × rate / 1000, in whole fen (rounded down)."""
    return max(price_fen, 0) * rate_permille // 1000


def product_from_goods(goods: Json) -> Product:
    """One `goods.search` / `goods.detail` item. `product_id` is the goods_sign (what every API takes);
    `promotion_param` keeps the search_id the link should carry."""
    sign = str(goods.get("goods_sign", ""))
    price = int(goods.get("min_group_price", 0) or 0)
    coupons: tuple[Coupon, ...] = ()
    amount = int(goods.get("coupon_discount", 0) or 0)
    if goods.get("has_coupon") and amount > 0:
        threshold = int(goods.get("coupon_min_order_amount", 0) or 0)
        remain = goods.get("coupon_remain_quantity")
        coupons = (
            Coupon(
                coupon_id=f"pdd:{sign}",
                amount_fen=amount,
                threshold_fen=threshold,
                name=f"满{threshold // 100}减{amount // 100}" if threshold else f"立减{amount // 100}元",
                valid_from=s_time(goods.get("coupon_start_time")),
                valid_until=s_time(goods.get("coupon_end_time")),
                remaining=int(remain) if remain is not None else None,
            ),
        )
    rate = int(goods.get("promotion_rate", 0) or 0)
    images = tuple(str(u) for u in goods.get("goods_gallery_urls") or ()) or tuple(
        str(u) for u in (goods.get("goods_image_url"), goods.get("goods_thumbnail_url")) if u
    )
    product = Product(
        platform="pdd",
        product_id=sign,
        title=str(goods.get("goods_name", "")),
        price_fen=price,
        shop_id=str(goods.get("mall_id", "")),
        shop_name=str(goods.get("mall_name", "")),
        images=images,
        sales=_sales(str(goods.get("sales_tip", ""))),
        category=str(goods.get("opt_id", "")),
        coupons=coupons,
        promotion_param=str(goods.get("search_id", "")),
        list_price_fen=max(normal_price_fen(goods), 0),
        badges=tuple(str(t) for t in goods.get("unified_tags") or () if str(t) in MEMBER_TAGS),
    )
    commission = Commission(permille_to_ppm(rate), commission_fen(product.final_price_fen, rate))
    return replace(product, commission=commission)


def normal_price_fen(goods: Json) -> int:
    """单买价 (buying alone), against the 拼团价 that `price_fen` holds."""
    return int(goods.get("min_normal_price", 0) or 0)


def _sales(tip: str) -> int:
    """`sales_tip` ("10万+", "3000+", "856") as a number, for ranking only."""
    text = tip.rstrip("+")
    try:
        if text.endswith("万"):
            return int(Decimal(text[:-1]) * 10_000)
        return int(text)
    except (ValueError, InvalidOperation):
        return 0
