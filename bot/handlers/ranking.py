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


def mix_leagues(per_league: list[list[Product]], limit: int) -> list[Product]:
    """Results of several leagues ranked together: cheapest after coupon first.

    One league: `rank_products` as always. Several: each league's best (by shopper score) is in, in
    the operator's league order, so every searched league shows; the rest of the places go to the best
    remaining by shopper score; then the chosen are ordered by price after coupon.
    """
    lists = [rank_products(products) for products in per_league if products]
    if len(lists) <= 1:
        return lists[0][:limit] if lists else []
    chosen = [ranked[0] for ranked in lists][:limit]
    rest = rank_products(p for ranked in lists for p in ranked[1:])
    chosen += rest[: limit - len(chosen)]
    return sorted(chosen, key=lambda p: (p.final_price_fen, p.platform, p.product_id))
