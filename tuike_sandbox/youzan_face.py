"""The sandbox's Youzan face: the open platform (有赞云) for one demo shop over the shared catalogue, as
docs/shops.md describes it.

Like the real platform it hands a self-use app a token at `POST /auth/token` (JSON: `client_id`,
`client_secret`, `authorize_type` "silent", `grant_id` = the shop's `kdt_id`; `expires` in epoch ms)
and takes calls at `POST /api/{name}/{version}?access_token=…` with a JSON body. A missing or unknown
token is refused with `gw_err_resp` 4001, an expired one with 4003; 3.0.0 APIs answer
`{"response": …}` / `{"error_response": {"code", "msg"}}`, 1.0.0 ones `{"success", "code", "data"}`.

The shop sells about one product in five of the catalogue; about one of its items in eleven is taken
off sale (`is_listing` false). Salesmen are 自有粉丝 ids made with `salesman.account.add` (adding one
twice is refused, 341007201; naming one that is not, 341007204). A salesman's links
(`h5.youzan.com/v2/goods/<alias>?sls=<mark>`) come back as trades for that salesman a minute or two
after they were made — some paid, some done and settled, some closed.

Codes the reference could not confirm ([U]) are chosen here: `bot.leagues.youzan.errors.CODES`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

from bot.leagues.youzan.errors import CODES
from bot.leagues.youzan.sandbox_account import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_KDT_ID, PATH
from tuike_sandbox.catalogue import Catalogue, SandboxProduct, charm_price
from tuike_sandbox.http import Request, Response

CHINA = timezone(timedelta(hours=8))
TOKEN_LIFETIME_S = 7 * 86_400
SALESMAN_RATE_PERMILLE = 80
"""What the shop pays a salesman: 8% of the goods (the shop's 分销 setting)."""
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _digest(*parts: object) -> int:
    return int.from_bytes(hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=16).digest(), "big")


def _b36(n: int, length: int) -> str:
    out = []
    for _ in range(length):
        n, r = divmod(n, 36)
        out.append(_B36[r])
    return "".join(out)


def in_shop(p: SandboxProduct) -> bool:
    """The demo shop sells about one catalogue product in five."""
    return _digest("youzan-shop", p.product_id) % 5 == 0


def item_id(p: SandboxProduct) -> int:
    return 400_000_000 + _digest("youzan-item", p.product_id) % 500_000_000


def alias(p: SandboxProduct) -> str:
    return "2x" + _b36(_digest("youzan-alias", p.product_id), 11)


def listed(p: SandboxProduct) -> bool:
    return p.status == 1 and _digest("youzan-listing", p.product_id) % 11 != 0


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


