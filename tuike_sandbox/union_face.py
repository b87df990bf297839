"""The mini-program union's wire face: `/union/promoter/*` over the shared sandbox catalogue.

As ../shared/reference/league-apis.md §2 describes it: camelCase, GET list endpoints with every
parameter in the query string, offset pages for products and spots, numbered pages for orders,
commission ratios in 1/10000, prices in fen, order amounts as display strings ("¥0.20", "-" while
pending). Tokens come from the same `/cgi-bin/*` endpoints as Channels (the shared `SandboxState`);
a token whose appid has no union promoter rights (the Channels sandbox org, for one) gets 48001.

Where the reference is silent the face decides, and says so with [U]:
* union product ids are 10-digit strings derived from the catalogue id (distinct from Channels ids);
  products the Channels side has off promotion (status ≠ 1) are not in the union, and a test can
  remove more; `product/generate` leaves a product that is not in the union out of its `list`;
* categories are the catalogue's level-1 categories, under short union catIds;
* 联盟精选 is a deterministic third of the catalogue, best sellers first;
* `sortType` 1/2 sort by price up/down, 3 by commission; anything else by sales;
* bad parameters get 40097 "invalid args"; a `generate` for an unknown pid gets 40097 too;
* `order/search` pages hold 10 orders and filter on payTime; a later status change (`settle` and
  `refund`, a test's "the buyer confirmed receipt") shows in `order/info` and in a search over the
  payment time, with its own `commissionStatusUpdateTime`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import random
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from tuike_sandbox.catalogue import Catalogue, SandboxCoupon, SandboxProduct
from tuike_sandbox.http import Request, Response
from tuike_sandbox.server import ApiError, SandboxState

PREFIX = "/union/promoter/"
PROMOTION_HOST = "https://mmbizurl.cn/s/"
ORDER_PAGE_SIZE = 10
DEFAULT_MAX_SPOTS = 100
NO_UNION_RIGHTS = frozenset({"wx_sandbox_org", "wx_test_org", "wx_no_union"})
"""Appids whose tokens the union refuses with 48001: Channels head-supplier accounts, not promoters."""
SHOP_PAGE = "pages/product/detail"
"""The shop mini program's product page [U]."""


def _invalid(what: str) -> ApiError:
    return ApiError(40097, f"invalid args: {what} rid: sbx-union")


def _arg(query: dict[str, str], name: str, default: int, low: int = 0, high: int = 2**62) -> int:
    raw = query.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _invalid(name) from None
    if not low <= value <= high:
        raise _invalid(name)
    return value


def union_product_id(product_id: int) -> str:
    """The union's id for a catalogue product: 10 digits, derived, stable across runs."""
    digest = hashlib.blake2b(f"union:{product_id}".encode(), digest_size=8).digest()
    return str(3_000_000_000 + int.from_bytes(digest, "big") % 6_999_999_999)


