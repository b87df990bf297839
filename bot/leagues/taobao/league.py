"""`TaobaoLeague`: 淘宝联盟 behind the `League` protocol.

Methods chosen (reference §3.3):
- keyword search: `taobao.tbk.dg.material.optional.upgrade`; if the gateway says the method is not
  available to this app (code 21/22) the league switches to the legacy `…material.optional` for good.
  Both response shapes are read (`mapping`).
- item detail: `taobao.tbk.item.info.upgrade.get`, legacy `taobao.tbk.item.info.get` the same way.
- a pasted link or 淘口令 → product: `taobao.tbk.dg.general.link.convert` (万能转链) with
  `material_list`, read for `link_info_dto.material_id`; then the item detail.
- a group's link: `taobao.tbk.dg.general.link.convert` with `item_id_list` and the group's
  `adzone_id` (its own 推广位), then `taobao.tbk.tpwd.create` on the returned short link for the 淘口令.
- orders: `taobao.tbk.order.details.get` over ≤ 3 h windows, paged by `position_index`.
- a push with no category (no keyword either): `taobao.tbk.dg.optimus.material` (物料精选).

Per-group attribution: each group takes one adzone from the configured pool (`adzones`, all under the
PID's member and site), chosen once and kept in the store (`choose_identity`); orders carry
`adzone_id`, so each order maps back to its group. When the pool is used up, new groups share the PID's
own adzone (tagged with the group key so their links still cache apart) and the operator is warned.

Degraded mode: when TOP keeps throttling (`Throttled`) the league stops calling for `cooldown`
seconds and answers from its caches (of any age); with nothing cached it says `LeagueUnavailable`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from bot.leagues.base import (
    Category,
    LeagueUnavailable,
    NotPromotable,
    Order,
    Platform,
    Product,
    ProductNotFound,
    PromotionLink,
    SearchQuery,
    Spot,
)
from bot.leagues.taobao.client import TopClient
from bot.leagues.taobao.errors import INVALID_METHOD, Throttled, TopApiError
from bot.leagues.taobao.mapping import items, order_of, product_of
from bot.leagues.ttlcache import TtlCache

log = logging.getLogger(__name__)

T = TypeVar("T")
ORDER_WINDOW = timedelta(hours=3)
FEATURED_MATERIAL = "3756"
"""`taobao.tbk.dg.optimus.material` list used when a push names no category ([U]: an official id)."""
_EXPIRED_HINTS = ("过期", "已失效", "expired")
_NOT_ALLIANCE_HINTS = ("不参与", "非淘客", "无佣金", "not-in-alliance", "not in alliance", "no commission")


def split_pid(pid: str) -> tuple[str, str, str]:
    """`mm_<member>_<site>_<adzone>` → (member, site, adzone)."""
    parts = pid.split("_")
    if len(parts) != 4 or parts[0] != "mm" or not all(p.isdigit() for p in parts[1:]):
        raise ValueError(f"not a Taobao PID: {pid!r}")
    return parts[1], parts[2], parts[3]


class TaobaoLeague:
    name = "taobao"
    platform: Platform = "taobao"

    def __init__(
        self,
        client: TopClient,
        *,
        pid: str,
        adzones: Sequence[str] = (),
        detail_ttl: float = 300.0,
        cooldown: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.pid = pid
        self.member, self.site, self.adzone = split_pid(pid)
        self.pool = [f"mm_{self.member}_{self.site}_{a}" for a in adzones]
        self.cooldown = cooldown
        self.clock = clock
        self._details = TtlCache(detail_ttl, clock=clock)
        self._searches = TtlCache(detail_ttl, clock=clock)
        self._cool_until = 0.0
        self._legacy_search = False
        self._legacy_detail = False
        self._warned_pool = False

    @property
    def degraded(self) -> bool:
        return self.clock() < self._cool_until

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- degraded mode -----------------------------------------------------------------------------

    async def _degradable(self, key: Any, cache: TtlCache, fetch: Callable[[], Awaitable[T]]) -> T:
        fresh = cache.get(key)
        if fresh is not None:
            return fresh  # type: ignore[no-any-return]
        if self.degraded:
            stale = cache.get(key, stale_ok=True)
            if stale is not None:
                return stale  # type: ignore[no-any-return]
            raise LeagueUnavailable("淘宝联盟 is throttling us: cooling down")
        try:
            value = await fetch()
        except Throttled:
            self._cool_until = self.clock() + self.cooldown
            log.warning("taobao: throttled after retries; degraded for %.0fs", self.cooldown)
            stale = cache.get(key, stale_ok=True)
            if stale is not None:
                return stale  # type: ignore[no-any-return]
            raise
        cache.put(key, value)
        return value

    async def _call_or_legacy(self, flag: str, call: Callable[[bool], Awaitable[T]]) -> T:
        """The current method, or the legacy one for good once the gateway says it has no such method."""
        if getattr(self, flag):
            return await call(True)
        try:
            return await call(False)
        except TopApiError as exc:
            if exc.fault.code not in INVALID_METHOD:
                raise
            log.warning("taobao: %s not available to this app; using the legacy method", exc.method)
            setattr(self, flag, True)
            return await call(True)

    # -- products ----------------------------------------------------------------------------------

    async def search(self, query: SearchQuery) -> list[Product]:
        async def fetch() -> list[Product]:
            extra: dict[str, object] = {}
            if query.category_id:
                extra["cat"] = query.category_id
            if query.min_price_fen is not None:
                extra["start_price"] = query.min_price_fen // 100
            if query.max_price_fen is not None:
                extra["end_price"] = -(-query.max_price_fen // 100)
            if not query.keyword and not query.category_id:
                # TOP's search needs q or cat: the day's picks come from an official material list
                data = await self.client.optimus(
                    adzone_id=self.adzone,
                    material_id=FEATURED_MATERIAL,
                    page_size=min(max(query.limit, 1), 100),
                )
            else:
                data = await self._call_or_legacy(
                    "_legacy_search",
                    lambda legacy: self.client.material_search(
                        adzone_id=self.adzone,
                        q=query.keyword,
                        page_size=min(max(query.limit, 1), 100),
                        legacy=legacy,
                        extra=extra,
                    ),
                )
            now = datetime.now(UTC)
            found = []
            for raw in items(data.get("result_list"), "map_data"):
                product = product_of(raw, now)
                if not product.product_id or product.price_fen <= 0:
                    continue
                self._details.put(product.product_id, product)
                found.append(product)
            return found[: query.limit]

        key = (query.keyword, query.category_id, query.min_price_fen, query.max_price_fen, query.limit)
        return await self._degradable(key, self._searches, fetch)

    async def product(self, product_id: str, shop_id: str = "") -> Product:
        async def fetch() -> Product:
            data = await self._call_or_legacy(
                "_legacy_detail", lambda legacy: self.client.item_info([product_id], legacy=legacy)
            )
            results = items(data.get("results"), "tbk_item_detail", "n_tbk_item")
            if not results:
                raise ProductNotFound(f"taobao item {product_id} not found")
            product = product_of(results[0])
            if not product.product_id:
                product = replace(product, product_id=product_id)
            return product

        product = await self._degradable(product_id, self._details, fetch)
        if product.commission is not None and product.commission.ratio_ppm <= 0:
            raise NotPromotable("not_alliance", f"taobao item {product_id} pays no commission")
        return product

    async def lookup_link(self, url: str) -> Product:
        """A pasted link or 淘口令 (someone else's) → the product, through 万能转链."""
        if self.degraded:
            raise LeagueUnavailable("淘宝联盟 is throttling us: cooling down")
        try:
            data = await self.client.link_convert(adzone_id=self.adzone, site_id=self.site, material=url)
        except Throttled:
            self._cool_until = self.clock() + self.cooldown
            raise
        entry = self._entry(data, "material_url_list")
        info = entry.get("link_info_dto") or {}
        item_id = str(info.get("material_id") or "")
        if str(info.get("material_type") or "1") != "1" or not item_id:
            raise NotPromotable("code_unresolved", f"{url} is not a single item")
        return await self.product(item_id)

    @staticmethod
    def _entry(data: dict[str, Any], list_name: str) -> dict[str, Any]:
        """The one converted material, or the reason it could not be converted."""
        body = data.get("data") or {}
        found = items(body.get(list_name), list_name)
        if not found:
            raise NotPromotable("code_unresolved", "nothing converted")
        entry = found[0]
        code = str(entry.get("code") or "0")
        if code not in ("0", ""):
            msg = str(entry.get("msg") or "")
            if any(h in msg.lower() for h in _EXPIRED_HINTS):
                raise NotPromotable("coupon_expired", msg)
            if any(h in msg.lower() for h in _NOT_ALLIANCE_HINTS):
                raise NotPromotable("not_alliance", msg)
            raise NotPromotable("code_unresolved", msg or f"code {code}")
        return entry

    async def promote(self, product: Product, spot: Spot) -> PromotionLink:
        pid = spot.pid or self.pid
        _member, site, adzone = split_pid(pid)
        data = await self.client.link_convert(adzone_id=adzone, site_id=site, item_id=product.product_id)
        info = self._entry(data, "item_url_list").get("link_info_dto") or {}
        url = str(info.get("coupon_short_url") or info.get("cps_short_url") or "")
        if not url:
            raise NotPromotable("not_alliance", f"no link for {product.product_id}")
        made = await self.client.tpwd_create(url, product.title[:30])
        tpwd = made.get("data") or {}
        model = str(tpwd.get("model") or "")
        short = next((w for w in model.split() if w.startswith("https://m.tb.cn/")), "")
        return PromotionLink(
            product_id=product.product_id,
            spot=spot,
            shop_id=product.shop_id,
            short_link=short,
            http_short_link=url,
            code=str(tpwd.get("password_simple") or ""),
        )

    async def featured(self, category_id: str, limit: int) -> list[Product]:
        return await self.search(SearchQuery(category_id=category_id, limit=limit))

    async def categories(self) -> list[Category]:
        return []  # the tbk APIs have no category tree; pushes filter by the items' own category names

    # -- attribution -------------------------------------------------------------------------------

    async def choose_identity(self, group_key: str, taken: set[tuple[str, str]]) -> tuple[str, str]:
        """The first pool adzone no group holds; the PID's own adzone tagged by group when none is left."""
        for pid in self.pool:
            if (pid, "") not in taken:
                return pid, ""
        if not self._warned_pool:
            self._warned_pool = True
            log.warning(
                "taobao: all %d adzones in [leagues.taobao] adzones are taken; new groups share %s "
                "(add adzones to tell their orders apart)",
                len(self.pool),
                self.pid,
            )
        return self.pid, group_key

    # -- orders ------------------------------------------------------------------------------------

    async def orders_since(self, since: datetime, until: datetime | None = None) -> list[Order]:
        """Orders changed since `since`, window by window (≤ 3 h each), page by page."""
        end_all = until or datetime.now(UTC)
        out: list[Order] = []
        start = since
        while start < end_all:
            end = min(start + ORDER_WINDOW, end_all)
            page_no, position = 1, ""
            while True:
                data = await self.client.order_details(start, end, page_no=page_no, position_index=position)
                body = data.get("data") or {}
                out += [
                    order_of(raw, self.member) for raw in items(body.get("results"), "publisher_order_dto")
                ]
                position = str(body.get("position_index") or "")
                if not body.get("has_next") or not position:
                    break
                page_no += 1
            start = end
        return out
