"""The sandbox's JD union face: JOS `routerjson` over the shared catalogue, as league-apis.md §4.1–4.2 say.

It checks what the real gateway checks (app_key, md5 signature over every non-empty parameter with the
`360buy_param_json` string as sent, Beijing-time timestamp within ten minutes, method name) and refuses
with the gateway's `error_response`; business answers come wrapped twice, an outer
`jd_union_open_…_responce` holding the inner result as a JSON *string* with its own `code` (200).

Ids are JD's own: a product's skuId is derived from its catalogue id here and nowhere else
(`jd_sku`), so the same seed always gives the same skuIds. Money is yuan numbers and commission a
percentage, as JD sends them. Links issued here (`u.jd.com/…`, `union-click.jd.com/jdc?…`, `3.cn/…` in the
京口令) can be converted again by anyone, and orders appear for them, carrying the `subUnionId` and
`positionId` the link was made with.

Error codes the reference could not confirm ([U]) are chosen here and named in `CODES`: gateway 21
(app_key), 22 (signature), 43 (timestamp), 15 (method), 67 (rate limit); inner 403 (API not applied
for), 400 (parameter), 2001503 (not a union item), 2001901/2001906 (coupon host / expired),
2002113 (siteId is not a website/APP).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from bot.leagues.jd.sandbox_account import (
    DEFAULT_APP_KEY,
    DEFAULT_APP_SECRET,
    PATH,
    SOCIAL_SITE_ID,
    WEBSITE_SITE_ID,
)
from tuike_sandbox.catalogue import Catalogue, SandboxCoupon, SandboxProduct
from tuike_sandbox.http import Request, Response

BEIJING = timezone(timedelta(hours=8))
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
SKEW_S = 600

UNION_ID = 1000876543

ALL_APIS = frozenset(
    {
        "jd.union.open.goods.query",
        "jd.union.open.goods.jingfen.query",
        "jd.union.open.promotion.bysubunionid.get",
        "jd.union.open.promotion.common.get",
        "jd.union.open.order.row.query",
    }
)
OPEN_APIS = frozenset({"jd.union.open.promotion.common.get", "jd.union.open.order.row.query"})
"""What an account has before applying for anything (the rest need an application on union.jd.com)."""

CODES = {
    "app_key": ("21", "key={} 信息无效", "Invalid app_key"),
    "sign": ("22", "签名无效", "Invalid signature"),
    "timestamp": ("43", "时间戳不合法或已过期", "Invalid timestamp"),
    "method": ("15", "不存在的方法名", "Invalid Method"),
    "throttle": ("67", "调用频率超过限制", "Call limit exceeded"),
}
NOT_UNION = 2001503
COUPON_HOST = 2001901
COUPON_EXPIRED = 2001906
SITE_TYPE = 2002113

_CID1 = {
    "家清日用": 15901,
    "食品生鲜": 1320,
    "服饰鞋包": 1315,
    "个护美妆": 1316,
    "图书": 1713,
    "手机数码": 9987,
    "家用电器": 737,
    "母婴玩具": 1319,
    "运动户外": 1318,
    "宠物用品": 6994,
    "家居家装": 1620,
}
_ITEM_PATH = re.compile(r"^/(?:product/)?(\d{6,15})\.html$")
_SUB_UNION_ID = re.compile(r"^[A-Za-z0-9_]{1,80}$")
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _digest(*parts: object) -> int:
    return int.from_bytes(hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest(), "big")


def _token(n: int, length: int) -> str:
    out = []
    for _ in range(length):
        n, r = divmod(n, 62)
        out.append(_BASE62[r])
    return "".join(out)


def _untoken(text: str) -> int:
    return sum(_BASE62.index(c) * 62**i for i, c in enumerate(text))


def jd_sku(product_id: int) -> int:
    """A product's JD skuId: 12 digits starting with 1, derived from its catalogue id."""
    return 100_000_000_000 + _digest("jd-sku", product_id) % 900_000_000_000


