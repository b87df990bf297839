"""Youzan wire items and salesman trades → domain types.

An item's `price` is integer fen already; `origin` (the struck-through price) and everything in a
salesman trade (`money`, `cps_money`, items' `price`) are yuan strings, turned into fen through
`Decimal`, never a float. Trade times are `"YYYY-MM-DD HH:MM:SS"` in China time or Unix seconds.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from bot.leagues.base import Commission, Order, Product, ratio_of

Json = dict[str, Any]

BADGE = "自营"
"""How members see the operator's own goods beside affiliate deals."""
CHINA = timezone(timedelta(hours=8))
STATE_DONE = 100
"""`state` of a trade: 3 unpaid, 5 paid, 6 shipped, 100 done; 99 and below 0 closed (leniently)."""
SETTLED = 2
"""`settle_state`: 1 pending, 2 settled, 3 balance too low, 4 retrying, 5 cash on delivery."""


def _decimal(value: Any) -> Decimal:
    if value is None or isinstance(value, bool):
        return Decimal(0)
    try:
        result = Decimal(str(value).strip() or "0")
    except InvalidOperation:
        return Decimal(0)
    return result if result.is_finite() else Decimal(0)


def yuan_to_fen(value: Any) -> int:
    """`"139.70"` → 13970, `"20"` → 2000 (half up past the fen)."""
    return int((_decimal(value) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def fen(value: Any) -> int:
    """An integer fen field (`price`), leniently."""
    return int(_decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def fans_id_of(group_key: str) -> int:
    """A group's salesman: a 自有粉丝 id derived from the group (10 digits, stable across restarts)."""
    return 8_000_000_000 + int.from_bytes(hashlib.blake2b(group_key.encode(), digest_size=8).digest()) % 10**9


def group_tag(group_key: str) -> str:
    return "yz" + hashlib.blake2b(group_key.encode(), digest_size=6).hexdigest()


def item_url(alias: str) -> str:
    return f"https://h5.youzan.com/v2/goods/{alias}"


def on_sale(item: Json) -> bool:
    """Listed and in stock (`is_listing` false or `quantity` 0: taken off sale or sold out)."""
    if item.get("is_listing") in (False, 0, "0", "false"):
        return False
    return "quantity" not in item or fen(item.get("quantity")) > 0


def product_from_item(item: Json, margin_ppm: int = 0) -> Product:
    price = fen(item.get("price"))
    origin = yuan_to_fen(item.get("origin"))
    images = [str(i.get("url")) for i in item.get("item_imgs") or () if isinstance(i, dict) and i.get("url")]
    if item.get("image"):
        images.insert(0, str(item["image"]))
    return Product(
        platform="youzan",
        product_id=str(item.get("item_id") or ""),
        title=str(item.get("title") or ""),
        price_fen=price,
        shop_id=str(item.get("alias") or ""),
        images=tuple(dict.fromkeys(images)),
        sales=fen(item.get("sold_num")),
        commission=Commission(margin_ppm, ratio_of(price, margin_ppm)),
        promotion_param=str(item.get("detail_url") or ""),
        list_price_fen=origin if origin > price else 0,
        badges=(BADGE,),
    )


def trade_time(value: Any) -> datetime | None:
    if isinstance(value, int | Decimal) or (isinstance(value, str) and value.isdigit()):
        seconds = int(value)
        return datetime.fromtimestamp(seconds / 1000 if seconds > 1e11 else seconds, UTC) if seconds else None
    try:
        return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA).astimezone(UTC)
    except ValueError:
        return None


def trade_status(row: Json) -> str:
    state = fen(row.get("state"))
    if state == 99 or state < 0 or str(row.get("status") or "").upper().startswith("TRADE_CLOSED"):
        return "cancelled"
    if fen(row.get("settle_state")) == SETTLED:
        return "settled"
    return "pending"


def orders_from_trade(row: Json, pid: str, tag: str) -> list[Order]:
    """One salesman trade → one `Order` per line (`items[]`), carrying the salesman's identity."""
    order_no = str(row.get("order_no") or "")
    created = trade_time(row.get("created_at")) or datetime.fromtimestamp(0, UTC)
    updated = trade_time(row.get("update_time") or row.get("settled_at")) or created
    updated = max(updated, created)
    status = trade_status(row)
    lines = [i for i in row.get("items") or () if isinstance(i, dict)]
    out: list[Order] = []
    if not lines:
        lines = [
            {
                "num_iid": "",
                "title": "",
                "price": row.get("money"),
                "num": 1,
                "i_cps_money": row.get("cps_money"),
            }
        ]
    for n, line in enumerate(lines):
        item_id = str(line.get("num_iid") or line.get("item_id") or "")
        count = max(fen(line.get("num") or 1), 1)
        commission = yuan_to_fen(line.get("i_cps_money") if "i_cps_money" in line else row.get("cps_money"))
        out.append(
            Order(
                order_id=order_no,
                sku_id=item_id or str(n),
                product_id=item_id,
                title=str(line.get("title") or ""),
                paid_fen=yuan_to_fen(line.get("price")) * count,
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
