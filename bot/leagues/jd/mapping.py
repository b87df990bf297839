"""JD wire items → domain types. Yuan and percent become fen and ppm here, through `money` only."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bot.leagues.base import Commission, Coupon, Product
from bot.leagues.jd.money import percent_to_ppm, yuan_to_fen

Json = dict[str, Any]


def ms_time(value: Any) -> datetime | None:
    try:
        ms = int(value)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(ms / 1000, UTC) if ms > 0 else None


def item_url(sku: str) -> str:
    return f"https://item.jd.com/{sku}.html"


def coupon_from_wire(raw: Json) -> Coupon:
    amount = yuan_to_fen(raw.get("discount"))
    threshold = yuan_to_fen(raw.get("quota"))
    name = f"满{threshold // 100}减{amount // 100}" if threshold else f"立减{amount // 100}元"
    return Coupon(
        coupon_id=str(raw.get("link", "")),
        amount_fen=amount,
        threshold_fen=threshold,
        name=name,
        valid_from=ms_time(raw.get("useStartTime")),
        valid_until=ms_time(raw.get("useEndTime")),
    )


def product_from_item(item: Json, now: datetime) -> Product:
    """One `goods.query` / `jingfen.query` item. Expired coupons are dropped; the coupon's link is its id
    (it is what `couponUrl` takes when the link is made)."""
    sku = str(item.get("skuId", ""))
    prices = item.get("priceInfo") or {}
    price = yuan_to_fen(prices.get("price") or prices.get("lowestPrice"))
    coupons = tuple(
        c
        for c in (coupon_from_wire(raw) for raw in (item.get("couponInfo") or {}).get("couponList") or [])
        if c.amount_fen > 0 and (c.valid_until is None or c.valid_until > now)
    )
    info = item.get("commissionInfo") or {}
    ratio = percent_to_ppm(info.get("commissionShare"))
    shop = item.get("shopInfo") or {}
    images = tuple(str(i.get("url", "")) for i in (item.get("imageInfo") or {}).get("imageList") or [])
    product = Product(
        platform="jd",
        product_id=sku,
        title=str(item.get("skuName", "")),
        price_fen=price,
        shop_id=str(shop.get("shopId", "")),
        shop_name=str(shop.get("shopName", "")),
        images=images,
        sales=int(item.get("inOrderCount30Days", 0) or 0),
        category=str((item.get("categoryInfo") or {}).get("cid1", "")),
        coupons=coupons,
        promotion_param=item_url(sku),
        badges=("京东自营",) if self_operated(item) else (),
    )
    with_coupon = product.best_coupon() is not None
    amount = yuan_to_fen(info.get("couponCommission") if with_coupon else info.get("commission"))
    return replace(product, commission=Commission(ratio_ppm=ratio, amount_fen=amount))


def self_operated(item: Json) -> bool:
    """京东自营 (owner "g")."""
    return str(item.get("owner", "")) == "g"
