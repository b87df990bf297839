"""How deals are ordered for a shopper: used by keyword search and by the daily push alike.

It lives below both (the deals handler and the push planner) and orders by what the operator chose
in `[deals] rank_by`:

- "weighted" (the default): a mix of how much the coupon takes off and how many people bought it;
- "final_price": the price the shopper finally pays, cheapest first;
- "commission": what the operator earns per sale, most first;
- "sales": best sellers first.

For a keyword search, how well a title answers the keyword comes first (bot/leagues/relevance.py):
the chosen order ranks among equally relevant products, never a cable above the phone asked for.
A keyword that is a product's whole title is answered with that product alone (and any other that
bears the very same title), not with two look-alikes beside it.
Scores order products and never touch a price, so the float in the weighted mix is harmless.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Literal

from bot.leagues.base import Product
from bot.leagues.relevance import is_title, title_relevance

RankBy = Literal["weighted", "final_price", "commission", "sales"]


def shopper_score(product: Product) -> float:
    coupon = product.best_coupon()
    saving = (coupon.amount_fen / product.price_fen) if coupon and product.price_fen else 0.0
    popularity = math.log10(product.sales + 1)  # 0 … ~6
    return popularity + 4.0 * saving


def commission_fen(product: Product) -> int:
    """What one sale earns: the league's amount, or its ratio of the price after coupon."""
    if product.commission is None:
        return 0
    if product.commission.amount_fen:
        return product.commission.amount_fen
    return product.final_price_fen * product.commission.ratio_ppm // 1_000_000


_KEYS: dict[str, Callable[[Product], tuple[float | int | str, ...]]] = {
    "weighted": lambda p: (-shopper_score(p), p.final_price_fen, p.product_id),
    "final_price": lambda p: (p.final_price_fen, -p.sales, p.product_id),
    "commission": lambda p: (-commission_fen(p), p.final_price_fen, p.product_id),
    "sales": lambda p: (-p.sales, p.final_price_fen, p.product_id),
}


def _key(rank_by: RankBy, keyword: str) -> Callable[[Product], tuple[float | int | str, ...]]:
    order = _KEYS[rank_by]
    if not keyword.strip():
        return order
    return lambda p: (-title_relevance(keyword, p.title), *order(p))


def rank_products(
    products: Iterable[Product], rank_by: RankBy = "weighted", keyword: str = ""
) -> list[Product]:
    """Best first by `rank_by` (after relevance to `keyword`, when there is one); ties go to the lower
    price after coupon, then the id (a stable order)."""
    return sorted(products, key=_key(rank_by, keyword))


def mix_leagues(
    per_league: list[list[Product]], limit: int, rank_by: RankBy = "weighted", keyword: str = ""
) -> list[Product]:
    """Results of several leagues ranked together.

    One league: `rank_products` as always. Several: each league's best is in, in the operator's league
    order, so every searched league shows; the rest of the places go to the best remaining; then the
    chosen are shown in `rank_by` order (the weighted mix shows them cheapest after coupon first),
    the most relevant to `keyword` first. When `keyword` is some products' whole title, only those.
    """
    titled = [[p for p in products if is_title(keyword, p.title)] for products in per_league]
    if any(titled):
        per_league = titled
    lists = [rank_products(products, rank_by, keyword) for products in per_league if products]
    if len(lists) <= 1:
        return lists[0][:limit] if lists else []
    chosen = [ranked[0] for ranked in lists][:limit]
    rest = rank_products((p for ranked in lists for p in ranked[1:]), rank_by, keyword)
    chosen += rest[: limit - len(chosen)]
    if rank_by == "weighted":
        return sorted(
            chosen,
            key=lambda p: (-title_relevance(keyword, p.title), p.final_price_fen, p.platform, p.product_id),
        )
    return rank_products(chosen, rank_by, keyword)