@lru_cache(maxsize=512)
def wxa_code(token: str) -> str:
    """A mini-program code image as the union sends it: a base64 PNG data URI, unique per link."""
    size, scale = 25, 4
    bits = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=64).digest(), "big")

    def dark(x: int, y: int) -> bool:
        for cx, cy in ((0, 0), (size - 7, 0), (0, size - 7)):  # the three corner eyes
            if cx <= x < cx + 7 and cy <= y < cy + 7:
                dx, dy = x - cx, y - cy
                ring = min(dx, dy, 6 - dx, 6 - dy)
                return ring != 1
        return bool(bits >> ((x * 31 + y * 17) % 512) & 1)

    rows = []
    for y in range(size * scale):
        row = bytes(0 if dark(x // scale, y // scale) else 255 for x in range(size * scale))
        rows.append(b"\x00" + row)
    pixels = size * scale

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", pixels, pixels, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )
    return "data:image/png;base64," + base64.b64encode(png).decode()


def spot_pid(name: str) -> str:
    """A spot's pid, derived from its name so that a later sandbox run knows it again [U: real pids are opaque]."""
    raw = name.encode()
    code = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return f"oUkIc7{code}_{zlib.crc32(raw) % 10**9:09d}"


def spot_name_of(pid: str) -> str | None:
    """The name inside a pid this sandbox made, or None for anything else."""
    body, _, check = pid.removeprefix("oUkIc7").rpartition("_")
    if not pid.startswith("oUkIc7") or not body or not check.isdigit():
        return None
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        name = raw.decode()
    except ValueError:
        return None
    return name if f"{zlib.crc32(raw) % 10**9:09d}" == check and 0 < len(name) <= 20 else None


@dataclass
class UnionLink:
    token: str
    union_id: str
    pid: str
    customize: str
    issued_at: float


@dataclass
class UnionState:
    """The union account's own state: its spots, links issued, products taken out of the union."""

    max_spots: int = DEFAULT_MAX_SPOTS
    spots: dict[str, str] = field(default_factory=dict)
    """pid → name, in creation order."""
    links: dict[str, UnionLink] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)
    """Union product ids taken out of the union at run time (a test's "product removed")."""
    deleted: set[str] = field(default_factory=set)
    """Spots deleted through `promotion/del`: never adopted again."""
    amount_quirks: dict[str, str] = field(default_factory=dict)
    """order id → a commission string to send instead of the real one (tests of odd formats)."""
    later: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    """order id → (commissionStatus, when it changed, the how-manyth change): settlements and
    refunds after the payment; each one is dated after the order's previous state."""
    changes: int = 0


class UnionFace:
    """`/union/promoter/*`: mount it on the sandbox server's dispatch table by that prefix."""

    prefix = PREFIX

    def __init__(self, state: SandboxState, *, max_spots: int = DEFAULT_MAX_SPOTS) -> None:
        self.state = state
        self.union = UnionState(max_spots=max_spots)
        self._orders: tuple[Any, list[dict[str, Any]]] | None = None
        catalogue = state.catalogue
        self._ids = {union_product_id(p.product_id): p for p in catalogue.products}
        if len(self._ids) != len(catalogue.products):
            raise ValueError("union product ids collide; change the derivation")
        tops = [c for c in catalogue.categories if c.level == 1]
        self._cat_ids = {c.cat_id: str(1001 + i) for i, c in enumerate(tops)}
        self._cat_names = {self._cat_ids[c.cat_id]: c.name for c in tops}
        self.routes: dict[tuple[str, str], Callable[[Request, dict[str, Any]], dict[str, Any]]] = {
            ("GET", "product/category"): self.categories,
            ("GET", "product/list"): self.product_list,
            ("GET", "product/select"): self.product_select,
            ("POST", "product/generate"): self.generate,
            ("POST", "promotion/add"): self.spot_add,
            ("POST", "promotion/del"): self.spot_del,
            ("POST", "promotion/upd"): self.spot_upd,
            ("GET", "promotion/list"): self.spot_list,
            ("GET", "order/search"): self.order_search,
            ("POST", "order/info"): self.order_info,
        }

    @property
    def paths(self) -> list[str]:
        """Every path this face serves, for the sandbox server's dispatch table."""
        return sorted({PREFIX + name for _, name in self.routes})

    # -- dispatch ----------------------------------------------------------------------------------

    async def __call__(self, request: Request) -> Response:
        state = self.state
        state.calls[request.path] += 1
        try:
            response = await self._handle(request)
        except ApiError as exc:
            state.log.append((request.path, exc.errcode))
            return _json({"errcode": exc.errcode, "errmsg": exc.errmsg})
        return response

    async def _handle(self, request: Request) -> Response:
        name = request.path[len(PREFIX) :] if request.path.startswith(PREFIX) else ""
        methods = {m for (m, n) in self.routes if n == name}
        if not methods:
            return Response(404, b'{"errcode":40066,"errmsg":"invalid url"}')
        if request.method not in methods:
            raise ApiError(43002 if "POST" in methods else 43001, f"require {min(methods)} method")
        body: dict[str, Any] = {}
        if request.method == "POST":
            if not request.body:
                raise ApiError(44002, "empty post data")
            try:
                loaded = json.loads(request.body)
            except ValueError:
                raise ApiError(47001, "data format error") from None
            if not isinstance(loaded, dict):
                raise ApiError(47001, "data format error")
            body = loaded
        token = self.state.check_token(request)
        if token.appid in NO_UNION_RIGHTS:
            raise ApiError(48001, "api unauthorized rid: sbx-union")
        injected = await self._fault()
        if injected is not None:
            return injected
        data = self.routes[(request.method, name)](request, body)
        self.state.log.append((request.path, 0))
        return _json({"errcode": 0, "errmsg": "ok", **data})

    async def _fault(self) -> Response | None:
        """The shared `Faults`, as the Channels face applies them."""
        state, faults = self.state, self.state.faults
        if faults.latency_s:
            await asyncio.sleep(faults.latency_s)
        if faults.fail_next:
            code = faults.fail_next.pop(0)
            if code == 500:
                return Response(500, b"<html>502 Bad Gateway</html>", "text/html")
            if code == -2:
                return Response(200, b'{"errcode":0,"errmsg":"ok","productList":[')
            raise ApiError(
                code, {-1: "system error", 45009: "reach max api daily quota limit"}.get(code, "error")
            )
        if faults.quota_exhausted:
            raise ApiError(45009, "reach max api daily quota limit rid: sbx-union")
        roll = state._rnd.random()
        if roll < faults.http_500_rate:
            return Response(500, b"<html>500</html>", "text/html")
        if roll < faults.http_500_rate + faults.malformed_rate:
            return Response(200, b'{"errcode":0,"errmsg":"ok",')
        if roll < faults.http_500_rate + faults.malformed_rate + faults.error_rate:
            raise ApiError(faults.errcode, "system error")
        return None

    # -- products ----------------------------------------------------------------------------------

    @property
    def catalogue(self) -> Catalogue:
        return self.state.catalogue

    def in_union(self, union_id: str) -> SandboxProduct | None:
        p = self._ids.get(union_id)
        if p is None or p.status != 1 or union_id in self.union.removed:
            return None
        return p

    def remove(self, union_id: str) -> None:
        """Take a product out of the union (its shop stopped promoting it)."""
        self.union.removed.add(union_id)

    def categories(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        return {"productCats": [{"catId": cid, "name": name} for cid, name in self._cat_names.items()]}

    def _coupon(self, p: SandboxProduct) -> SandboxCoupon | None:
        for cid in p.coupon_ids:
            c = self.catalogue.coupon(cid)
            if c is not None and c.receive_num < c.total_num:
                return c
        return None

    def _filtered(self, query: dict[str, str], *, keyword: bool) -> list[tuple[str, SandboxProduct]]:
        words = query.get("query", "").split() if keyword else []
        if keyword and query.get("queryType", "0") not in ("", "0", "1", "2"):
            raise _invalid("queryType")
        cat = query.get("categoryId", "")
        cats = {c for c in query.get("category", "").split(",") if c}
        no_cats = {c for c in query.get("noCategory", "").split(",") if c}
        shops = {s for s in query.get("shopAppIds", "").split(",") if s}
        ids = {i for i in query.get("productId", "").split(",") if i}
        low = _arg(query, "minPrice", 0)
        high = _arg(query, "maxPrice", 2**62)
        min_value = _arg(query, "minCommissionValue", 0)
        min_ratio = _arg(query, "minCommissionRatio", 0, 0, 10_000)
        has_coupon = _arg(query, "hasCoupon", -1, -1, 1)
        hits = []
        for union_id, p in self._ids.items():
            if self.in_union(union_id) is None or (ids and union_id not in ids):
                continue
            cat_id = self._cat_ids.get(p.category_id, "")
            if (cat and cat != cat_id) or (cats and cat_id not in cats) or cat_id in no_cats:
                continue
            if shops and p.shop_appid not in shops:
                continue
            haystack = p.title + " " + " ".join(p.keywords) + " " + p.shop_name
            if words and not all(w in haystack for w in words):
                continue
            price = min(s.price_fen for s in p.skus)
            ratio = p.commission_ratio_ppm // 100
            if not low <= price <= high or ratio < min_ratio or price * ratio // 10_000 < min_value:
                continue
            if has_coupon != -1 and (self._coupon(p) is not None) != bool(has_coupon):
                continue
            hits.append((union_id, p))
        sort = query.get("sortType", "")

        def price_of(hit: tuple[str, SandboxProduct]) -> int:
            return min(s.price_fen for s in hit[1].skus)

        if sort == "1":
            hits.sort(key=lambda h: (price_of(h), h[0]))
        elif sort == "2":
            hits.sort(key=lambda h: (-price_of(h), h[0]))
        elif sort == "3":
            hits.sort(key=lambda h: (-price_of(h) * h[1].commission_ratio_ppm, h[0]))
        else:
            hits.sort(key=lambda h: (-h[1].monthly_sales, h[0]))
        return hits

    def _page(self, query: dict[str, str], hits: list[tuple[str, SandboxProduct]]) -> dict[str, Any]:
        start = _arg(query, "from", 0)
        limit = _arg(query, "limit", 10, 1, 50)
        chunk = hits[start : start + limit]
        return {"productList": [self._item(uid, p) for uid, p in chunk], "total": len(hits)}

    def _item(self, union_id: str, p: SandboxProduct) -> dict[str, Any]:
        price = min(s.price_fen for s in p.skus)
        ratio = p.commission_ratio_ppm // 100
        coupon = self._coupon(p)
        start = int(self.state.started) - 86400
        coupon_info: dict[str, Any] = {"hasCoupon": 0}
        if coupon is not None:
            coupon_info = {
                "hasCoupon": 1,
                "couponId": coupon.coupon_id,
                "couponDetail": {
                    "restNum": coupon.total_num - coupon.receive_num,
                    "type": 1 if coupon.discount_num else 0,
                    "discountInfo": {
                        "discountCondition": {
                            "productCnt": 1,
                            "productIds": [union_id],
                            "productPrice": coupon.threshold_fen,
                        },
                        "discountNum": coupon.discount_num,
                        "discountFee": coupon.discount_fee_fen,
                    },
                    "receiveInfo": {"startTime": start, "endTime": start + 86400 * (coupon.valid_days + 1)},
                    "validInfo": {
                        "validType": 1,
                        "validDayNum": 0,
                        "startTime": start,
                        "endTime": start + 86400 * (coupon.valid_days + 1),
                    },
                },
            }
        cat_id = self._cat_ids.get(p.category_id, "")
        return {
            "productId": union_id,
            "product": {
                "productId": union_id,
                "status": 5,  # 上架
                "info": {
                    "title": p.title,
                    "subTitle": p.sub_title,
                    "headImg": list(p.head_imgs),
                    "category": [{"catId": cat_id, "name": self._cat_names.get(cat_id, "")}],
                    "minPrice": price,
                    "totalStockNum": sum(s.stock for s in p.skus),
                    "totalSoldNum": p.monthly_sales,
                },
                "skus": [
                    {
                        "skuId": s.sku_id,
                        "status": 5,
                        "productSkuInfo": {
                            "thumbImg": s.thumb_img,
                            "salePrice": s.price_fen,
                            "marketPrice": s.price_fen * 6 // 5,
                            "stockInfo": {"stockNum": s.stock},
                        },
                    }
                    for s in p.skus
                ],
            },
            "leagueExInfo": {
                "hasCommission": 1,
                "commissionRatio": ratio,
                "commissionValue": price * ratio // 10_000,
            },
            "shopInfo": {"appId": p.shop_appid, "name": p.shop_name, "headImgUrl": p.head_imgs[0]},
            "couponInfo": coupon_info,
        }

    def product_list(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        return self._page(request.query, self._filtered(request.query, keyword=True))

    def product_select(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        hits = [
            h
            for h in self._filtered(request.query, keyword=False)
            if int(hashlib.blake2b(h[0].encode(), digest_size=2).hexdigest(), 16) % 3 == 0
        ]
        return self._page(request.query, hits)

    # -- promotion material --------------------------------------------------------------------------

    def issue(self, union_id: str, pid: str, customize: str) -> UnionLink:
        for link in self.union.links.values():
            if (link.union_id, link.pid, link.customize) == (union_id, pid, customize):
                return link
        seed = f"{union_id}|{pid}|{customize}|{len(self.union.links)}"
        digest = hashlib.blake2b(seed.encode(), digest_size=9).digest()
        token = base64.b64encode(digest).decode().replace("+", "x").replace("/", "y")
        link = UnionLink(token, union_id, pid, customize, self.state.clock())
        self.union.links[token] = link
        return link

    def generate(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        pid = str(body.get("pid") or "")
        if pid not in self.union.spots and not self._adopt(pid):
            raise _invalid("pid")
        items = body.get("productList")
        if not isinstance(items, list) or not items or len(items) > 20:
            raise _invalid("productList")
        out = []
        for item in items:
            if not isinstance(item, dict):
                raise _invalid("productList")
            union_id = str(item.get("productId") or "")
            p = self.in_union(union_id)
            if p is None or str(item.get("appId") or p.shop_appid) != p.shop_appid:
                continue  # not (or no longer) in the union: left out [U]
            customize = str(item.get("customizeInfo") or "")
            link = self.issue(union_id, pid, customize)
            price = min(s.price_fen for s in p.skus)
            coupon = self._coupon(p)
            share: dict[str, Any] = {
                "appId": p.shop_appid,
                "path": f"{SHOP_PAGE}?productId={union_id}&promotionSourcePid={pid}&uk={link.token}",
                "wxaCode": wxa_code(link.token),
                "promotionWording": f"{p.title} 到手价¥{price // 100}.{price % 100:02d}",
                "promotionUrl": PROMOTION_HOST + link.token,
            }
            if coupon is not None:
                share["couponPromotionWording"] = f"领{coupon.name}券再下单"
                share["couponPromotionUrl"] = PROMOTION_HOST + link.token + "c"
            out.append(
                {
                    "pid": pid,
                    "productInfo": {
                        "productId": union_id,
                        "title": p.title,
                        "subTitle": p.sub_title,
                        "headImg": list(p.head_imgs),
                        "minPrice": price,
                        "shopName": p.shop_name,
                        "shopAppid": p.shop_appid,
                    },
                    "shareInfo": share,
                }
            )
        return {"list": out}

    # -- spots -----------------------------------------------------------------------------------------

    def spot_add(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        name = str(body.get("promotionSourceName") or "").strip()
        if not name or len(name) > 20:
            raise _invalid("promotionSourceName (1-20 个字)")
        if name in self.union.spots.values():
            raise ApiError(14007, "推广位名称重复")
        if len(self.union.spots) >= self.union.max_spots:
            raise ApiError(14005, "推广位数量达到上限")
        pid = spot_pid(name)
        self.union.spots[pid] = name
        return {"pid": pid}

    def _adopt(self, pid: str) -> bool:
        """A spot this sandbox made in an earlier run (the real account keeps its spots; the sandbox
        forgets them when the process ends): its pid names it, so it is known again unless deleted."""
        name = spot_name_of(pid)
        if name is None or pid in self.union.deleted or name in self.union.spots.values():
            return False
        if len(self.union.spots) >= self.union.max_spots:
            return False
        self.union.spots[pid] = name
        return True

    def _known_spot(self, pid: str, name: str) -> None:
        if self.union.spots.get(pid) != name:
            raise _invalid("promotionSourcePid / promotionSourceName")

    def spot_del(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        pid, name = str(body.get("promotionSourcePid") or ""), str(body.get("promotionSourceName") or "")
        self._known_spot(pid, name)
        del self.union.spots[pid]
        self.union.deleted.add(pid)
        return {}

    def spot_upd(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        old = body.get("previousPromotionInfo") or {}
        new = body.get("promotionInfo") or {}
        if not isinstance(old, dict) or not isinstance(new, dict):
            raise _invalid("promotionInfo")
        pid = str(old.get("promotionSourcePid") or "")
        self._known_spot(pid, str(old.get("promotionSourceName") or ""))
        name = str(new.get("promotionSourceName") or "").strip()
        if not name or len(name) > 20:
            raise _invalid("promotionSourceName (1-20 个字)")
        if name in self.union.spots.values() and self.union.spots[pid] != name:
            raise ApiError(14007, "推广位名称重复")
        self.union.spots[pid] = name
        return {}

    def spot_list(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        start = _arg(request.query, "start", 0)
        limit = _arg(request.query, "limit", 20, 1, 100)
        spots = list(self.union.spots.items())
        return {
            "promotionSourceList": [
                {"promotionSourcePid": pid, "promotionSourceName": name}
                for pid, name in spots[start : start + limit]
            ],
            "total": len(spots),
            "promotionMaxCnt": self.union.max_spots,
        }

    # -- orders ----------------------------------------------------------------------------------------

    def orders(self) -> list[dict[str, Any]]:
        """Orders for issued links: one to three per link, deterministic per link, paid after issue."""
        key = (
            len(self.union.links),
            tuple(self.union.amount_quirks.items()),
            tuple(self.union.spots.items()),
            tuple(self.union.later.items()),
        )
        if self._orders is None or self._orders[0] != key:
            self._orders = (key, self._make_orders())
        return self._orders[1]

    def _make_orders(self) -> list[dict[str, Any]]:
        out = []
        for link in self.union.links.values():
            p = self._ids.get(link.union_id)
            if p is None:
                continue
            rnd = random.Random(link.token)
            for n in range(1 + rnd.randint(0, 2)):
                sku = p.skus[rnd.randrange(len(p.skus))]
                count = rnd.choice((1, 1, 1, 2))
                paid = sku.price_fen * count
                ratio = p.commission_ratio_ppm // 100
                commission = paid * ratio // 10_000
                status = rnd.choice(
                    ("SETTLEMENT_PENDING", "SETTLEMENT_PENDING", "SETTLEMENT_SUCCESS", "SETTLEMENT_CANCELED")
                )
                digest = hashlib.blake2b(link.token.encode(), digest_size=6).digest()
                order_id = f"37{int.from_bytes(digest, 'big') % 10**12:012d}{n}"
                pay_time = int(link.issued_at) + 90 * (n + 1)
                changed_at = pay_time + 60
                hidden = status == "SETTLEMENT_PENDING" and rnd.random() < 0.5  # the same draws as ever
                if order_id in self.union.later:
                    status, at, nth = self.union.later[order_id]
                    changed_at = max(at, changed_at + nth)
                shown = _yuan(commission)
                if status == "SETTLEMENT_PENDING" and hidden:
                    shown = "-"
                elif status == "SETTLEMENT_CANCELED":
                    shown = "¥0"
                shown = self.union.amount_quirks.get(order_id, shown)
                out.append(
                    {
                        "orderId": order_id,
                        "payTime": pay_time,
                        "confirmReceiptTime": pay_time + 86400 * 3 if status == "SETTLEMENT_SUCCESS" else 0,
                        "shopName": p.shop_name,
                        "shopAppid": p.shop_appid,
                        "customizeInfo": link.customize,
                        "customUserId": "",
                        "userNickName": "沙盒买家",
                        "productList": [
                            {
                                "productId": link.union_id,
                                "skuId": sku.sku_id,
                                "title": p.title,
                                "thumbImg": sku.thumb_img,
                                "price": _yuan(paid),
                                "productCnt": count,
                                "ratio": ratio,
                                "commissionStatus": status,
                                "commissionStatusUpdateTime": str(changed_at),
                                "profitShardingSucTime": str(pay_time + 86400 * 10)
                                if status == "SETTLEMENT_SUCCESS"
                                else "",
                                "commission": shown,
                                "estimatedCommission": commission,
                                "categoryStr": self._cat_names.get(self._cat_ids.get(p.category_id, ""), ""),
                                "promotionInfo": {
                                    "promotionSourcePid": link.pid,
                                    "promotionSourceName": self.union.spots.get(link.pid, ""),
                                },
                                "customizeInfo": link.customize,
                            }
                        ],
                    }
                )
        out.sort(key=lambda o: (o["payTime"], o["orderId"]))
        return out

    def settle(self, order_id: str) -> None:
        """The buyer confirmed receipt and the union settled the order's commission, now."""
        self._change(order_id, "SETTLEMENT_SUCCESS")

    def refund(self, order_id: str) -> None:
        """The buyer got a refund: the order's commission is cancelled, now."""
        self._change(order_id, "SETTLEMENT_CANCELED")

    def _change(self, order_id: str, status: str) -> None:
        self.union.changes += 1
        self.union.later[order_id] = (status, int(self.state.clock()), self.union.changes)

    def order_search(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        q = request.query
        page = _arg(q, "page", 1, 1)
        start = _arg(q, "startTimestamp", 0)
        end = _arg(q, "endTimestamp", 2**62)
        if start > end:
            raise _invalid("startTimestamp > endTimestamp")
        wanted = {s for s in q.get("commissionStatus", "").split(",") if s}
        orders = [
            o
            for o in self.orders()
            if start <= o["payTime"] <= end
            and (not wanted or o["productList"][0]["commissionStatus"] in wanted)
        ]
        chunk = orders[(page - 1) * ORDER_PAGE_SIZE : page * ORDER_PAGE_SIZE]
        return {"orderList": chunk, "pageSize": ORDER_PAGE_SIZE, "totalNum": len(orders)}

    def order_info(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        ids = body.get("orderIdList")
        if not isinstance(ids, list) or not ids:
            raise _invalid("orderIdList")
        wanted = {str(i) for i in ids}
        return {"orderList": [o for o in self.orders() if o["orderId"] in wanted]}


def _yuan(fen: int) -> str:
    """Fen as the union displays it: "¥12.90", "¥0"."""
    return f"¥{fen // 100}.{fen % 100:02d}" if fen else "¥0"


def _json(data: dict[str, Any]) -> Response:
    return Response(200, json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())
