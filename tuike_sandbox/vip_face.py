"""The sandbox's Vipshop face: the vop gateway (唯品会联盟, `com.vip.adp.api.open.service.*`) over the
shared catalogue, as docs/vip.md describes it.

Like the real gateway it takes a POST whose system parameters (`service`, `method`, `version`,
`timestamp` in Unix seconds, `format`, `appKey`, `accessToken`, `sign`) are in the query string and
whose business parameters are the raw JSON body; it checks the HMAC-MD5 `sign` over the sorted system
parameters followed by the body bytes as sent (`bot.leagues.vip.signing`, so both ends agree), the
appKey, a timestamp within ten minutes, and the service/method. Answers are the envelope
`{"returnCode": "0", "result": …}`; refusals `{"returnCode": "<code>", "returnMessage": "…"}`.

Ids are Vipshop's own: a product's 19-digit goodsId and its brand's 档期 brandId are derived here from
the catalogue and nowhere else. Money is yuan strings (`"179.00"`, a coupon's `fav` `"20"`), the
commission rate a percent string. About one goods in seventeen is sold out; the catalogue's 定向-only
products are not on the union (unknown to `getByGoodsIds`, refused by the link methods); products off
promotion are off the shelf (`status` 0).

PIDs come from `genPid`; a `chanTag` that is not one of the app's PIDs is refused (also a PID of this
app's form from an earlier run of the sandbox is accepted, its state not being kept). Links issued here
(`https://t.vip.com/<token>`) resolve again through `genByVIPUrl`, even after a restart (the token
carries the goods), and orders appear for them, carrying the `chanTag` and `statParam` they were made
with — some finished, some pending, some void, some partly refunded (`afterSaleInfo`).

Codes the reference could not confirm ([U]) are chosen here: `bot.leagues.vip.errors.CODES`.
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
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from bot.leagues.vip.errors import CODES
from bot.leagues.vip.sandbox_account import DEFAULT_APP_KEY, DEFAULT_APP_SECRET, PATH
from bot.leagues.vip.signing import sign
from tuike_sandbox.catalogue import Catalogue, SandboxCoupon, SandboxProduct, charm_price
from tuike_sandbox.http import Request, Response

SKEW_S = 600
SERVICE = "com.vip.adp.api.open.service."
MAX_ORDER_WINDOW_MS = 10 * 86_400_000
"""`orderList` refuses a window longer than ten days (one doc mirror, [S])."""

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_GOODS_PATH = re.compile(r"^/(?:detail|product)-(\d{1,15})-(\d{5,25})\.html$")
_TOKEN = 13


def _digest(*parts: object) -> int:
    return int.from_bytes(hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=16).digest(), "big")


def _token(n: int, length: int) -> str:
    out = []
    for _ in range(length):
        n, r = divmod(n, 62)
        out.append(_BASE62[r])
    return "".join(out)


def _untoken(text: str) -> int:
    return sum(_BASE62.index(c) * 62**i for i, c in enumerate(text) if c in _BASE62)


def goods_id(product_id: int) -> str:
    """A product's Vipshop goodsId: 19 digits starting with 69, as the newer ones are."""
    return str(6_900_000_000_000_000_000 + _digest("vip-goods", product_id) % 10**17)


def brand_id(p: SandboxProduct) -> int:
    """The 档期 (brand sale) id of a product's brand, 10 digits."""
    return 1_700_000_000 + _digest("vip-brand", p.brand or p.shop_name) % 100_000_000


def yuan(fen: int) -> str:
    """Fen as the union writes money: `"179.00"`."""
    return f"{fen // 100}.{fen % 100:02d}"


