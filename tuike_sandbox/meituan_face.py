"""The sandbox's Meituan face: the CPS open API (`/cps_open/common/api/v1/<method>`), signed like the real one.

Every call must be a POST (401 otherwise) carrying `S-Ca-App` (a known app), `S-Ca-Timestamp` in
milliseconds within two minutes of the sandbox's clock, `Content-MD5` equal to base64(MD5(body)),
`S-Ca-Signature-Headers` naming both signed headers and `S-Ca-Signature` right for the path: anything
else is `{"code": 400, "message": "鉴权不通过…"}`, as the real gateway answers. `refuse_account` makes
every call answer 400 the way Meituan turns away an account it will not serve (individuals often).

* `get_referral_link`: `actId` (number or digits) with `linkType` (the link itself as `data`) or
  `linkTypeList` (`{"referralLinkMap": {...}}`); 1 long H5, 2 short H5, 3 deeplink, 4 mini-program path.
  An activity in `ended` or unknown: code 1 活动已下线; a sid over 64 characters, outside
  `[A-Za-z0-9_-]` or in `refused_sids`: code 1 sid 不合法.
* `query_coupon`: a short list under `data.dataList`.
* `query_order`: orders updated (or paid) in [startTime, endTime] (seconds), `limit` ≤ 100, paged by
  `scrollId`. A link issued with a sid gets one order a minute later; tests add more (`add_order`).

Faults: `fail_next` (500, "malformed", or a code such as 402), `down` (every call a 503).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.leagues.meituan.sandbox_account import PATH, SANDBOX_APP_KEY, SANDBOX_APP_SECRET
from bot.leagues.meituan.signing import content_md5, verify
from tuike_sandbox.catalogue import Catalogue
from tuike_sandbox.http import Request, Response

METHODS = ("get_referral_link", "query_coupon", "query_order")
PATHS = tuple(f"{PATH}/{method}" for method in METHODS)
ACTIVITIES = {"33": "外卖红包天天领", "34": "美团闪购红包"}
SID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
WINDOW_MS = 120_000


class MeituanError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _code(seed: str, length: int = 8) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


@dataclass
class MeituanLink:
    code: str
    act_id: str
    sid: str
    at: datetime


@dataclass
class MeituanOrder:
    order_id: str
    act_id: str
    sid: str
    pay_fen: int
    profit_fen: int
    status: str
    paid: datetime
    updated: datetime


@dataclass
class MeituanFaults:
    fail_next: list[Any]
    down: bool = False


class MeituanFace:
    paths = PATHS

    def __init__(self, catalogue: Catalogue | None = None, clock: Callable[[], float] | None = None) -> None:
        import time

        self.clock = clock or time.time
        self.apps = {SANDBOX_APP_KEY: SANDBOX_APP_SECRET}
        self.calls: Counter[str] = Counter()
        self.log: list[tuple[str, int]] = []
        self.bodies: list[dict[str, Any]] = []
        self.issued: dict[str, MeituanLink] = {}
        self.orders: list[MeituanOrder] = []
        self.ended: set[str] = set()
        self.refused_sids: set[str] = set()
        self.refuse_account = False
        self.faults = MeituanFaults([])

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    async def __call__(self, request: Request) -> Response:
        method = request.path.rsplit("/", 1)[-1]
        self.calls[method] += 1
        if self.faults.down:
            return Response(503, b"<html>503 Service Unavailable</html>", "text/html")
        try:
            if request.method != "POST":
                raise MeituanError(401, "不允许的请求方式")
            self._check(request)
            fault = self._fault()
            if fault is not None:
                return fault
            try:
                body = json.loads(request.body or b"{}")
            except ValueError:
                raise MeituanError(1, "参数错误：请求体不是 JSON") from None
            if not isinstance(body, dict):
                raise MeituanError(1, "参数错误：请求体不是 JSON 对象")
            self.bodies.append(body)
            route = {
                "get_referral_link": self.referral_link,
                "query_coupon": self.query_coupon,
                "query_order": self.query_order,
            }.get(method)
            if route is None:
                raise MeituanError(-1, "接口不可用")
            data = route(body)
        except MeituanError as exc:
            self.log.append((method, exc.code))
            return _json({"code": exc.code, "message": exc.message})
        self.log.append((method, 0))
        return _json({"code": 0, "message": "成功", "data": data})

    def _check(self, request: Request) -> None:
        headers = request.headers
        app = headers.get("s-ca-app", "")
        secret = self.apps.get(app)
        if secret is None:
            raise MeituanError(400, "鉴权不通过：S-Ca-App 不存在")
        if self.refuse_account:
            raise MeituanError(400, "鉴权不通过：该媒体账号未开通 API 权限")
        stamp = headers.get("s-ca-timestamp", "")
        if not stamp.isdigit() or len(stamp) < 13:
            raise MeituanError(400, "鉴权不通过：S-Ca-Timestamp 须为毫秒")
        if abs(int(stamp) - int(self.clock() * 1000)) > WINDOW_MS:
            raise MeituanError(400, "鉴权不通过：时间戳已过期")
        md5 = headers.get("content-md5", "")
        if md5 != content_md5(request.body):
            raise MeituanError(400, "鉴权不通过：Content-MD5 与请求体不符")
        named = [h.strip() for h in headers.get("s-ca-signature-headers", "").split(",") if h.strip()]
        if sorted(h.lower() for h in named) != ["s-ca-app", "s-ca-timestamp"]:
            raise MeituanError(400, "鉴权不通过：S-Ca-Signature-Headers 须为 S-Ca-App,S-Ca-Timestamp")
        signed = {"S-Ca-App": app, "S-Ca-Timestamp": stamp}
        if not verify(secret, "POST", md5, signed, request.path, headers.get("s-ca-signature", "")):
            raise MeituanError(400, "鉴权不通过：签名错误")

    def _fault(self) -> Response | None:
        if not self.faults.fail_next:
            return None
        kind = self.faults.fail_next.pop(0)
        if kind == 500:
            return Response(502, b"<html>502 Bad Gateway</html>", "text/html")
        if kind == "malformed":
            return Response(200, b'{"code":0,"data":{')
        raise MeituanError(int(kind), "请求过于频繁" if kind == 402 else "系统异常")

    # -- methods -----------------------------------------------------------------------------------

    def referral_link(self, body: dict[str, Any]) -> Any:
        act_id = str(body.get("actId") or "")
        if not act_id and not body.get("skuViewId"):
            raise MeituanError(1, "参数错误：actId 或 skuViewId 必填")
        if act_id and (act_id not in ACTIVITIES or act_id in self.ended):
            raise MeituanError(1, "参数错误：活动已下线")
        sid = str(body.get("sid") or "")
        if sid and (not SID.match(sid) or sid in self.refused_sids):
            raise MeituanError(1, "参数错误：sid 不合法")
        types = body.get("linkTypeList")
        single = body.get("linkType")
        if types is None and single is None:
            raise MeituanError(1, "参数错误：linkType 必填")
        try:
            wanted = [int(str(t)) for t in (types if isinstance(types, list) else [single])]
        except ValueError:
            raise MeituanError(1, "参数错误：linkType 须为数字") from None
        if any(t not in (1, 2, 3, 4) for t in wanted):
            raise MeituanError(1, "参数错误：linkType 只能是 1-4")
        key = act_id or str(body.get("skuViewId"))
        code = _code(f"{key}|{sid}")
        if code not in self.issued:
            self.issued[code] = MeituanLink(code, key, sid, self._now())
            if sid:
                self._order_for(self.issued[code])
        links = {
            1: f"https://click.meituan.com/t?t=1&c=2&p={code}",
            2: f"https://dpurl.cn/{code}",
            3: f"imeituan://www.meituan.com/web?url=https%3A%2F%2Fclick.meituan.com%2Ft%3Fp%3D{code}",
            4: f"/index/pages/h5/h5?weburl=https%3A%2F%2Fclick.meituan.com%2Ft%3Fp%3D{code}",
        }
        if types is None:
            return links[wanted[0]]
        return {"referralLinkMap": {str(t): links[t] for t in wanted}}

    def query_coupon(self, body: dict[str, Any]) -> dict[str, Any]:
        items = [
            {
                "couponPackDetail": {
                    "skuViewId": f"sku{n}",
                    "name": name,
                    "originalPrice": "30.00",
                    "sellPrice": price,
                    "saleVolume": "1000+",
                },
                "brandInfo": {"brandName": "沙箱餐饮"},
                "commissionInfo": {"commissionPercent": "500", "commission": "0.50"},
            }
            for n, (name, price) in enumerate((("20 元吃饱套餐", "19.90"), ("奶茶第二杯半价", "9.90")), 1)
        ]
        return {"dataList": items, "hasNext": False, "searchId": ""}

    def _order_for(self, link: MeituanLink) -> None:
        seed = int(link.code[:6], 16)
        self.add_order(
            link.sid, pay_fen=1800 + seed % 3000, at=link.at + timedelta(minutes=1), act_id=link.act_id
        )

    def add_order(
        self,
        sid: str,
        *,
        pay_fen: int = 2650,
        at: datetime | None = None,
        act_id: str = "33",
        status: str = "2",
    ) -> MeituanOrder:
        at = at or self._now()
        order = MeituanOrder(
            f"5{len(self.orders) + 1:018d}", act_id, sid, pay_fen, pay_fen * 5 // 100, status, at, at
        )
        self.orders.append(order)
        return order

    def query_order(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            start, end = int(body["startTime"]), int(body["endTime"])
            limit = int(body.get("limit", 20))
            kind = int(body.get("queryTimeType", 1))
        except (KeyError, TypeError, ValueError):
            raise MeituanError(1, "参数错误：startTime、endTime 必填（秒）") from None
        if start > 10**11 or end > 10**11:
            raise MeituanError(1, "参数错误：时间须为秒")
        if not 1 <= limit <= 100:
            raise MeituanError(1, "参数错误：limit 最大 100")
        if end < start or end - start > 31 * 86400:
            raise MeituanError(1, "参数错误：查询时间跨度不能超过 31 天")
        scroll = str(body.get("scrollId") or "")
        offset = int(scroll[1:]) if scroll.startswith("s") and scroll[1:].isdigit() else 0

        def key(o: MeituanOrder) -> int:
            return int((o.updated if kind == 2 else o.paid).timestamp())

        hits = sorted((o for o in self.orders if start <= key(o) <= end), key=lambda o: (key(o), o.order_id))
        chunk = hits[offset : offset + limit]
        after = offset + len(chunk)
        return {
            "dataList": [self._row(o) for o in chunk],
            "scrollId": f"s{after}" if after < len(hits) else "",
        }

    @staticmethod
    def _row(o: MeituanOrder) -> dict[str, Any]:
        return {
            "orderId": o.order_id,
            "payTime": str(int(o.paid.timestamp())),
            "updateTime": str(int(o.updated.timestamp())),
            "payPrice": _yuan(o.pay_fen),
            "commissionRate": "500",
            "profit": _yuan(o.profit_fen) if o.status not in ("4", "5") else "0.00",
            "cpaProfit": "null",
            "sid": o.sid,
            "productId": o.act_id,
            "productName": ACTIVITIES.get(o.act_id, "美团外卖"),
            "status": o.status,
            "businessLine": 1,
            "refundPrice": "null",
            "refundProfit": "null",
        }


def _json(data: dict[str, Any]) -> Response:
    return Response(200, json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())
