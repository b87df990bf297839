"""Shopify products and orders → domain types.

Money is a decimal string in the shop's currency (`"89.9"`); it becomes hundredths (fen for a CNY shop)
through `Decimal`. A shop in another currency is not converted: its products carry a badge naming the
currency, so a member never reads dollars as yuan.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from bot.leagues.base import Commission, Order, Product, ratio_of

Json = dict[str, Any]

BADGE = "自营"
CODE_PREFIX = "TUIKE-"
"""Discount codes this bot makes for groups start so (the shop's other codes attribute nothing)."""
CURRENCY_NAMES = {"USD": "美元", "EUR": "欧元", "HKD": "港币", "JPY": "日元", "GBP": "英镑", "TWD": "新台币"}


def money_fen(amount: Any) -> int:
    """A decimal money string in hundredths of its currency: `"89.9"` → 8990."""
    try:
        value = Decimal(str(amount if amount is not None else "0").strip() or "0")
    except InvalidOperation:
        return 0
    if not value.is_finite():
        return 0
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def group_tag(group_key: str) -> str:
    """A group's `utm_campaign`: short, stable, letters and digits."""
    return "tk" + hashlib.blake2b(group_key.encode(), digest_size=6).hexdigest()


def group_code(group_key: str) -> str:
    """A group's discount code: `TUIKE-` and eight capitals/digits, stable across restarts."""
    return CODE_PREFIX + hashlib.blake2b(("code:" + group_key).encode(), digest_size=4).hexdigest().upper()


def currency_badge(currency: str) -> str:
    """`"标价为美元 (USD)，未换算"`, or "" for a shop in yuan."""
    if not currency or currency.upper() == "CNY":
        return ""
    name = CURRENCY_NAMES.get(currency.upper(), currency.upper())
    return f"标价为{name} ({currency.upper()})，未换算"


def why_not_promotable(node: Json) -> str:
    """Why a product cannot be promoted now ("" when it can): not active, not on the online store,
    sold out."""
    if str(node.get("status") or "ACTIVE").upper() != "ACTIVE":
        return "已下架"
    if "onlineStoreUrl" in node and not node.get("onlineStoreUrl"):
        return "没有在网店上架"
    inventory = node.get("totalInventory")
    if inventory is not None and int(inventory) <= 0:
        return "已售罄"
    return ""


def product_from_node(node: Json, currency: str, margin_ppm: int = 0) -> Product:
    price_set = ((node.get("priceRangeV2") or {}).get("minVariantPrice")) or {}
    compare = ((node.get("compareAtPriceRange") or {}).get("minVariantCompareAtPrice")) or {}
    price = money_fen(price_set.get("amount"))
    was = money_fen(compare.get("amount"))
    shown = str(price_set.get("currencyCode") or currency)
    badges = tuple(b for b in (BADGE, currency_badge(shown)) if b)
    image = (node.get("featuredImage") or {}).get("url")
    return Product(
        platform="shopify",
        product_id=str(node.get("legacyResourceId") or str(node.get("id") or "").rsplit("/", 1)[-1]),
        title=str(node.get("title") or ""),
        price_fen=price,
        shop_id=str(node.get("handle") or ""),
        shop_name=str(node.get("vendor") or ""),
        images=(str(image),) if image else (),
        category=str(node.get("productType") or ""),
        commission=Commission(margin_ppm, ratio_of(price, margin_ppm)),
        promotion_param=str(node.get("onlineStoreUrl") or ""),
        list_price_fen=was if was > price else 0,
        badges=badges,
    )


def product_url(store: str, handle: str, tag: str = "", code: str = "") -> str:
    """The group's link: the product page with `utm_source=tuike&utm_campaign=<tag>`; with a code, the
    shop's discount link that applies it and lands on the product (same UTM)."""
    utm = "utm_source=tuike" + (f"&utm_campaign={quote(tag, safe='')}" if tag else "")
    page = f"/products/{quote(handle, safe='')}"
    if code:
        return f"{store}/discount/{quote(code, safe='')}?redirect={quote(page, safe='')}&{utm}"
    return f"{store}{page}?{utm}"


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def identity_of_order(node: Json) -> tuple[str, str]:
    """(code, campaign) an order came through: the group's discount code when it used one (the code
    wins: a buyer may come back through another group's link), else the UTM campaign of the visit that
    led to it (last visit, then first)."""
    codes = [
        str(c).upper() for c in node.get("discountCodes") or () if str(c).upper().startswith(CODE_PREFIX)
    ]
    if codes:
        return codes[0], ""
    journey = node.get("customerJourneySummary") or {}
    for visit in ("lastVisit", "firstVisit"):
        utm = ((journey.get(visit) or {}).get("utmParameters")) or {}
        if str(utm.get("source") or "").lower() == "tuike" and utm.get("campaign"):
            return "", str(utm["campaign"])
    return "", ""


def order_status(node: Json) -> str:
    financial = str(node.get("displayFinancialStatus") or "").upper()
    if node.get("cancelledAt") or financial in ("REFUNDED", "VOIDED"):
        return "cancelled"
    if financial in ("PAID", "PARTIALLY_REFUNDED"):
        return "settled"
    return "pending"


def order_from_node(node: Json, margin_ppm: int = 0) -> Order:
    """One order (the shop's own goods: one row per order, its current total after refunds)."""
    code, campaign = identity_of_order(node)
    created = _time(node.get("createdAt")) or datetime.fromtimestamp(0, UTC)
    total = ((node.get("currentTotalPriceSet") or node.get("totalPriceSet") or {}).get("shopMoney")) or {}
    paid = money_fen(total.get("amount"))
    status = order_status(node)
    lines = [n for n in ((node.get("lineItems") or {}).get("nodes") or []) if isinstance(n, dict)]
    first = lines[0] if lines else {}
    title = str(first.get("title") or node.get("name") or "")
    if len(lines) > 1:
        title += f" 等{len(lines)}件"
    return Order(
        order_id=str(node.get("legacyResourceId") or node.get("name") or ""),
        sku_id="0",
        product_id=str(((first.get("product") or {}).get("legacyResourceId")) or ""),
        title=title,
        paid_fen=paid,
        commission_fen=0 if status == "cancelled" else ratio_of(paid, margin_ppm),
        status=status,
        sharer_appid="",
        created_at=created,
        updated_at=_time(node.get("updatedAt")) or created,
        pid=code,
        tag=campaign,
    )
