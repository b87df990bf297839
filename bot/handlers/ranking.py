"""How deals are ordered for a shopper: used by keyword search and by the daily push alike.

A shopper cares about the price they finally pay, how much the coupon takes off, and whether other
people bought it. The score mixes the three; it orders products and never touches a price, so the
float here is harmless.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from bot.leagues.base import Product


def shopper_score(product: Product) -> float:
    coupon = product.best_coupon()
    saving = (coupon.amount_fen / product.price_fen) if coupon and product.price_fen else 0.0
    popularity = math.log10(product.sales + 1)  # 0 … ~6
    return popularity + 4.0 * saving


def rank_products(products: Iterable[Product]) -> list[Product]:
    """Best first; ties go to the lower price after coupon, then the id for a stable order."""
    return sorted(products, key=lambda p: (-shopper_score(p), p.final_price_fen, p.product_id))
