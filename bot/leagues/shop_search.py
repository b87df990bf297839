"""A shop league's keyword search through its answer cache (Youzan, Shopify): a fresh answer is reused, a
shop that is down or throttling answers from what it said last, and each product found is cached for
the detail look-up that usually follows.

The shops differ in how they ask and what they skip; the caching, the price bounds and the degraded
answer are the same, so they live here once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from bot.leagues.base import Product, SearchQuery
from bot.leagues.ttlcache import TtlCache

log = logging.getLogger(__name__)


async def cached_search(
    cache: TtlCache,
    key: tuple[Any, ...],
    query: SearchQuery,
    fetch: Callable[[], Awaitable[Iterable[Product]]],
    *,
    unavailable: type[Exception],
    product_key: str,
    degraded: str,
) -> list[Product]:
    """`fetch` asks the shop and maps what it may promote; `unavailable` is the shop's "not now" (its
    stale answer is used when there is one); `product_key` names a product's own cache entries;
    `degraded` starts the log line of a stale answer ("youzan: unavailable")."""
    hit = cache.get(key)
    if hit is not None:
        return list(hit)
    try:
        products = await fetch()
    except unavailable:
        stale = cache.get(key, stale_ok=True)  # degraded: what the shop said last
        if stale is None:
            raise
        log.warning("%s; answering %r from what the shop said last", degraded, query.keyword)
        return list(stale)
    out = [p for p in products if p.product_id and query.admits_price(p.final_price_fen)]
    for p in out:
        cache.put((product_key, p.product_id), p)
    found = tuple(out[: query.limit])
    cache.put(key, found)
    return list(found)