def short_yuan(fen: int) -> str:
    """A coupon amount as the union writes it: `"20"`, `"4.10"`."""
    return str(fen // 100) if fen % 100 == 0 else yuan(fen)


def percent(ppm: int) -> str:
    """A ratio as the union's percent string without `%`: 65000 ppm → `"6.5"`."""
    whole, rest = divmod(ppm, 10_000)
    return f"{whole}.{rest:04d}".rstrip("0").rstrip(".") if rest else str(whole)


class _Refused(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.code = CODES.get(kind, kind)
        self.message = message


@dataclass
class VipApp:
    """One union app (an appKey and its secret) and its promotion positions."""

    secret: str
    number: int
    pids: dict[str, str] = field(default_factory=dict)
    """PID → name."""


@dataclass(frozen=True)
class VipLink:
    token: str
    product_id: int
    chan_tag: str
    stat_param: str
    issued_at: float


@dataclass
class VipFaults:
    fail_next: list[str] = field(default_factory=list)
    """Per business call, in order: "500", "malformed", "throttle", "busy"."""
    latency_s: float = 0.0


class VipFace:
    """`await face(request)`: one HTTP request to the vop gateway in, its envelope out."""

    path = PATH

    def __init__(self, catalogue: Catalogue, clock: Callable[[], float] = time.time) -> None:
        self.catalogue = catalogue
        self.clock = clock
        self.apps: dict[str, VipApp] = {}
        self.links: dict[str, VipLink] = {}
        self.calls: Counter[str] = Counter()
        self.faults = VipFaults()
        self.bodies: list[bytes] = []
        """Every request body as received (tests check what went on the wire)."""
        self._by_goods = {goods_id(p.product_id): p for p in catalogue.products}
        if len(self._by_goods) != len(catalogue.products):
            raise ValueError("Vipshop goodsId collision")
        self._cat_names = {c.cat_id: c.name for c in catalogue.categories}
        self._seq = self._seq_start = int(clock() * 1000) % 10**12
        """PIDs count on from the start time (ms), so a restarted sandbox never hands out a PID that an
        earlier run gave a group the store still holds."""
        self.register_app(DEFAULT_APP_KEY, DEFAULT_APP_SECRET)

    def register_app(self, app_key: str, secret: str) -> VipApp:
        app = VipApp(secret, 100_000 + _digest("vip-app", app_key) % 900_000)
        self.apps[app_key] = app
        return app

    def _pid_ok(self, app: VipApp, pid: str) -> bool:
        if pid in app.pids:
            return True
        head, _, seq = pid.partition("_")
        return head == str(app.number) and seq.isdigit() and int(seq) < self._seq_start

    # -- catalogue in Vipshop's terms -----------------------------------------------------------

    def product(self, gid: str) -> SandboxProduct | None:
        return self._by_goods.get(str(gid).strip())

    @staticmethod
    def on_union(p: SandboxProduct) -> bool:
        """定向-only products are not on the union (no public commission)."""
        return p.plan_type != 1

    @staticmethod
    def on_shelf(p: SandboxProduct) -> bool:
        return p.status == 1

    @staticmethod
    def sold_out(p: SandboxProduct) -> bool:
        return all(s.stock == 0 for s in p.skus) or _digest("vip-stock", p.product_id) % 17 == 0

    @staticmethod
    def vip_price(p: SandboxProduct) -> int:
        """唯品价: the catalogue price (a 特卖 price already)."""
        return min(s.price_fen for s in p.skus)

    @staticmethod
    def market_price(p: SandboxProduct) -> int:
        """The struck-through 市场价: 1.3–2.5× the price, as a shop would print it."""
        price = min(s.price_fen for s in p.skus)
        return charm_price(price * (130 + _digest("vip-market", p.product_id) % 120) // 100)

    def best_coupon(self, p: SandboxProduct) -> tuple[SandboxCoupon, int] | None:
        """One coupon per goods: the usable one that takes the most off, with its amount."""
        price = self.vip_price(p)
        best: tuple[SandboxCoupon, int] | None = None
        for cid in p.coupon_ids:
            c = self.catalogue.coupon(cid)
            if c is None or c.threshold_fen > price:
                continue
            off = c.discount_fee_fen or (price - price * c.discount_num // 10_000) // 10 * 10
            if off > 0 and (best is None or off > best[1]):
                best = (c, off)
        return best

    def goods(self, p: SandboxProduct, *, detail: bool = False) -> dict[str, Any]:
        gid, bid = goods_id(p.product_id), brand_id(p)
        price, market = self.vip_price(p), self.market_price(p)
        rate = p.commission_ratio_ppm
        now_ms = int(self.clock() * 1000)
        item: dict[str, Any] = {
            "goodsId": gid,
            "goodsName": p.title,
            "goodsDesc": p.desc,
            "destUrl": f"https://m.vip.com/product-{bid}-{gid}.html",
            "goodsThumbUrl": p.head_imgs[0],
            "goodsMainPicture": p.head_imgs[0],
            "marketPrice": yuan(market),
            "vipPrice": yuan(price),
            "discount": f"{price / market:.2f}",
            "commissionRate": percent(rate),
            "commission": yuan(price * rate // 1_000_000),
            "brandId": bid,
            "brandName": p.brand,
            "brandStoreSn": f"{10_000 + bid % 90_000}",
            "brandLogoFull": f"https://img.sandbox.tuike.test/brand/{bid}.png",
            "cat1stId": int(p.category_id) % 100_000 if p.category_id.isdigit() else 0,
            "cat1stName": self._cat_names.get(p.category_id, ""),
            "categoryId": int(p.leaf_category_id) if p.leaf_category_id.isdigit() else 0,
            "categoryName": self._cat_names.get(p.leaf_category_id, ""),
            "sourceType": 0 if _digest("vip-source", p.product_id) % 3 else 1,
            "status": 1 if self.on_shelf(p) else 0,
            "saleStockStatus": 1 if self.sold_out(p) else 2,
            "sellTimeFrom": now_ms - 86_400_000,
            "sellTimeTo": now_ms + 5 * 86_400_000,
            "schemeStartTime": now_ms - 86_400_000,
            "schemeEndTime": now_ms + 5 * 86_400_000,
            "storeInfo": {"storeId": f"{bid}", "storeName": p.shop_name},
            "haiTao": 0,
            "prepayInfo": {"isPrepay": 0},
            "joinedActivities": [],
        }
        coupon = self.best_coupon(p)
        if coupon is not None:
            c, off = coupon
            item["couponInfo"] = {
                "couponNo": f"VC{c.coupon_id[-12:]}",
                "couponName": c.name,
                "buy": short_yuan(c.threshold_fen),
                "fav": short_yuan(off),
                "useBeginTime": now_ms - 86_400_000,
                "useEndTime": now_ms + 86_400_000 * c.valid_days,
                "totalAmount": c.total_num,
                "activedAmount": min(c.receive_num, c.total_num),
            }
        if detail:
            item["goodsCarouselPictures"] = list(p.head_imgs)
            item["goodsDetailPictures"] = [u.replace("/p/", "/d/") for u in p.head_imgs[:3]]
        return item

    # -- links and orders ------------------------------------------------------------------------

    def issue_link(self, p: SandboxProduct, chan_tag: str, stat_param: str) -> VipLink:
        # the goods is readable from the token, so links from an earlier run of the sandbox still resolve
        token = _token(p.product_id, 9) + _token(_digest("vip-link", p.product_id, chan_tag, stat_param), 4)
        link = self.links.get(token)
        if link is None:
            link = VipLink(token, p.product_id, chan_tag, stat_param, self.clock())
            self.links[token] = link
        return link

    def url_info(self, link: VipLink, source: str, *, by_goods: bool) -> dict[str, Any]:
        p = self.catalogue.product(link.product_id)
        assert p is not None
        gid, bid = goods_id(p.product_id), brand_id(p)
        page = f"https://m.vip.com/product-{bid}-{gid}.html"
        tra = quote(f"adp:{link.chan_tag or 'dev'}:{link.token}", safe="")
        info: dict[str, Any] = {
            "source": source,
            "url": f"https://t.vip.com/{link.token}",
            "longUrl": f"https://t.vip.com/redirect.php?url={quote(page, safe='')}&tra_from={tra}",
            "ulUrl": f"https://click.union.vip.com/deeplink/showGoodsDetail?goodsId={gid}&tra_from={tra}",
            "deeplinkUrl": f"vipshop://showGoodsDetail?pid={gid}&goodsType=1&tra_from={tra}",
            "noEvokeUrl": f"https://t.vip.com/{link.token}?wq=1",
            "noEvokeLongUrl": f"https://t.vip.com/redirect.php?url={quote(page, safe='')}&tra_from={tra}&wq=1",
            "traFrom": tra,
        }
        if by_goods:
            info["vipWxUrl"] = f"pages/productDetail/productDetail?goodsId={gid}&tra_from={tra}"
        return info

    def product_of_url(self, url: str) -> SandboxProduct:
        text = url.strip()
        parts = urlsplit(text if "://" in text else "https://" + text)
        host = (parts.hostname or "").lower()
        p: SandboxProduct | None = None
        if host in ("t.vip.com", "click.union.vip.com"):  # our short links, under either host
            token = parts.path.strip("/")
            link = self.links.get(token)
            if link is not None:
                p = self.catalogue.product(link.product_id)
            elif len(token) == _TOKEN and all(c in _BASE62 for c in token):
                p = self.catalogue.product(_untoken(token[:9]))
        elif host == "vip.com" or host.endswith((".vip.com", ".vipshop.com")):
            m = _GOODS_PATH.match(parts.path)
            p = self.product(m.group(2)) if m else None
        if p is None:
            raise _Refused("union.url-invalid", f"链接无效或已失效，不是唯品会商品链接：{text}")
        return p

    def orders(self, app: VipApp) -> list[dict[str, Any]]:
        """One or two orders per issued link, a minute or two after it, deterministic per link."""
        out = []
        for link in self.links.values():
            if link.chan_tag and not self._pid_ok(app, link.chan_tag):
                continue
            p = self.catalogue.product(link.product_id)
            if p is None:
                continue
            seed = _digest("vip-order", link.token)
            coupon = self.best_coupon(p)
            paid = self.vip_price(p) - (coupon[1] if coupon else 0)
            rate = p.commission_ratio_ppm
            for n in range(1 + seed % 2):
                created_ms = int((link.issued_at + 60 * (n + 1)) * 1000)
                kind = (seed >> (3 + n)) % 5  # 0 pending, 1 finished, 2 void, 3 partly refunded, 4 pending
                count = 2 if kind == 3 else 1
                commission = paid * count * rate // 1_000_000
                after: list[dict[str, Any]] = []
                if kind == 3:
                    after = [
                        {
                            "afterSaleChangeCommission": yuan(paid * rate // 1_000_000),
                            "afterSaleChangeGoodsCount": 1,
                            "afterSaleType": 1,
                        }
                    ]
                status = {1: 2, 2: 0}.get(kind, 1)
                out.append(
                    {
                        "orderSn": f"{26_0000_0000_0000 + seed % 10**13 + n}",
                        "status": status,
                        "newCustomer": seed % 3,
                        "channelTag": link.chan_tag,
                        "pid": link.chan_tag,
                        "statParam": link.stat_param,
                        "orderTime": created_ms,
                        "signTime": created_ms + 20_000 if status == 2 else 0,
                        "settledTime": created_ms + 25_000 if status == 2 else 0,
                        "lastUpdateTime": created_ms + 30_000,
                        "commissionEnterTime": created_ms + 25_000 if status == 2 else 0,
                        "settled": 1 if status == 2 else 0,
                        "selfBuy": 0,
                        "orderSubStatusName": {0: "已失效", 1: "已付款", 2: "已结算"}[status],
                        "commission": yuan(0 if status == 0 else commission),
                        "afterSaleChangeCommission": after[0]["afterSaleChangeCommission"] if after else "0",
                        "orderSource": "分享",
                        "isPrepay": 0,
                        "detailList": [
                            {
                                "goodsId": goods_id(p.product_id),
                                "goodsName": p.title,
                                "goodsThumb": p.head_imgs[0],
                                "goodsCount": count,
                                "commissionTotalCost": yuan(paid * count),
                                "commissionRate": percent(rate),
                                "commission": yuan(0 if status == 0 else commission),
                                "commCode": "COMM",
                                "commName": "常规佣金",
                                "sizeId": f"{p.skus[0].sku_id}",
                                "status": status,
                                "afterSaleInfo": after,
                                "brandStoreSn": f"{10_000 + brand_id(p) % 90_000}",
                                "brandStoreName": p.brand,
                            }
                        ],
                    }
                )
        return out

    # -- HTTP -----------------------------------------------------------------------------------

    async def __call__(self, request: Request) -> Response:
        params = dict(request.query)
        name = f"{params.get('service', '').rsplit('.', 1)[-1]}.{params.get('method', '')}"
        self.calls[name] += 1
        self.bodies.append(request.body)
        if self.faults.latency_s:
            await asyncio.sleep(self.faults.latency_s)
        try:
            if request.method != "POST":
                raise _Refused("parameter", "只接受 POST")
            body_text = request.body.decode("utf-8", "replace")
            app = self._check(params, body_text)
            fault = self.faults.fail_next.pop(0) if self.faults.fail_next else ""
            if fault == "500":
                return Response(502, b"<html>502 Bad Gateway</html>", "text/html")
            if fault == "malformed":
                return Response(200, b'{"returnCode":"0","result":{"goodsInfoList":[{"goo')
            if fault == "throttle":
                raise _Refused("throttle", "调用频率超过限制，请稍后再试")
            if fault == "busy":
                raise _Refused("busy", "系统繁忙，请稍后再试")
            try:
                body = json.loads(body_text or "{}")
            except ValueError:
                raise _Refused("parameter", "请求体不是合法的 JSON") from None
            if not isinstance(body, dict):
                raise _Refused("parameter", "请求体须为 JSON 对象")
            handler = self._routes[name]
            result = handler(self, app, body)
        except _Refused as refused:
            return _json({"returnCode": refused.code, "returnMessage": refused.message})
        return _json({"returnCode": "0", "result": result})

    def _check(self, params: dict[str, str], body: str) -> VipApp:
        for key in ("service", "method", "version", "timestamp", "appKey", "sign"):
            if not params.get(key):
                raise _Refused("parameter", f"缺少系统参数 {key}")
        app = self.apps.get(params["appKey"])
        if app is None:
            raise _Refused("app_key", f"appKey {params['appKey']} 不存在或未启用")
        system = {k: v for k, v in params.items() if k != "sign"}
        if params["sign"] != sign(system, body, app.secret):
            raise _Refused("sign", "签名校验失败 (sign invalid)")
        ts = params["timestamp"]
        if not ts.isdigit() or abs(int(ts) - self.clock()) > SKEW_S:
            raise _Refused("timestamp", "timestamp 已过期或不合法（须为 Unix 秒，误差十分钟内）")
        if params.get("format", "json").lower() != "json":
            raise _Refused("parameter", "format 只支持 json")
        if params.get("accessToken"):
            raise _Refused("token", "accessToken 无效或已过期")
        name = f"{params['service'].rsplit('.', 1)[-1]}.{params['method']}"
        if not params["service"].startswith(SERVICE) or name not in self._routes:
            raise _Refused("method", f"服务或方法不存在：{params['service']}.{params['method']}")
        if params["version"] != "1.0.0":
            raise _Refused("method", f"{name} 没有版本 {params['version']}")
        return app

    # -- methods --------------------------------------------------------------------------------

    def _chan_tag(self, app: VipApp, value: Any) -> str:
        tag = str(value or "")
        if tag and not self._pid_ok(app, tag):
            raise _Refused("pid", f"推广位 chanTag {tag} 无效 (pid invalid)：不是这个应用的推广位")
        return tag

    def query(self, app: VipApp, body: dict[str, Any]) -> dict[str, Any]:
        req = _struct(body, "request")
        keyword = str(req.get("keyword") or "").strip()
        if not keyword:
            raise _Refused("parameter", "keyword 不能为空")
        page, size = _paging(req, 100)
        self._chan_tag(app, req.get("chanTag"))
        hits = [p for p in self.catalogue.search(keyword) if self.on_union(p) and self.on_shelf(p)]
        low, high = _fen(req.get("priceStart")), _fen(req.get("priceEnd"))
        hits = [
            p
            for p in hits
            if (low is None or self.vip_price(p) >= low) and (high is None or self.vip_price(p) <= high)
        ]
        hits = self._sorted(hits, str(req.get("fieldName") or ""), _int(req.get("order"), 1))
        return self._page(hits, page, size)

    def goods_list(self, app: VipApp, body: dict[str, Any]) -> dict[str, Any]:
        req = _struct(body, "request")
        page, size = _paging(req, 100)
        channel = _int(req.get("channelType"), -1)
        if channel not in (0, 1):
            raise _Refused("parameter", "channelType 只能是 0（超高佣）或 1（出单爆款）")
        self._chan_tag(app, req.get("chanTag"))
        hits = [p for p in self.catalogue.products if self.on_union(p) and self.on_shelf(p)]
        hits = self._sorted(hits, "COMM_RATIO" if channel == 0 else "SALES", 1)[:200]
        return self._page(hits, page, size)

    def _page(self, hits: list[SandboxProduct], page: int, size: int) -> dict[str, Any]:
        return {
            "goodsInfoList": [self.goods(p) for p in hits[(page - 1) * size : page * size]],
            "total": len(hits),
            "page": page,
            "pageSize": size,
            "sortFields": [
                {"fieldName": "PRICE", "fieldDesc": "价格"},
                {"fieldName": "DISCOUNT", "fieldDesc": "折扣"},
                {"fieldName": "SALES", "fieldDesc": "销量"},
                {"fieldName": "COMMISSION", "fieldDesc": "佣金"},
                {"fieldName": "COMM_RATIO", "fieldDesc": "佣金比例"},
            ],
        }

    def _sorted(self, hits: list[SandboxProduct], field_name: str, order: int) -> list[SandboxProduct]:
        keys: dict[str, Callable[[SandboxProduct], int]] = {
            "PRICE": self.vip_price,
            "DISCOUNT": lambda p: self.vip_price(p) * 1000 // self.market_price(p),
            "SALES": lambda p: p.monthly_sales,
            "COMMISSION": lambda p: self.vip_price(p) * p.commission_ratio_ppm,
            "COMM_RATIO": lambda p: p.commission_ratio_ppm,
        }
        key = keys.get(field_name)
        if key is None:
            return hits  # most relevant first, as the search gave them
        return sorted(hits, key=lambda p: (-key(p) if order == 1 else key(p), p.product_id))

    def get_by_goods_ids(self, app: VipApp, body: dict[str, Any]) -> list[dict[str, Any]]:
        ids = _flat_list(body, "goodsIdList", 50)
        _request_id(body)
        self._chan_tag(app, body.get("chanTag"))
        found = [self.product(str(g)) for g in ids]
        return [self.goods(p, detail=True) for p in found if p is not None and self.on_union(p)]

    def gen_by_goods_id(self, app: VipApp, body: dict[str, Any]) -> dict[str, Any]:
        ids = _flat_list(body, "goodsIdList", 50)
        _request_id(body)
        tag, stat = self._chan_tag(app, body.get("chanTag")), _stat_param(body)
        out = []
        for gid in ids:
            p = self.product(str(gid))
            if p is None or not self.on_union(p) or not self.on_shelf(p):
                raise _Refused("goods_gone", f"商品 {gid} 不存在或不在推广中")
            out.append(self.url_info(self.issue_link(p, tag, stat), str(gid), by_goods=True))
        return {"urlInfoList": out}

    def gen_by_vip_url(self, app: VipApp, body: dict[str, Any]) -> dict[str, Any]:
        urls = _flat_list(body, "urlList", 50)
        _request_id(body)
        tag, stat = self._chan_tag(app, body.get("chanTag")), _stat_param(body)
        out = []
        for url in urls:
            p = self.product_of_url(str(url))
            if not self.on_union(p) or not self.on_shelf(p):
                raise _Refused("goods_gone", f"商品 {goods_id(p.product_id)} 不存在或不在推广中")
            out.append(self.url_info(self.issue_link(p, tag, stat), str(url), by_goods=False))
        return {"urlInfoList": out}

    def gen_pid(self, app: VipApp, body: dict[str, Any]) -> dict[str, Any]:
        req = _struct(body, "pidGenRequest")
        _request_id(req)
        names = req.get("pidNameList")
        if not isinstance(names, list) or not 1 <= len(names) <= 100:
            raise _Refused("parameter", "pidNameList 须为 1 到 100 个名称")
        if any(not isinstance(n, str) or not n or len(n) > 50 for n in names):
            raise _Refused("parameter", "推广位名称不能为空，且不超过 50 个字符")
        out = []
        for n in names:
            self._seq += 1
            pid = f"{app.number}_{self._seq}"
            app.pids[pid] = n
            out.append(
                {
                    "pid": pid,
                    "pidName": n,
                    "createTime": int(self.clock() * 1000),
                    "ucode": f"u{app.number}",
                    "b2cUserId": app.number,
                    "status": 1,
                }
            )
        return {"pidInfoList": out, "total": len(app.pids), "remainPidCount": 10_000 - len(app.pids)}

    def order_list(self, app: VipApp, body: dict[str, Any]) -> dict[str, Any]:
        model = _struct(body, "queryModel")
        _request_id(model)
        page, size = _paging(model, 100)
        rows = self.orders(app)
        sns = model.get("orderSnList")
        if sns:
            wanted = {str(s) for s in sns} if isinstance(sns, list) else set()
            rows = [o for o in rows if o["orderSn"] in wanted]
        else:
            by = "updateTime" if "updateTimeStart" in model else "orderTime"
            start, end = _int(model.get(f"{by}Start"), -1), _int(model.get(f"{by}End"), -1)
            if start < 0 or end <= start or end - start > MAX_ORDER_WINDOW_MS:
                raise _Refused("parameter", "查询时间段须大于 0 且不超过 10 天（单位毫秒）")
            field_ = "lastUpdateTime" if by == "updateTime" else "orderTime"
            rows = [o for o in rows if start <= o[field_] <= end]
            rows.sort(key=lambda o: (o[field_], o["orderSn"]))
        if "status" in model and model["status"] not in (None, ""):
            rows = [o for o in rows if o["status"] == _int(model["status"], -1)]
        return {
            "orderInfoList": rows[(page - 1) * size : page * size],
            "total": len(rows),
            "page": page,
            "pageSize": size,
        }

    _routes: ClassVar[dict[str, Callable[[VipFace, VipApp, dict[str, Any]], Any]]] = {
        "UnionGoodsService.query": query,
        "UnionGoodsService.goodsList": goods_list,
        "UnionGoodsService.getByGoodsIds": get_by_goods_ids,
        "UnionUrlService.genByGoodsId": gen_by_goods_id,
        "UnionUrlService.genByVIPUrl": gen_by_vip_url,
        "UnionPidService.genPid": gen_pid,
        "UnionOrderService.orderList": order_list,
    }


def _struct(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name)
    if not isinstance(value, dict):
        raise _Refused("parameter", f"缺少参数 {name}")
    return value


def _request_id(holder: dict[str, Any]) -> None:
    if not isinstance(holder.get("requestId"), str) or not holder["requestId"]:
        raise _Refused("parameter", "缺少参数 requestId")


def _flat_list(body: dict[str, Any], name: str, most: int) -> list[Any]:
    value = body.get(name)
    if not isinstance(value, list) or not 1 <= len(value) <= most:
        raise _Refused("parameter", f"{name} 须为 1 到 {most} 项的列表")
    return value


def _stat_param(body: dict[str, Any]) -> str:
    stat = str(body.get("statParam") or "")
    if len(stat) > 256:
        raise _Refused("parameter", "statParam 不超过 256 个字符")
    return stat


def _paging(req: dict[str, Any], most: int) -> tuple[int, int]:
    _request_id(req)
    page, size = _int(req.get("page"), 1), _int(req.get("pageSize"), 20)
    if page < 1 or not 1 <= size <= most:
        raise _Refused("parameter", f"page 从 1 开始，pageSize 须在 1 到 {most} 之间")
    return page, size


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _fen(value: Any) -> int | None:
    text = str(value or "").strip()
    if not text:
        return None
    whole, _, frac = text.partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()):
        raise _Refused("parameter", f"价格须为数字字符串：{text}")
    return int(whole) * 100 + int((frac + "00")[:2])


def _json(data: dict[str, Any]) -> Response:
    return Response(200, json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())