class _Refused(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Gateway(_Refused):
    """A `gw_err_resp` refusal (the token, the app's rights)."""


@dataclass(frozen=True)
class YouzanLink:
    mark: str
    product_id: int
    fans_id: int
    issued_at: float


@dataclass
class YouzanFaults:
    fail_next: list[str] = field(default_factory=list)
    """Per API call (not the token), in order: "500", "malformed", "throttle"."""
    latency_s: float = 0.0
    refuse_tokens: bool = False
    """Every API call is refused for its token (4001), new tokens too: a revoked authorisation."""


class YouzanFace:
    """`await face(request)`: one HTTP request to the open platform in, its envelope out."""

    path = PATH

    def __init__(self, catalogue: Catalogue, clock: Callable[[], float] = time.time) -> None:
        self.catalogue = catalogue
        self.clock = clock
        self.apps: dict[str, str] = {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET}
        self.kdt_id = DEFAULT_KDT_ID
        self.tokens: dict[str, float] = {}
        """token → expiry (Unix seconds)."""
        self.token_lifetime_s = TOKEN_LIFETIME_S
        self.salesmen: set[int] = set()
        self.links: dict[str, YouzanLink] = {}
        self.calls: Counter[str] = Counter()
        self.faults = YouzanFaults()
        self.settle_everything = False
        """Every trade not closed is done and settled (time has passed: tests of the open orders' refresh)."""
        self.shop = [p for p in catalogue.products if in_shop(p)]
        self._by_item = {item_id(p): p for p in self.shop}
        self._by_alias = {alias(p): p for p in self.shop}

    # -- the shop in Youzan's terms ---------------------------------------------------------------

    def price(self, p: SandboxProduct) -> int:
        return min(s.price_fen for s in p.skus)

    def item(self, p: SandboxProduct) -> dict[str, Any]:
        price = self.price(p)
        origin = charm_price(price * (120 + _digest("youzan-origin", p.product_id) % 60) // 100)
        created = datetime.fromtimestamp(self.clock() - 86_400 * (1 + p.product_id % 90), CHINA)
        return {
            "item_id": item_id(p),
            "alias": alias(p),
            "title": p.title,
            "price": price,
            "origin": yuan(origin),
            "quantity": sum(s.stock for s in p.skus) if listed(p) else 0,
            "is_listing": listed(p),
            "item_no": f"SKU{p.product_id}",
            "item_type": 0,
            "post_type": 1,
            "post_fee": 0,
            "sold_num": p.monthly_sales,
            "created_time": created.strftime("%Y-%m-%d %H:%M:%S"),
            "update_time": created.strftime("%Y-%m-%d %H:%M:%S"),
            "detail_url": f"https://h5.youzan.com/v2/goods/{alias(p)}",
            "item_imgs": [
                {"url": u, "thumbnail": u, "medium": u, "id": n} for n, u in enumerate(p.head_imgs)
            ],
            "image": p.head_imgs[0],
            "share_title": p.title,
            "page_url": f"packages/goods/detail/index?alias={alias(p)}",
        }

    def expire_all_tokens(self) -> None:
        for token in self.tokens:
            self.tokens[token] = self.clock() - 1

    def trades(self, fans_id: int) -> list[dict[str, Any]]:
        """One or two trades per link made for the salesman, a minute or two after it."""
        out = []
        for link in self.links.values():
            if link.fans_id != fans_id:
                continue
            p = self.catalogue.product(link.product_id)
            if p is None:
                continue
            seed = _digest("youzan-trade", link.mark)
            for n in range(1 + seed % 2):
                created = link.issued_at + 60 * (n + 1)
                kind = (seed >> (3 + n)) % 4  # 0 paid, 1 done and settled, 2 closed, 3 shipped
                count = 1 + (seed >> 9) % 2
                money = self.price(p) * count
                cps = money * SALESMAN_RATE_PERMILLE // 1000
                if self.settle_everything and kind != 2:
                    kind = 1
                state = {0: 5, 1: 100, 2: 99, 3: 6}[kind]
                at = datetime.fromtimestamp(created, CHINA).strftime("%Y-%m-%d %H:%M:%S")
                out.append(
                    {
                        "seller": link.mark,
                        "order_no": f"E2026{seed % 10**14:014d}{n}",
                        "money": yuan(money),
                        "created_at": at,
                        "created_ts": created,
                        "cps_money": yuan(0 if kind == 2 else cps),
                        "state": state,
                        "phone": "138****0000",
                        "settle_state": 2 if kind == 1 else 1,
                        "auto_settle": 1,
                        "settled_at": at if kind == 1 else "",
                        "items": [
                            {
                                "price": yuan(self.price(p)),
                                "num": count,
                                "title": p.title,
                                "is_join": 1,
                                "num_iid": item_id(p),
                                "i_rate": f"{SALESMAN_RATE_PERMILLE / 10:g}",
                                "ii_rate": "0",
                                "i_cps_money": yuan(0 if kind == 2 else cps),
                                "ii_cps_money": "0.00",
                            }
                        ],
                    }
                )
        return out

    # -- HTTP -------------------------------------------------------------------------------------

    async def __call__(self, request: Request) -> Response:
        sub = request.path.removeprefix(PATH)
        if self.faults.latency_s:
            await asyncio.sleep(self.faults.latency_s)
        if request.method != "POST":
            return _json({"gw_err_resp": {"err_code": 4004, "err_msg": "只接受 POST"}})
        try:
            body = json.loads(request.body.decode("utf-8") or "{}")
        except ValueError:
            body = None
        if sub == "/auth/token":
            self.calls["auth/token"] += 1
            return self._token(body)
        parts = sub.split("/")
        if len(parts) != 4 or parts[1] != "api":
            return _json({"gw_err_resp": {"err_code": 4004, "err_msg": f"没有这个接口：{sub}"}})
        name, version = parts[2], parts[3]
        self.calls[name] += 1
        envelope = "3" if version.startswith("3.") else "1"
        try:
            self._check_token(request.query.get("access_token", ""))
            fault = self.faults.fail_next.pop(0) if self.faults.fail_next else ""
            if fault == "500":
                return Response(502, b"<html>502 Bad Gateway</html>", "text/html")
            if fault == "malformed":
                return Response(200, b'{"response":{"items":[{"ite')
            if fault == "throttle":
                raise _Gateway(CODES["throttle"], "调用频率超限，请稍后再试")
            handler = self._routes.get((name, version))
            if handler is None:
                raise _Gateway(4004, f"接口 {name} {version} 不存在")
            if not isinstance(body, dict):
                raise _Refused(CODES["parameter"], "请求体须为 JSON 对象")
            result = handler(self, body)
        except _Gateway as refused:
            return _json({"gw_err_resp": {"err_code": refused.code, "err_msg": refused.message}})
        except _Refused as refused:
            if envelope == "3":
                return _json({"error_response": {"code": refused.code, "msg": refused.message}})
            return _json({"success": False, "code": refused.code, "message": refused.message})
        if envelope == "3":
            return _json({"response": result})
        return _json(
            {"success": True, "code": 200, "message": "successful", "data": result, "trace_id": "sbx"}
        )

    def _token(self, body: Any) -> Response:
        ok = (
            isinstance(body, dict)
            and body.get("authorize_type") == "silent"
            and self.apps.get(str(body.get("client_id"))) == body.get("client_secret")
            and str(body.get("grant_id")) == self.kdt_id
        )
        if not ok:
            return _json(
                {
                    "success": False,
                    "code": CODES["auth"],
                    "message": "client_id、client_secret 或 grant_id 不对",
                }
            )
        token = secrets.token_hex(16)
        expires = self.clock() + self.token_lifetime_s
        self.tokens[token] = expires
        data = {
            "access_token": token,
            "expires": int(expires * 1000),
            "scope": "item salesman trade",
            "authority_id": self.kdt_id,
        }
        return _json({"success": True, "code": 200, "data": data})

    def _check_token(self, token: str) -> None:
        expires = self.tokens.get(token)
        if not token or expires is None or self.faults.refuse_tokens:
            raise _Gateway(CODES["token_invalid"], "access_token 无效 (invalid access_token)")
        if expires <= self.clock():
            raise _Gateway(CODES["token_expired"], "access_token 已过期 (access_token expired)")

    # -- APIs ---------------------------------------------------------------------------------------

    def _product(
        self, body: dict[str, Any], id_key: str = "item_id", alias_key: str = "alias"
    ) -> SandboxProduct:
        found: SandboxProduct | None = None
        if body.get(alias_key):
            found = self._by_alias.get(str(body[alias_key]))
        elif body.get(id_key):
            found = self._by_item.get(_int(body[id_key]))
        else:
            raise _Refused(CODES["parameter"], f"{id_key} 和 {alias_key} 至少传一个")
        if found is None:
            raise _Refused(CODES["item_gone"], "商品不存在")
        return found

    def _salesman(self, body: dict[str, Any], *, must_exist: bool = True) -> int:
        if str(body.get("fans_type")) != "1" or _int(body.get("fans_id")) <= 0:
            raise _Refused(CODES["parameter"], "须传 fans_type=1 和 fans_id（或 11 位 mobile）")
        fans_id = _int(body.get("fans_id"))
        if must_exist and fans_id not in self.salesmen:
            raise _Refused(CODES["salesman_missing"], "销售员不存在")
        return fans_id

    def search(self, body: dict[str, Any]) -> dict[str, Any]:
        page, size = _int(body.get("page_no"), 1), _int(body.get("page_size"), 20)
        if page < 1 or not 1 <= size <= 100:
            raise _Refused(CODES["parameter"], "page_no 从 1 开始，page_size 在 1 到 100 之间")
        keyword = str(body.get("keyword") or body.get("q") or "").strip()
        if keyword:
            hits = [p for p in self.catalogue.search(keyword) if in_shop(p)]
        else:
            hits = sorted(self.shop, key=lambda p: -p.product_id)
        return {"items": [self.item(p) for p in hits[(page - 1) * size : page * size]], "total": len(hits)}

    def item_get(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"item": self.item(self._product(body))}

    def salesman_add(self, body: dict[str, Any]) -> dict[str, Any]:
        fans_id = self._salesman(body, must_exist=False)
        if fans_id in self.salesmen:
            raise _Refused(CODES["salesman_exists"], "该用户已是销售员")
        self.salesmen.add(fans_id)
        return {"isSuccess": True}

    def _link(self, body: dict[str, Any], alias_key: str) -> str:
        fans_id = self._salesman(body)
        p = self._product(body, "item_id", alias_key)
        if not listed(p):
            raise _Refused(CODES["item_gone"], "商品已下架")
        mark = _b36(_digest("youzan-sls", fans_id), 6) + _b36(
            _digest("youzan-link", p.product_id, fans_id), 6
        )
        if mark not in self.links:
            self.links[mark] = YouzanLink(mark, p.product_id, fans_id, self.clock())
        return f"https://h5.youzan.com/v2/goods/{alias(p)}?sls={mark}"

    def promotion_create(self, body: dict[str, Any]) -> dict[str, Any]:
        url = self._link(body, "alias")
        return {"url": url, "short_url": url}

    def share_get(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"link": self._link(body, "item_alias")}

    def trades_get(self, body: dict[str, Any]) -> dict[str, Any]:
        fans_id = self._salesman(body)
        page, size = _int(body.get("page_no"), 1), _int(body.get("page_size"), 20)
        if page < 1 or not 1 <= size <= 100:
            raise _Refused(CODES["parameter"], "page_no 从 1 开始，page_size 在 1 到 100 之间")
        start, end = _int(body.get("start_time"), -1), _int(body.get("end_time"), -1)
        if start < 0 or end <= start:
            raise _Refused(
                CODES["parameter"], "start_time / end_time 须为 Unix 秒，且 end_time 大于 start_time"
            )
        rows = [t for t in self.trades(fans_id) if start <= t["created_ts"] <= end]
        rows.sort(key=lambda t: (t["created_ts"], t["order_no"]))
        listed_rows = [{k: v for k, v in t.items() if k != "created_ts"} for t in rows]
        return {"total": len(rows), "list": listed_rows[(page - 1) * size : page * size]}

    _routes: ClassVar[dict[tuple[str, str], Callable[[YouzanFace, dict[str, Any]], Any]]] = {
        ("youzan.item.common.search", "1.0.0"): search,
        ("youzan.item.get", "3.0.0"): item_get,
        ("youzan.salesman.account.add", "3.0.0"): salesman_add,
        ("youzan.salesman.account.add", "3.0.1"): salesman_add,
        ("youzan.salesman.promotion.create", "3.0.0"): promotion_create,
        ("youzan.salesman.item.share.get", "3.0.0"): share_get,
        ("youzan.salesman.trades.get", "3.0.0"): trades_get,
        ("youzan.salesman.trades.get", "3.0.1"): trades_get,
    }


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _json(data: dict[str, Any]) -> Response:
    return Response(200, json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())