def _yuan(fen: int) -> float:
    """Fen as the yuan number JD writes (`99.9`): the sandbox plays the gateway, floats and all."""
    return fen / 100


def sign(params: dict[str, str], secret: str) -> str:
    body = "".join(f"{k}{v}" for k, v in sorted(params.items()) if k != "sign" and v != "")
    return hashlib.md5(f"{secret}{body}{secret}".encode()).hexdigest().upper()


class _Refused(Exception):
    def __init__(self, kind: str, *args: str) -> None:
        super().__init__(kind)
        self.kind = kind
        self.args_ = args


class _Inner(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class JdApp:
    secret: str
    apis: frozenset[str] = ALL_APIS
    social_site_id: str = SOCIAL_SITE_ID
    website_site_id: str = WEBSITE_SITE_ID


@dataclass(frozen=True)
class JdLink:
    token: str
    sku: int
    sub_union_id: str
    position_id: str
    site_id: str
    ext1: str
    issued_at: float


@dataclass
class JdFaults:
    fail_next: list[str] = field(default_factory=list)
    """Per business call, in order: "500", "malformed", "throttle", "busy" (inner 500)."""
    latency_s: float = 0.0
    """Extra time before every answer (a slow gateway)."""
    inner_as_object: bool = False
    """Send the inner result as an already-parsed object (some clients have seen this, [S])."""


class JdFace:
    """`await face(request)`: one HTTP request to `/routerjson` in, the JOS answer out."""

    path = PATH

    def __init__(self, catalogue: Catalogue, clock: Callable[[], float] = time.time) -> None:
        self.catalogue = catalogue
        self.clock = clock
        self.apps: dict[str, JdApp] = {DEFAULT_APP_KEY: JdApp(DEFAULT_APP_SECRET)}
        self.links: dict[str, JdLink] = {}
        self.calls: Counter[str] = Counter()
        self.faults = JdFaults()
        self._by_sku: dict[int, SandboxProduct] = {}
        for p in catalogue.products:
            sku = jd_sku(p.product_id)
            if sku in self._by_sku:
                raise ValueError(f"JD skuId collision for {p.product_id}")
            self._by_sku[sku] = p
        self._cat_names = {c.cat_id: c.name for c in catalogue.categories}
        self._by_item_id = {self.item_id(p): jd_sku(p.product_id) for p in catalogue.products}

    def register_app(self, app_key: str, secret: str, *, apis: frozenset[str] = ALL_APIS) -> JdApp:
        app = JdApp(secret, apis)
        self.apps[app_key] = app
        return app

    # -- catalogue in JD's terms ----------------------------------------------------------------

    def product(self, sku: int | str) -> SandboxProduct | None:
        try:
            return self._by_sku.get(int(sku))
        except ValueError:
            return None

    @staticmethod
    def item_id(p: SandboxProduct) -> str:
        """The 联盟商品ID (itemId) JD gives items besides the skuId; jingfen.jd.com links carry it."""
        return f"sbx{_token(_digest('jd-item', p.product_id), 20)}"

    @staticmethod
    def promotable(p: SandboxProduct) -> bool:
        return p.status == 1

    @staticmethod
    def self_operated(p: SandboxProduct) -> bool:
        """About two in five items are 京东自营 (owner "g"); the rest are POP shops."""
        return _digest("jd-owner", p.product_id) % 5 < 2

    @staticmethod
    def share_percent(p: SandboxProduct) -> float:
        """Commission in JD's unit, percent; 定向-only items (plan_type 1) carry none."""
        return 0.0 if p.plan_type == 1 else p.commission_ratio_ppm / 10_000

    def coupon_expired(self, c: SandboxCoupon) -> bool:
        return c.total_num > 0 and c.receive_num >= c.total_num

    def _coupon_link(self, c: SandboxCoupon) -> str:
        key = _token(_digest("jd-coupon", c.coupon_id), 24)
        return f"https://coupon.m.jd.com/coupons/show.action?key={key}&roleId={c.coupon_id}&to=item.jd.com"

    def _coupon_by_link(self, link: str) -> SandboxCoupon | None:
        role = (parse_qs(urlsplit(link).query).get("roleId") or [""])[0]
        return self.catalogue.coupon(role)

    def _coupons(self, p: SandboxProduct, price: int) -> list[dict[str, Any]]:
        now_ms = int(self.clock() * 1000)
        day = 86_400_000
        out: list[dict[str, Any]] = []
        for cid in p.coupon_ids:
            c = self.catalogue.coupon(cid)
            if c is None:
                continue
            off = c.discount_fee_fen or (price - price * c.discount_num // 10_000) // 100 * 100
            expired = self.coupon_expired(c)
            start = now_ms - day * (c.valid_days + (3 if expired else 1))
            end = now_ms - day if expired else now_ms + day * c.valid_days
            out.append(
                {
                    "link": self._coupon_link(c),
                    "discount": _yuan(off),
                    "quota": _yuan(c.threshold_fen),
                    "bindType": 3 if len(c.product_ids) > 1 else 1,
                    "platformType": 0,
                    "isBest": 0,
                    "getStartTime": start,
                    "getEndTime": end,
                    "useStartTime": start,
                    "useEndTime": end,
                    "hotValue": c.receive_num % 6,
                }
            )
        usable = [c for c in out if c["useEndTime"] > now_ms and c["quota"] <= _yuan(price)]
        if usable:
            max(usable, key=lambda c: c["discount"])["isBest"] = 1
        return out

    def item(self, p: SandboxProduct) -> dict[str, Any]:
        sku = jd_sku(p.product_id)
        price = min(s.price_fen for s in p.skus)
        coupons = self._coupons(p, price)
        best = next((c for c in coupons if c["isBest"]), None)
        coupon_price = price - round(best["discount"] * 100) if best else price
        share = self.share_percent(p)
        owner = "g" if self.self_operated(p) else "p"
        brand = p.keywords[-1] if p.keywords else ""
        shop = f"{brand}京东自营旗舰店" if owner == "g" else p.shop_name
        cid1_name = self._cat_names.get(p.category_id, "")
        return {
            "skuId": sku,
            "itemId": self.item_id(p),
            "spuid": sku,
            "skuName": p.title,
            "owner": owner,
            "brandName": brand,
            "materialUrl": f"item.jd.com/{sku}.html",
            "priceInfo": {
                "price": _yuan(price),
                "lowestPrice": _yuan(price),
                "lowestPriceType": 1,
                "lowestCouponPrice": _yuan(coupon_price),
            },
            "commissionInfo": {
                "commission": round(price * share / 10_000, 2),
                "commissionShare": share,
                "couponCommission": round(coupon_price * share / 10_000, 2),
                "plusCommissionShare": share,
                "isLock": 0,
            },
            "couponInfo": {"couponList": coupons},
            "imageInfo": {"imageList": [{"url": u} for u in p.head_imgs], "whiteImage": p.head_imgs[0]},
            "shopInfo": {
                "shopName": shop,
                "shopId": 1_000_000 + _digest("jd-shop", shop) % 9_000_000,
                "shopLevel": 4.5 + (_digest("jd-level", shop) % 5) / 10,
            },
            "categoryInfo": {
                "cid1": _CID1.get(cid1_name, 10_000 + _digest("jd-cid", p.category_id) % 90_000),
                "cid1Name": cid1_name,
                "cid3": 10_000 + _digest("jd-cid", p.leaf_category_id) % 90_000,
                "cid3Name": self._cat_names.get(p.leaf_category_id, ""),
            },
            "inOrderCount30Days": p.monthly_sales,
            "comments": p.monthly_sales * 3 + _digest("jd-comments", sku) % 100,
            "goodCommentsShare": 95 + _digest("jd-good", sku) % 5,
            "isHot": 1 if p.monthly_sales > 5000 else 0,
        }

    # -- links and orders ------------------------------------------------------------------------

    def issue_link(self, sku: int, sub_union_id: str, position_id: str, site_id: str, ext1: str) -> JdLink:
        # the skuId is readable from the token, so links from an earlier run of the sandbox still resolve
        token = _token(sku, 7) + _token(_digest("jd-link", sku, sub_union_id, position_id, site_id, ext1), 4)
        link = self.links.get(token)
        if link is None:
            link = JdLink(token, sku, sub_union_id, position_id, site_id, ext1, self.clock())
            self.links[token] = link
        return link

    def sku_of_material(self, material: str) -> int:
        """The skuId a materialId (item URL, u.jd.com / union-click / 3.cn link we issued) points at."""
        text = material.strip()
        parts = urlsplit(text if "://" in text else "https://" + text)
        host = (parts.hostname or "").lower()
        if host in ("item.jd.com", "item.m.jd.com", "item.jd.hk"):
            m = _ITEM_PATH.match(parts.path)
            wanted = m.group(1) if m else (parse_qs(parts.query).get("wareId") or [""])[0]
            if wanted.isdigit():
                return int(wanted)
        if host == "jingfen.jd.com":
            item = parts.path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".html")
            if item in self._by_item_id:
                return self._by_item_id[item]
        token = ""
        if host in ("u.jd.com", "3.cn"):
            token = parts.path.strip("/").lstrip("-")
        elif host == "union-click.jd.com":
            token = (parse_qs(parts.query).get("p") or [""])[0]
        link = self.links.get(token)
        if link is not None:
            return link.sku
        if (
            len(token) == 11
            and all(c in _BASE62 for c in token)
            and self.product(_untoken(token[:7])) is not None
        ):
            return _untoken(token[:7])
        raise _Inner(NOT_UNION, "该链接不是京东联盟推广商品，或链接已失效")

    def orders(self) -> list[dict[str, Any]]:
        """One or two orders per issued link, placed a minute or two after the link, deterministic per link."""
        out = []
        for link in self.links.values():
            p = self.product(link.sku)
            if p is None:
                continue
            seed = _digest("jd-order", link.token)
            price = min(s.price_fen for s in p.skus)
            share = self.share_percent(p)
            for n in range(1 + seed % 2):
                order_at = link.issued_at + 60 * (n + 1)
                valid = (16, 16, 17, 3)[(seed >> (4 + n)) % 4]
                fee = round(price * share / 10_000, 2)
                out.append(
                    {
                        "id": f"{link.token}{n}",
                        "orderId": 280_000_000_000 + (seed >> 8) % 10_000_000_000 + n,
                        "parentId": 0,
                        "orderTime": _bj(order_at),
                        "finishTime": _bj(order_at + 20) if valid == 17 else "",
                        "modifyTime": _bj(order_at + 30),
                        "skuId": link.sku,
                        "skuName": p.title,
                        "skuNum": 1,
                        "price": _yuan(price),
                        "commissionRate": share,
                        "finalRate": 100.0,
                        "estimateCosPrice": _yuan(price),
                        "estimateFee": fee if valid != 3 else 0.0,
                        "actualCosPrice": _yuan(price) if valid == 17 else 0.0,
                        "actualFee": fee if valid == 17 else 0.0,
                        "validCode": valid,
                        "positionId": int(link.position_id) if link.position_id.isdigit() else 0,
                        "siteId": int(link.site_id) if link.site_id.isdigit() else 0,
                        "subUnionId": link.sub_union_id,
                        "ext1": link.ext1,
                        "unionId": UNION_ID,
                        "pid": "",
                        "_at": {1: order_at, 2: order_at + 20 if valid == 17 else None, 3: order_at + 30},
                    }
                )
        return out

    # -- HTTP -----------------------------------------------------------------------------------

    async def __call__(self, request: Request) -> Response:
        params = dict(request.query)
        if request.body and "json" not in request.headers.get("content-type", ""):
            form = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
            params.update({k: v[0] for k, v in form.items()})
        method = params.get("method", "")
        self.calls[method] += 1
        if self.faults.latency_s:
            await asyncio.sleep(self.faults.latency_s)
        try:
            app = self._check(params)
            fault = self.faults.fail_next.pop(0) if self.faults.fail_next else ""
            if fault == "500":
                return Response(500, b"<html>502 Bad Gateway</html>", "text/html")
            if fault == "malformed":
                return Response(200, b'{"jd_union_open_goods_query_responce":{"code":"0","queryR')
            if fault == "throttle":
                raise _Refused("throttle")
            if fault == "busy":
                raise _Inner(500, "服务繁忙，请稍后再试")
            try:
                body = json.loads(params.get("360buy_param_json", "") or "{}")
            except ValueError:
                raise _Inner(400, "360buy_param_json 不是合法的 JSON") from None
            if not isinstance(body, dict):
                raise _Inner(400, "360buy_param_json 不是对象")
            if method not in app.apis:
                raise _Inner(403, f"没有 {method} 的调用权限，请先在联盟后台申请")
            handler, result_key = self._routes[method]
            inner = {"code": 200, "message": "success", **handler(self, app, body)}
        except _Refused as refused:
            code, zh, en = CODES[refused.kind]
            return _json(
                {"error_response": {"code": code, "zh_desc": zh.format(*refused.args_), "en_desc": en}}
            )
        except _Inner as err:
            inner = {"code": err.code, "message": err.message}
            result_key = self._routes.get(method, (None, "queryResult"))[1]
        inner["requestId"] = f"sbx_{_token(_digest('jd-req', self.calls.total(), method), 16)}"
        payload: Any = inner if self.faults.inner_as_object else _dumps(inner)
        return _json({method.replace(".", "_") + "_responce": {"code": "0", result_key: payload}})

    def _check(self, params: dict[str, str]) -> JdApp:
        key = params.get("app_key", "")
        app = self.apps.get(key)
        if app is None:
            raise _Refused("app_key", key or "0")
        if params.get("sign", "") != sign(params, app.secret):
            raise _Refused("sign")
        try:
            sent = datetime.strptime(params.get("timestamp", ""), TIME_FORMAT).replace(tzinfo=BEIJING)
        except ValueError:
            raise _Refused("timestamp") from None
        if abs(sent.timestamp() - self.clock()) > SKEW_S:
            raise _Refused("timestamp")
        if params.get("method", "") not in ALL_APIS:
            raise _Refused("method")
        return app

    # -- methods --------------------------------------------------------------------------------

    def goods_query(self, app: JdApp, body: dict[str, Any]) -> dict[str, Any]:
        req = body.get("goodsReqDTO")
        if not isinstance(req, dict):
            raise _Inner(400, "goodsReqDTO 不能为空")
        index, size = _paging(req, 30)
        keyword = str(req.get("keyword") or "").strip()
        sku_ids = req.get("skuIds") or []
        if not isinstance(sku_ids, list) or len(sku_ids) > 20:
            raise _Inner(400, "skuIds 最多 20 个")
        hits: list[SandboxProduct]
        if sku_ids:
            hits = [p for s in sku_ids if (p := self.product(s)) is not None]
        elif keyword.lower().startswith(("http", "u.jd.com", "item.")):
            try:
                hits = [p for p in [self.product(self.sku_of_material(keyword))] if p is not None]
            except _Inner:
                hits = []
        else:
            hits = self.catalogue.search(keyword) if keyword.strip() else list(self.catalogue.products)
        hits = [p for p in hits if self.promotable(p)]
        if req.get("cid1") not in (None, ""):
            hits = [p for p in hits if self.item(p)["categoryInfo"]["cid1"] == int(req["cid1"])]
        if req.get("owner") in ("g", "p"):
            hits = [p for p in hits if ("g" if self.self_operated(p) else "p") == req["owner"]]
        sort_name = str(req.get("sortName") or "")
        if str(req.get("isCoupon") or "") != "1" and sort_name in ("", "inOrderCount30Days"):
            # the common case, cheaply: order by sales (a keyword search unsorted: most relevant
            # first, as the search gave them), build only the page asked for
            if sort_name or not keyword:
                hits.sort(
                    key=lambda p: (p.monthly_sales, jd_sku(p.product_id)),
                    reverse=str(req.get("sort")) != "asc",
                )
            chunk = hits[(index - 1) * size : index * size]
            return {"totalCount": len(hits), "data": [self.item(p) for p in chunk]}
        items = [self.item(p) for p in hits]
        if str(req.get("isCoupon") or "") == "1":
            items = [i for i in items if any(c["isBest"] for c in i["couponInfo"]["couponList"])]
        if sort_name or not keyword:  # a keyword search unsorted: most relevant first
            items = _sorted(items, sort_name, str(req.get("sort") or "desc"))
        return {"totalCount": len(items), "data": items[(index - 1) * size : index * size]}

    def jingfen_query(self, app: JdApp, body: dict[str, Any]) -> dict[str, Any]:
        req = body.get("goodsReq")
        if not isinstance(req, dict):
            raise _Inner(400, "goodsReq 不能为空")
        index, size = _paging(req, 50)
        elite = _int(req.get("eliteId"))
        items = [self.item(p) for p in self.catalogue.products if self.promotable(p)]
        if elite == 1:  # 好券商品
            items = [i for i in items if any(c["isBest"] for c in i["couponInfo"]["couponList"])]
            items = _sorted(items, "inOrderCount30Days", "desc")
        elif elite == 2:  # 超级大卖场
            items = _sorted([i for i in items if i["owner"] == "g"], "inOrderCount30Days", "desc")
        elif elite == 10:  # 9.9专区
            items = [i for i in items if i["priceInfo"]["lowestCouponPrice"] <= 9.9]
        elif elite == 22:  # 热销爆品
            items = _sorted(items, "inOrderCount30Days", "desc")[:200]
        else:
            raise _Inner(400, f"eliteId {elite} 不存在")
        sort_name = str(req.get("sortName") or "")
        if sort_name:
            items = _sorted(items, sort_name, str(req.get("sort") or "desc"))
        return {"totalCount": len(items), "data": items[(index - 1) * size : index * size]}

    def _promotion(self, app: JdApp, req: Any, site_id: str) -> dict[str, Any]:
        if not isinstance(req, dict) or not str(req.get("materialId") or ""):
            raise _Inner(400, "materialId 不能为空")
        sub = str(req.get("subUnionId") or "")
        if sub and not _SUB_UNION_ID.match(sub):
            raise _Inner(400, "subUnionId 只能是字母、数字或下划线，最多 80 个字符")
        sku = self.sku_of_material(str(req["materialId"]))
        p = self.product(sku)
        if p is None or not self.promotable(p):
            raise _Inner(NOT_UNION, "该商品不是联盟推广商品")
        if self.share_percent(p) <= 0:
            raise _Inner(NOT_UNION, "该商品暂无佣金，不支持推广")
        coupon_url = str(req.get("couponUrl") or "")
        if coupon_url:
            if urlsplit(coupon_url).hostname not in ("coupon.m.jd.com", "coupon.jd.com"):
                raise _Inner(COUPON_HOST, "优惠券域名host校验错误")
            coupon = self._coupon_by_link(coupon_url)
            if coupon is None or p.product_id not in coupon.product_ids:
                raise _Inner(COUPON_HOST, "优惠券与商品不匹配")
            if self.coupon_expired(coupon):
                raise _Inner(COUPON_EXPIRED, "优惠券已过期或已领完")
        position = str(req.get("positionId") or "")
        link = self.issue_link(sku, sub, position, site_id, str(req.get("ext1") or ""))
        chain = _int(req.get("chainType")) or 1
        data: dict[str, Any] = {"clickURL": f"https://union-click.jd.com/jdc?e=&p={link.token}"}
        if chain in (2, 3):
            data["shortURL"] = f"https://u.jd.com/{link.token}"
        data["jCommand"] = f"【京东】https://3.cn/-{link.token}「{p.title}」点击链接直接打开"
        data["jShortCommand"] = f"https://3.cn/-{link.token}"
        return {"data": data}

    def promotion_by_subunionid(self, app: JdApp, body: dict[str, Any]) -> dict[str, Any]:
        return self._promotion(app, body.get("promotionCodeReq"), app.social_site_id)

    def promotion_common(self, app: JdApp, body: dict[str, Any]) -> dict[str, Any]:
        req = body.get("promotionCodeReq")
        site = str((req or {}).get("siteId") or "") if isinstance(req, dict) else ""
        if not site:
            raise _Inner(400, "siteId 不能为空")
        if site != app.website_site_id:
            raise _Inner(SITE_TYPE, "siteId 不是网站/APP 类型的推广媒体，社交媒体请用 bysubunionid 接口")
        return self._promotion(app, req, site)

    def order_rows(self, app: JdApp, body: dict[str, Any]) -> dict[str, Any]:
        req = body.get("orderReq")
        if not isinstance(req, dict):
            raise _Inner(400, "orderReq 不能为空")
        index, size = _paging(req, 500)
        kind = _int(req.get("type"))
        if kind not in (1, 2, 3):
            raise _Inner(400, "type 只能是 1、2、3")
        try:
            start = (
                datetime.strptime(str(req.get("startTime")), TIME_FORMAT).replace(tzinfo=BEIJING).timestamp()
            )
            end = datetime.strptime(str(req.get("endTime")), TIME_FORMAT).replace(tzinfo=BEIJING).timestamp()
        except ValueError:
            raise _Inner(400, "startTime / endTime 格式为 yyyy-MM-dd HH:mm:ss") from None
        if not 0 < end - start <= 3600:
            raise _Inner(400, "startTime 与 endTime 间隔须大于 0 且不超过 1 小时")
        rows = [o for o in self.orders() if o["_at"][kind] is not None and start <= o["_at"][kind] < end]
        rows.sort(key=lambda o: (o["_at"][kind], o["id"]))
        chunk = rows[(index - 1) * size : index * size]
        return {
            "data": [{k: v for k, v in o.items() if k != "_at"} for o in chunk],
            "hasMore": index * size < len(rows),
        }

    _routes: ClassVar[dict[str, tuple[Callable[[JdFace, JdApp, dict[str, Any]], dict[str, Any]], str]]] = {
        "jd.union.open.goods.query": (goods_query, "queryResult"),
        "jd.union.open.goods.jingfen.query": (jingfen_query, "queryResult"),
        "jd.union.open.promotion.bysubunionid.get": (promotion_by_subunionid, "getResult"),
        "jd.union.open.promotion.common.get": (promotion_common, "getResult"),
        "jd.union.open.order.row.query": (order_rows, "queryResult"),
    }


def _bj(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).astimezone(BEIJING).strftime(TIME_FORMAT)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _paging(req: dict[str, Any], max_size: int) -> tuple[int, int]:
    index = _int(req.get("pageIndex")) or 1
    size = _int(req.get("pageSize")) or 20
    if index < 1 or not 1 <= size <= max_size:
        raise _Inner(400, f"pageSize 须在 1 到 {max_size} 之间")
    return index, size


_SORT_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "price": lambda i: i["priceInfo"]["lowestCouponPrice"],
    "commissionShare": lambda i: i["commissionInfo"]["commissionShare"],
    "commission": lambda i: i["commissionInfo"]["couponCommission"],
    "inOrderCount30Days": lambda i: i["inOrderCount30Days"],
    "inOrderComm30Days": lambda i: i["inOrderCount30Days"] * i["commissionInfo"]["couponCommission"],
}


def _sorted(items: list[dict[str, Any]], name: str, order: str) -> list[dict[str, Any]]:
    key = _SORT_KEYS.get(name) or _SORT_KEYS["inOrderCount30Days"]
    desc = order != "asc" if name else True
    return sorted(items, key=lambda i: (key(i), -i["skuId"]) if desc else (key(i), i["skuId"]), reverse=desc)


def _dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _json(data: dict[str, Any]) -> Response:
    return Response(200, _dumps(data).encode())
