"""The sandbox league: the WeChat Channels 推客 API on 127.0.0.1, as the reference describes it.

Same paths, verbs, JSON fields, units (fen, ratios in millionths, seconds), cursor pagination and
errcodes as ../shared/reference/league-apis.md §0–§1. Where the reference is unsure ([S]/[U]) the
sandbox is lenient: it accepts GET and POST for the category tree, numbers or strings for ids.

Faults are injected per test or by config: latency, errcode rates, 5xx, malformed JSON, and tokens
that expire early. Every request is logged (path, errcode) so tests can count calls.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import itertools
import json
import random
import re
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from tuike_sandbox.catalogue import Catalogue, SandboxProduct, build_catalogue
from tuike_sandbox.http import HttpServer, Request, Response

PROMOTER = "/channels/ec/promoter/"
HEADSUPPLIER = "/channels/ec/league/headsupplier/"
SHARER_APPID = re.compile(r"wx[0-9A-Za-z_]{6,32}")
"""A well-formed sharer appid: "wx" then letters, digits or "_" (the real ones are wx + 16 hex)."""
BEIJING = dt.timezone(dt.timedelta(hours=8))
"""`bookkeeping_time` is written in Beijing time (the reference's best guess, [U])."""
FLOW_PAGE_MAX = 100
"""The flow list's largest page_size: none is documented ([U]); the sandbox holds the client to 100."""
OPENING_BALANCE = 65_331
"""The organisation's available balance before the sandbox's first flow (fen)."""
BAD_APPIDS = {
    "wx_bad": (40013, "invalid appid"),
    "wx_noip": (40164, "invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not in whitelist rid: 6f1e-sandbox"),
}


class ApiError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errmsg)
        self.errcode = errcode
        self.errmsg = errmsg


@dataclass
class Faults:
    """What can go wrong, per request. Rates are 0..1 and drawn from a seeded RNG."""

    latency_s: float = 0.0
    error_rate: float = 0.0
    errcode: int = -1
    http_500_rate: float = 0.0
    malformed_rate: float = 0.0
    fail_next: list[int] = field(default_factory=list)
    """Errcodes (or 500 / 0 for malformed JSON as -2) to return for the next business calls, in order."""
    quota_exhausted: bool = False
    seed: int = 7


@dataclass
class Token:
    value: str
    appid: str
    expires_at: float


@dataclass
class IssuedLink:
    token: str
    product_id: int
    sharer_appid: str
    issued_at: float


class SandboxState:
    def __init__(
        self,
        catalogue: Catalogue | None,
        token_lifetime: int = 7200,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._catalogue = catalogue
        self.token_lifetime = token_lifetime
        self.clock = clock
        self.started = clock()
        self.tokens: dict[str, Token] = {}
        self.stable: dict[str, Token] = {}
        self.links: dict[str, IssuedLink] = {}
        self.commission: dict[str, tuple[int, int]] = {}
        self.sharer_binds: dict[str, float] = {}
        """Sharers bound to the organisation since the sandbox started (appid → bind time); the
        catalogue's sharers are bound from the start."""
        self.sharer_asks: Counter[str] = Counter()
        """Status queries per sharer appid not in the catalogue: the second one completes the binding."""
        self.funds_permitted = True
        """False: the funds calls answer 48001 api unauthorized (an organisation without the permission)."""
        self.order_status: dict[str, int] = {}
        """Order id → 佣金单 status (20, 100, 200) that tests set, instead of the one drawn per link."""
        self.withheld_flows: set[str] = set()
        """Order ids whose 分账 flow is not booked (yet): what reconciliation calls a missing flow."""
        self.extra_flows: list[dict[str, Any]] = []
        """Flows the organisation's ledger has beyond its orders' (`add_flow`)."""
        self.removed_feeds: set[str] = set()
        """Export ids of feeds the talent has removed since: left out of the list and of the share info."""
        self.calls: Counter[str] = Counter()
        self.log: list[tuple[str, int]] = []
        self.faults = Faults()
        self._rnd = random.Random(self.faults.seed)
        self._seq = itertools.count(1)

    @property
    def catalogue(self) -> Catalogue:
        """Built on first use (None given): `tuike run` answers before the sandbox sees a request."""
        if self._catalogue is None:
            self._catalogue = build_catalogue()
        return self._catalogue

    def reset_faults(self, **kw: Any) -> None:
        self.faults = Faults(**kw)
        self._rnd = random.Random(self.faults.seed)

    # -- tokens ------------------------------------------------------------------------------------

    def issue_token(self, appid: str, secret: str, stable: bool, force: bool = False) -> Token:
        if appid in BAD_APPIDS:
            raise ApiError(*BAD_APPIDS[appid])
        if not appid:
            raise ApiError(40013, "invalid appid")
        if secret == "wrong":
            raise ApiError(40125, "invalid appsecret")
        now = self.clock()
        if stable:
            current = self.stable.get(appid)
            if current and not force and current.expires_at - now > 0:
                return current
        token = Token("SBX_" + secrets.token_urlsafe(48), appid, now + self.token_lifetime)
        # /cgi-bin/token invalidates the previous classic token; stable_token with force does too
        pool = self.stable if stable else self.tokens
        old = pool.get(appid)
        if old is not None:
            self.tokens.pop(old.value, None)
        pool[appid] = token
        self.tokens[token.value] = token
        return token

    def expire_all_tokens(self) -> None:
        for token in self.tokens.values():
            token.expires_at = self.clock() - 1

    def check_token(self, request: Request) -> Token:
        value = request.query.get("access_token", "")
        if not value:
            raise ApiError(41001, "access_token missing")
        token = self.tokens.get(value)
        if token is None:
            raise ApiError(40001, "invalid credential, access_token is invalid or not latest rid: sbx")
        if token.expires_at <= self.clock():
            raise ApiError(42001, "access_token expired rid: sbx")
        return token

    # -- sharers (推客) ----------------------------------------------------------------------------

    def complete_binding(self, sharer_appid: str) -> None:
        """What the sharer does in WeChat (opening the bind link and agreeing): from now on bound."""
        self.sharer_binds.setdefault(sharer_appid, self.clock())

    def sharer_bound_at(self, sharer_appid: str) -> float | None:
        """When the sharer was bound to the organisation; None while it is not."""
        if any(s.sharer_appid == sharer_appid for s in self.catalogue.sharers):
            return self.started - 86400 * 30
        return self.sharer_binds.get(sharer_appid)

    # -- links and orders --------------------------------------------------------------------------

    def issue_link(self, product: SandboxProduct, sharer_appid: str) -> IssuedLink:
        for link in self.links.values():
            if link.product_id == product.product_id and link.sharer_appid == sharer_appid:
                return link
        token = secrets.token_urlsafe(11).replace("-", "x").replace("_", "y")[:15]
        link = IssuedLink(token, product.product_id, sharer_appid, self.clock())
        self.links[token] = link
        return link

    def orders(self) -> list[dict[str, Any]]:
        """Orders appear for links the sandbox issued: one or two per link, deterministic per link."""
        out: list[dict[str, Any]] = []
        for link in self.links.values():
            product = self.catalogue.product(link.product_id)
            if product is None:
                continue
            rnd = random.Random(link.token)
            for n in range(1 + rnd.randint(0, 1)):
                sku = product.skus[0]
                paid = sku.price_fen
                created = int(link.issued_at) + 60 * (n + 1)
                out.append(
                    {
                        "order_id": f"39{link.product_id % 10**8:08d}{n}{rnd.randint(1000, 9999)}",
                        "sku_id": sku.sku_id,
                        "product": product,
                        "sharer_appid": link.sharer_appid,
                        "paid": paid,
                        "create_time": created,
                        "update_time": created + 30,
                        "status": rnd.choice((20, 20, 100, 200)),
                    }
                )
        for order in out:
            order["status"] = self.order_status.get(order["order_id"], order["status"])
        return out

    # -- funds (机构资金) -------------------------------------------------------------------------------

    def add_flow(
        self, amount_fen: int, *, funds_type: int = 2, order_id: str = "", at: float | None = None
    ) -> str:
        """Book a flow the orders do not explain (a 分账 for an order the bot never saw, a 提现)."""
        flow_id = f"{9_100_000_000 + len(self.extra_flows) + 1}"
        self.extra_flows.append(
            {
                "flow_id": flow_id,
                "funds_type": funds_type,
                "amount": amount_fen,
                "time": int(self.clock() if at is None else at),
                "order_id": order_id,
                "withdraw_id": f"wd{flow_id}" if funds_type == 1 else "",
            }
        )
        return flow_id

    def flows(self) -> list[dict[str, Any]]:
        """The ledger, oldest first: an opening withdrawal, a 分账 per settled order (its sharer
        commission, booked at its update time), then what tests added; each with the balance after."""
        opening = int(self.started) - 3 * 86400
        booked: list[dict[str, Any]] = [
            {
                "flow_id": "9000000001",
                "funds_type": 1,
                "amount": 20_000,
                "time": opening,
                "order_id": "",
                "withdraw_id": "wd9000000001",
            },
        ]
        for order in self.orders():
            if order["status"] != 100 or order["order_id"] in self.withheld_flows:
                continue
            product: SandboxProduct = order["product"]
            booked.append(
                {
                    "flow_id": f"8{int(hashlib.sha256(order['order_id'].encode()).hexdigest()[:12], 16):015d}",
                    "funds_type": 2,
                    "amount": order["paid"] * product.commission_ratio_ppm // 1_000_000,
                    "time": order["update_time"],
                    "order_id": order["order_id"],
                    "withdraw_id": "",
                }
            )
        booked += self.extra_flows
        booked.sort(key=lambda f: (f["time"], f["flow_id"]))
        balance = OPENING_BALANCE
        for flow in booked:
            balance += -flow["amount"] if flow["funds_type"] == 1 else flow["amount"]
            flow["balance"] = balance
        return booked

    def pending_fen(self) -> int:
        return sum(
            o["paid"] * o["product"].commission_ratio_ppm // 1_000_000
            for o in self.orders()
            if o["status"] == 20
        )

    # -- clues (自营线索) -------------------------------------------------------------------------------

    def clues(self) -> list[dict[str, Any]]:
        """A few 自营 orders through the organisation's sharers over the last days (no commission)."""
        out = []
        rnd = random.Random("clues")
        products = [p for p in self.catalogue.products if p.status == 1]
        for i, sharer in enumerate(self.catalogue.sharers):
            for n in range(2):
                product = rnd.choice(products)
                created = int(self.started) - (i * 2 + n + 1) * 5 * 3600
                out.append(
                    {
                        "order_id": f"37{product.product_id % 10**8:08d}{i}{n}",
                        "sku_id": product.skus[0].sku_id,
                        "product": product,
                        "sharer": sharer,
                        "paid": product.skus[0].price_fen,
                        "create_time": created,
                        "update_time": created + 600,
                        "status": rnd.choice((20, 100)),
                    }
                )
        return out


def _json(data: dict[str, Any]) -> Response:
    return Response(200, json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())


def _page(items: list[Any], body: dict[str, Any], max_size: int) -> tuple[list[Any], str, bool]:
    size = body.get("page_size", 10)
    try:
        size = int(size)
    except (TypeError, ValueError):
        raise ApiError(10024000, "参数错误: page_size") from None
    if size <= 0 or size > max_size:
        raise ApiError(10024000, f"参数错误: page_size must be 1..{max_size}")
    key = str(body.get("next_key") or "")
    start = 0
    if key:
        if not key.startswith("nk") or not key[2:].isdigit():
            raise ApiError(10024000, "参数错误: next_key")
        start = int(key[2:])
    chunk = items[start : start + size]
    end = start + len(chunk)
    more = end < len(items)
    return chunk, (f"nk{end}" if more else ""), more


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(10024000, f"参数错误: {name}") from None


class SandboxLeague:
    """The API itself; `SandboxServer` puts it on a port."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.routes: dict[str, Callable[[Request, dict[str, Any]], dict[str, Any]]] = {
            PROMOTER + "get_promote_product_list": self.product_list,
            PROMOTER + "get_promote_product_detail": self.product_detail,
            PROMOTER + "get_product_promotion_link_info": self.link_info,
            PROMOTER + "get_product_promotion_qrcode_info": self.qrcode_info,
            PROMOTER + "get_promoter_single_product_promotion_info": self.single_product_info,
            PROMOTER + "get_cooperative_coupon_list": lambda r, b: self.coupon_list(b, True),
            PROMOTER + "get_public_coupon_list": lambda r, b: self.coupon_list(b, False),
            PROMOTER + "get_coupon_detail": self.coupon_detail,
            PROMOTER + "get_coupon_short_link": self.coupon_short_link,
            PROMOTER + "get_live_record_list": self.live_records,
            PROMOTER + "get_live_notice_record_list": self.live_notices,
            PROMOTER + "get_live_notice_record_qr_code": self.live_notice_qr,
            PROMOTER + "get_bind_sharer_list": self.sharer_list,
            PROMOTER + "get_promoter_register_and_bind_status": self.register_status,
            PROMOTER + "set_sharer_commission_info": self.set_commission,
            HEADSUPPLIER + "order/list/get": self.order_list,
            HEADSUPPLIER + "order/get": self.order_get,
            HEADSUPPLIER + "clue/list/get": self.clue_list,
            HEADSUPPLIER + "clue/get": self.clue_get,
            HEADSUPPLIER + "funds/balance/get": self.funds_balance,
            HEADSUPPLIER + "funds/flowlist/get": self.funds_flow_list,
            HEADSUPPLIER + "funds/flowdetail/get": self.funds_flow_detail,
            HEADSUPPLIER + "window/getall": self.window_all,
            HEADSUPPLIER + "window/getdetail": self.window_detail,
            PROMOTER + "get_feed_list": self.feed_list,
            PROMOTER + "get_feed_promotion_info": self.feed_promotion,
            PROMOTER + "get_live_notice_promoter_share_link": self.live_notice_share_link,
            "/channels/ec/category/league/all": self.categories,
            "/cgi-bin/openapi/quota/get": self.quota,
        }

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
        state = self.state
        faults = state.faults
        if request.path == "/cgi-bin/token":
            if request.method != "GET":
                raise ApiError(43002, "require GET method")
            q = request.query
            if q.get("grant_type") != "client_credential":
                raise ApiError(40002, "invalid grant_type")
            token = state.issue_token(q.get("appid", ""), q.get("secret", ""), stable=False)
            state.log.append((request.path, 0))
            return _json({"access_token": token.value, "expires_in": int(token.expires_at - state.clock())})
        if request.path == "/cgi-bin/stable_token":
            body = self._body(request, need_post=True)
            if body.get("grant_type") != "client_credential":
                raise ApiError(40002, "invalid grant_type")
            token = state.issue_token(
                str(body.get("appid", "")), str(body.get("secret", "")), True, bool(body.get("force_refresh"))
            )
            state.log.append((request.path, 0))
            return _json(
                {"access_token": token.value, "expires_in": max(int(token.expires_at - state.clock()), 0)}
            )

        route = self.routes.get(request.path)
        if route is None:
            return Response(404, b'{"errcode":404,"errmsg":"not found"}')
        if faults.latency_s:
            await asyncio.sleep(faults.latency_s)
        is_category = request.path == "/channels/ec/category/league/all"
        body = {} if is_category and request.method == "GET" else self._body(request, need_post=True)
        state.check_token(request)
        if faults.fail_next:
            code = faults.fail_next.pop(0)
            if code == 500:
                return Response(500, b"<html>502 Bad Gateway</html>", "text/html")
            if code == -2:
                return Response(200, b'{"errcode":0,"errmsg":"ok","product_list":[')
            raise ApiError(
                code,
                {
                    -1: "system error",
                    45009: "reach max api daily quota limit",
                    45011: "api minute-quota reach limit must slower retry next minute",
                }.get(code, "error"),
            )
        if faults.quota_exhausted and request.path != "/cgi-bin/openapi/quota/get":
            raise ApiError(45009, "reach max api daily quota limit rid: sbx")
        roll = state._rnd.random()
        if roll < faults.http_500_rate:
            return Response(500, b"<html>500</html>", "text/html")
        if roll < faults.http_500_rate + faults.malformed_rate:
            return Response(200, b'{"errcode":0,"errmsg":"ok",')
        if roll < faults.http_500_rate + faults.malformed_rate + faults.error_rate:
            raise ApiError(faults.errcode, "system error")
        data = route(request, body)
        state.log.append((request.path, 0))
        return _json({"errcode": 0, "errmsg": "ok", **data})

    @staticmethod
    def _body(request: Request, need_post: bool) -> dict[str, Any]:
        if need_post and request.method != "POST":
            raise ApiError(43002, "require POST method")
        if not request.body:
            raise ApiError(44002, "empty post data")
        try:
            body = json.loads(request.body)
        except ValueError:
            raise ApiError(47001, "data format error") from None
        if not isinstance(body, dict):
            raise ApiError(47001, "data format error")
        return body

    # -- products --------------------------------------------------------------------------------

    def _product(self, body: dict[str, Any]) -> SandboxProduct:
        pid = _int(body.get("product_id"), "product_id")
        product = self.state.catalogue.product(pid)
        shop = str(body.get("shop_appid") or "")
        if product is None or (shop and shop != product.shop_appid):
            raise ApiError(10024004, "不存在该商品")
        return product

    def product_list(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        plan = _int(body.get("plan_type", 2), "plan_type")
        if plan not in (1, 2, 3, 4):
            raise ApiError(10024000, "参数错误: plan_type")
        keyword = str(body.get("keyword") or "").strip()
        category = body.get("category") or {}
        cat_id = str(category.get("category_id") or "") if isinstance(category, dict) else ""
        cond = body.get("spu_item_condition") or {}

        def in_range(name: str, value: int) -> bool:
            rng = cond.get(name) if isinstance(cond, dict) else None
            if not isinstance(rng, dict):
                return True
            low, high = rng.get("min"), rng.get("max")
            return (low in (None, "") or value >= int(low)) and (high in (None, "") or value <= int(high))

        hits = []
        catalogue = self.state.catalogue
        # a keyword search comes back most relevant first; a browse, best sellers first
        candidates = (
            catalogue.search(keyword)
            if keyword
            else sorted(catalogue.products, key=lambda p: (-p.monthly_sales, p.product_id))
        )
        for p in candidates:
            if p.status != 1 or (plan in (1, 2) and p.plan_type != plan):
                continue
            if cat_id and cat_id not in (p.category_id, p.leaf_category_id):
                continue
            price = min(s.price_fen for s in p.skus)
            if not in_range("selling_price_range", price) or not in_range(
                "commission_rate_range", p.commission_ratio_ppm
            ):
                continue
            if not in_range("monthly_sales_range", p.monthly_sales):
                continue
            hits.append(p)
        chunk, next_key, more = _page(hits, body, 20)
        return {
            "product_list": [{"product_id": p.product_id, "shop_appid": p.shop_appid} for p in chunk],
            "next_key": next_key,
            "has_more": more,
        }

    def product_detail(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        p = self._product(body)
        now = int(self.state.started)
        product: dict[str, Any] = {
            "shop_appid": p.shop_appid,
            "product_id": p.product_id,
            "product_promotion_link": f"sbxppl_{p.product_id}",
            "product_info": {
                "title": p.title,
                "sub_title": p.sub_title,
                "head_imgs": list(p.head_imgs),
                "desc_info": {"imgs": list(p.head_imgs[1:]), "desc": p.desc},
                "cats_v2": [{"cat_id": p.category_id}, {"cat_id": p.leaf_category_id}],
                "skus": [
                    {
                        "sku_id": s.sku_id,
                        "thumb_img": s.thumb_img,
                        "sale_price": s.price_fen,
                        "stock_num": s.stock,
                        "sku_attrs": [{"attr_key": k, "attr_value": v} for k, v in s.attrs],
                    }
                    for s in p.skus
                ],
            },
            "commission_info": {
                "status": p.status,
                "service_ratio": p.service_ratio_ppm,
                "ratio": p.commission_ratio_ppm,
                "normal_commission_info": {"ratio": p.commission_ratio_ppm},
                "start_time": now - 86400 * 10,
                "end_time": now + 86400 * 60,
            },
            "monthly_sales": p.monthly_sales,
            "shop_name": p.shop_name,
        }
        data: dict[str, Any] = {"product": product}
        if body.get("get_available_coupon"):
            coupons = [self.state.catalogue.coupon(c) for c in p.coupon_ids]
            data["publish_coupons"] = [{"coupon_id": c.coupon_id} for c in coupons if c and not c.cooperative]
            data["cooperative_coupons"] = [{"coupon_id": c.coupon_id} for c in coupons if c and c.cooperative]
        return data

    def _sharer(self, body: dict[str, Any]) -> str:
        return str(body.get("sharer_appid") or body.get("sharer_openid") or "")

    def _linked_product(self, body: dict[str, Any]) -> SandboxProduct:
        short = str(body.get("product_short_link") or "")
        if short:
            link = self.state.links.get(short.rstrip("/").rsplit("/", 1)[-1])
            if link is None:
                raise ApiError(10024004, "不存在该商品")
            product = self.state.catalogue.product(link.product_id)
            assert product is not None
            return product
        return self._product(body)

    def link_info(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        product = self._linked_product(body)
        link = self.state.issue_link(product, self._sharer(body))
        return {
            "short_link": f"#小店://推广/{link.token}",
            "http_short_link": f"https://store.weixin.qq.com/shop/a/{link.token}",
        }

    def qrcode_info(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        product = self._linked_product(body)
        link = self.state.issue_link(product, self._sharer(body))
        return {"qrcode_url": f"https://mp.weixin.qq.com/sandbox/qrcode/{link.token}.png"}

    def single_product_info(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        product = self._linked_product(body)
        return {"product_promotion_link": f"sbxppl_{product.product_id}_{self._sharer(body) or 'org'}"}

    # -- coupons ---------------------------------------------------------------------------------

    def coupon_list(self, body: dict[str, Any], cooperative: bool) -> dict[str, Any]:
        shop = str(body.get("shop_appid") or "")
        coupons = [
            c
            for c in self.state.catalogue.coupons
            if c.cooperative == cooperative and (not shop or c.shop_appid == shop)
        ]
        chunk, next_key, more = _page(coupons, body, 200)
        return {
            "coupons": [{"coupon_id": c.coupon_id} for c in chunk],
            "next_key": next_key,
            "has_more": more,
        }

    def coupon_detail(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        coupon = self.state.catalogue.coupon(str(body.get("coupon_id") or ""))
        if coupon is None:
            raise ApiError(10024000, "参数错误: coupon_id")
        start = int(self.state.started) - 86400
        end = start + 86400 * (coupon.valid_days + 1)
        return {
            "coupon": {
                "coupon_id": coupon.coupon_id,
                "shop_appid": coupon.shop_appid,
                "type": 103 if coupon.discount_num else 101,
                "status": 2,
                "create_time": start,
                "update_time": start,
                "coupon_info": {
                    "name": coupon.name,
                    "discount_info": {
                        "discount_num": coupon.discount_num,
                        "discount_fee": coupon.discount_fee_fen,
                        "discount_condition": {
                            "product_cnt": 1,
                            "product_price": coupon.threshold_fen,
                            "product_ids": [str(p) for p in coupon.product_ids],
                        },
                    },
                    "valid_info": {"valid_type": 1, "valid_day_num": 0, "start_time": start, "end_time": end},
                    "receive_info": {
                        "start_time": start,
                        "end_time": end,
                        "limit_num_one_person": 1,
                        "total_num": coupon.total_num,
                    },
                },
                "stock_info": {
                    "issued_num": coupon.total_num,
                    "receive_num": coupon.receive_num,
                    "used_num": coupon.used_num,
                },
            }
        }

    def coupon_short_link(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        coupon = self.state.catalogue.coupon(str(body.get("coupon_id") or ""))
        if coupon is None:
            raise ApiError(10024000, "参数错误: coupon_id")
        return {"short_link": f"#小店://券/{coupon.coupon_id}/{self._sharer(body) or 'org'}"}

    # -- lives -----------------------------------------------------------------------------------

    def _lives(self, body: dict[str, Any]) -> list[tuple[Any, int]]:
        talent = str(body.get("talent_appid") or "")
        if not talent:
            raise ApiError(10024000, "参数错误: talent_appid")
        return [
            (lv, int(self.state.started) + lv.start_offset_s)
            for lv in self.state.catalogue.lives
            if lv.talent_appid == talent
        ]

    def live_records(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("mini_program_appid"):
            raise ApiError(10024000, "参数错误: mini_program_appid")
        now = self.state.clock()
        sharer = self._sharer(body)
        return {
            "live_record_list": [
                {
                    "export_id": lv.export_id,
                    "description": lv.description,
                    "promoter_share_link": f"sbxlive_{lv.export_id}_{sharer or 'org'}",
                }
                for lv, start in self._lives(body)
                if start <= now < start + lv.duration_s
            ]
        }

    def live_notices(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        now = self.state.clock()
        return {
            "live_notice_record_list": [
                {"notice_id": lv.notice_id, "description": lv.description, "start_time": start}
                for lv, start in self._lives(body)
                if start > now
            ]
        }

    def live_notice_qr(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        notice = str(body.get("notice_id") or "")
        if not any(lv.notice_id == notice for lv, _ in self._lives(body)):
            raise ApiError(10024000, "参数错误: notice_id")
        return {
            "qrcode_url": f"https://mp.weixin.qq.com/sandbox/live/{notice}/{self._sharer(body) or 'org'}.png"
        }

    # -- sharers ---------------------------------------------------------------------------------

    def sharer_list(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        wanted = str(body.get("sharer_appid") or "")
        state = self.state
        sharers = [
            (s.sharer_appid, s.nickname, s.commission_ratio_ppm, s.commission_type)
            for s in state.catalogue.sharers
        ]
        known = {appid for appid, *_ in sharers}
        sharers += [
            (appid, f"推客{appid[-4:]}", 500_000, 0) for appid in state.sharer_binds if appid not in known
        ]
        chunk, next_key, more = _page([s for s in sharers if not wanted or s[0] == wanted], body, 20)
        out = []
        for appid, nickname, default_ratio, default_kind in chunk:
            ratio, kind = state.commission.get(appid, (default_ratio, default_kind))
            out.append(
                {
                    "sharer_appid": appid,
                    "nickname": nickname,
                    "bind_time": int(state.sharer_bound_at(appid) or state.started),
                    "commission_ratio": ratio,
                    "commission_type": kind,
                }
            )
        return {"sharer_info_list": out, "next_key": next_key, "has_more": more}

    def register_status(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        """A catalogue sharer is bound; any other well-formed appid is a registered 推客 not yet bound,
        until the bind step (`SandboxState.complete_binding`), which the second query also completes
        (so `make run` can show the whole flow); a malformed appid is refused."""
        appid = self._sharer(body)
        if not appid:
            raise ApiError(10024000, "参数错误: sharer_appid or sharer_openid is required")
        if "is_simple_register" in body and not isinstance(body["is_simple_register"], bool):
            raise ApiError(10024000, "参数错误: is_simple_register")
        if body.get("sharer_appid") and not SHARER_APPID.fullmatch(appid):
            raise ApiError(10024003, "不合法的appid")
        state = self.state
        if state.sharer_bound_at(appid) is None:
            state.sharer_asks[appid] += 1
            if state.sharer_asks[appid] >= 2:
                state.complete_binding(appid)
        bound = state.sharer_bound_at(appid) is not None
        token = request.query.get("access_token", "")
        org = state.tokens[token].appid if token in state.tokens else ""
        ticket = hashlib.sha256(f"{org}|{appid}".encode()).hexdigest()[:16]
        return {
            "bind_status": 1 if bound else 0,
            "register_status": 2,
            "register_business_type": "sandbox_register",
            "register_query_string": "" if bound else f"sharer_appid={appid}&ticket={ticket}",
            "bind_business_type": "sandbox_bind",
            "bind_query_string": ""
            if bound
            else f"head_supplier_appid={org}&sharer_appid={appid}&ticket={ticket}",
            "sharer_appid": appid,
        }

    def set_commission(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        appid = str(body.get("sharer_appid") or "")
        kind = _int(body.get("commission_type"), "commission_type")
        ratio = _int(body.get("commission_ratio"), "commission_ratio")
        if not any(s.sharer_appid == appid for s in self.state.catalogue.sharers):
            raise ApiError(10024003, "不合法的appid")
        if kind not in (0, 1) or (kind == 0 and not 100_000 <= ratio <= 900_000):
            raise ApiError(10024000, "参数错误: commission_ratio")
        self.state.commission[appid] = (ratio, kind)
        return {}

    # -- orders, clues, categories, quota ---------------------------------------------------------

    def _orders(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        orders = self.state.orders()
        if body.get("order_id"):
            return [o for o in orders if o["order_id"] == str(body["order_id"])]
        sharer = str(body.get("sharer_appid") or "")
        if sharer:
            orders = [o for o in orders if o["sharer_appid"] == sharer]
        for field_name, key in (("create_time_range", "create_time"), ("update_time_range", "update_time")):
            rng = body.get(field_name)
            if isinstance(rng, dict):
                low, high = int(rng.get("start_time", 0)), int(rng.get("end_time", 2**62))
                orders = [o for o in orders if low <= o[key] <= high]
        return sorted(orders, key=lambda o: (o["create_time"], o["order_id"]))

    def order_list(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        if "create_time_range" in body and "update_time_range" in body:
            raise ApiError(10024000, "参数错误: only one time range")
        chunk, next_key, more = _page(self._orders(body), body, 30)
        return {
            "list": [{"order_id": o["order_id"], "sku_id": o["sku_id"]} for o in chunk],
            "next_key": next_key,
            "has_more": more,
        }

    def order_get(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        for o in self.state.orders():
            if o["order_id"] == str(body.get("order_id")) and o["sku_id"] == str(body.get("sku_id")):
                p: SandboxProduct = o["product"]
                sharer = next(
                    (s for s in self.state.catalogue.sharers if s.sharer_appid == o["sharer_appid"]), None
                )
                return {
                    "commssion_order": {
                        "order_id": o["order_id"],
                        "sku_id": o["sku_id"],
                        "create_time": o["create_time"],
                        "update_time": o["update_time"],
                        "status": o["status"],
                        "order_detail": {
                            "shop_info": {"appid": p.shop_appid},
                            "product_info": {
                                "product_id": str(p.product_id),
                                "thumb_img": p.head_imgs[0],
                                "title": p.title,
                                "actual_payment": o["paid"],
                            },
                            "order_info": {"order_status": 100 if o["status"] == 100 else 20},
                            "commission_info": {
                                "sharer_info": {
                                    "sharer_appid": o["sharer_appid"],
                                    "nickname": sharer.nickname if sharer else "",
                                    "opensharerid": "sbx-" + o["sharer_appid"],
                                    "ratio": p.commission_ratio_ppm,
                                    "amount": o["paid"] * p.commission_ratio_ppm // 1_000_000,
                                },
                                "service_ratio": p.service_ratio_ppm,
                                "service_amount": o["paid"] * p.service_ratio_ppm // 1_000_000,
                            },
                            "buyer_info": {"open_id": "sbx-buyer", "union_id": ""},
                        },
                    }
                }
        raise ApiError(10024006, "不存在该佣金单")

    def clue_list(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        clues = self.state.clues()
        sharer = str(body.get("sharer_appid") or "")
        if sharer:
            clues = [c for c in clues if c["sharer"].sharer_appid == sharer]
        shop = str(body.get("appid") or "")
        if shop:
            clues = [c for c in clues if c["product"].shop_appid == shop]
        rng = body.get("create_time_range")
        if isinstance(rng, dict):
            low, high = (
                _int(rng.get("start_time", 0), "start_time"),
                _int(rng.get("end_time", 2**62), "end_time"),
            )
            clues = [c for c in clues if low <= c["create_time"] <= high]
        clues.sort(key=lambda c: (c["create_time"], c["order_id"]))
        chunk, next_key, more = _page(clues, body, 30)
        return {
            "list": [{"order_id": c["order_id"], "sku_id": c["sku_id"]} for c in chunk],
            "next_key": next_key,
            "has_more": more,
        }

    def clue_get(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        for c in self.state.clues():
            if c["order_id"] == str(body.get("order_id")) and c["sku_id"] == str(body.get("sku_id")):
                p: SandboxProduct = c["product"]
                return {
                    "commssion_clue": {
                        "order_id": c["order_id"],
                        "sku_id": c["sku_id"],
                        "create_time": c["create_time"],
                        "update_time": c["update_time"],
                        "status": c["status"],
                        "clue_detail": {
                            "shop_info": {"appid": p.shop_appid},
                            "product_info": {
                                "product_id": str(p.product_id),
                                "thumb_img": p.head_imgs[0],
                                "title": p.title,
                                "actual_payment": c["paid"],
                            },
                            "order_info": {"status": 100 if c["status"] == 100 else 20},
                            "sharer_info": {
                                "sharer_appid": c["sharer"].sharer_appid,
                                "nickname": c["sharer"].nickname,
                                "opensharerid": "sbx-" + c["sharer"].sharer_appid,
                            },
                            "buyer_info": {"open_id": "sbx-buyer", "union_id": ""},
                        },
                    }
                }
        raise ApiError(10024006, "不存在该佣金单")

    # -- funds (机构资金) ---------------------------------------------------------------------------

    def _funds_permitted(self) -> None:
        if not self.state.funds_permitted:
            raise ApiError(48001, "api unauthorized rid: sbx")

    def funds_balance(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        self._funds_permitted()
        flows = self.state.flows()
        return {
            "available_amount": flows[-1]["balance"] if flows else OPENING_BALANCE,
            "pending_amount": self.state.pending_fen(),
        }

    def funds_flow_list(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        """Numbered pages; `next_key` is needed once page × page_size reaches 5,000 and counts only
        for the page after the one that gave it, with the same page size."""
        self._funds_permitted()
        page = _int(body.get("page", 1), "page")
        size = _int(body.get("page_size", 10), "page_size")
        if page < 1 or not 1 <= size <= FLOW_PAGE_MAX:
            raise ApiError(10024000, "参数错误: page / page_size")
        funds_type = body.get("funds_type")
        flows = self.state.flows()
        if funds_type is not None:
            flows = [f for f in flows if f["funds_type"] == _int(funds_type, "funds_type")]
        if body.get("start_time") is not None:
            flows = [f for f in flows if f["time"] >= _int(body["start_time"], "start_time")]
        if body.get("end_time") is not None:
            flows = [f for f in flows if f["time"] <= _int(body["end_time"], "end_time")]
        start = (page - 1) * size
        expected = f"fk{start}_{size}"
        if start >= 5000 and str(body.get("next_key") or "") != expected:
            raise ApiError(10024000, "参数错误: next_key is required for deep pages")
        chunk = flows[start : start + size]
        more = start + size < len(flows)
        return {
            "flow_ids": [f["flow_id"] for f in chunk],
            "has_more": more,
            "next_key": f"fk{start + size}_{size}" if more else "",
        }

    def funds_flow_detail(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        self._funds_permitted()
        flow_id = str(body.get("flow_id") or "")
        if not flow_id:
            raise ApiError(10024000, "参数错误: flow_id")
        for f in self.state.flows():
            if f["flow_id"] == flow_id:
                out = {
                    "flow_id": f["flow_id"],
                    "funds_type": f["funds_type"],
                    "flow_type": 2 if f["funds_type"] == 1 else 1,
                    "amount": f["amount"],
                    "balance": f["balance"],
                    "bookkeeping_time": dt.datetime.fromtimestamp(f["time"], BEIJING).strftime(
                        "%Y-%m-%d %H:%M:%S"
                    ),
                    "remark": "提现" if f["funds_type"] == 1 else "分账",
                }
                if f["order_id"]:
                    out["order_id"] = f["order_id"]
                if f["withdraw_id"]:
                    out["withdraw_id"] = f["withdraw_id"]
                return {"funds_flow": out}
        raise ApiError(10024008, "不存在该流水")

    # -- windows (达人橱窗) -------------------------------------------------------------------------

    def _talent_by_finder(self, body: dict[str, Any]) -> Any:
        finder = str(body.get("openfinderid") or body.get("opentalentid") or body.get("finder_id") or "")
        talent = next((t for t in self.state.catalogue.talents if t.openfinderid == finder), None)
        if talent is None:
            raise ApiError(10024001, "不合法的finder_id")
        if not talent.window_authorised:
            raise ApiError(10024011, "未获得橱窗授权")
        return talent

    def window_all(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        talent = self._talent_by_finder(body)
        if "offset" not in body:
            raise ApiError(10024000, "参数错误: offset")
        offset = _int(body["offset"], "offset")
        size = _int(body.get("page_size", 100), "page_size")
        if offset < 0 or not 1 <= size <= 500:
            raise ApiError(10024000, "参数错误: offset / page_size")
        catalogue = self.state.catalogue
        items = [w for w in catalogue.windows if w.openfinderid == talent.openfinderid]
        chunk = items[offset : offset + size]
        out: dict[str, Any] = {
            "list": [
                {"appid": product.shop_appid, "product_id": product.product_id}
                for w in chunk
                if (product := catalogue.product(w.product_id)) is not None
            ],
            "next_offset": offset + len(chunk),
            "have_more": offset + len(chunk) < len(items),
        }
        if body.get("need_total_num"):
            out["total_num"] = len(items)
        return out

    def window_detail(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        talent = self._talent_by_finder(body)
        pid = _int(body.get("product_id"), "product_id")
        catalogue = self.state.catalogue
        if not any(w.openfinderid == talent.openfinderid and w.product_id == pid for w in catalogue.windows):
            raise ApiError(10024020, "橱窗不存在该商品")
        p = catalogue.product(pid)
        assert p is not None
        return {
            "product_detail": {
                "appid": p.shop_appid,
                "product_id": p.product_id,
                "product_info": {
                    "title": p.title,
                    "sub_title": p.sub_title,
                    "head_imgs": list(p.head_imgs),
                    "desc_info": {"imgs": list(p.head_imgs[1:]), "desc": p.desc},
                    "cats_v2": [{"cat_id": p.category_id}, {"cat_id": p.leaf_category_id}],
                    "product_promotion_link": f"sbxppl_{p.product_id}",
                },
            }
        }

    # -- feeds and live previews ------------------------------------------------------------------

    def _talent_feeds(self, body: dict[str, Any]) -> list[Any]:
        talent = str(body.get("talent_appid") or "")
        if not talent:
            raise ApiError(10024000, "参数错误: talent_appid")
        return [
            f
            for f in self.state.catalogue.feeds
            if f.talent_appid == talent and f.export_id not in self.state.removed_feeds
        ]

    def feed_list(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        feeds = self._talent_feeds(body)
        chunk, next_key, more = _page(feeds, body, 10)
        catalogue = self.state.catalogue
        out = []
        for f in chunk:
            p = catalogue.product(f.product_id)
            assert p is not None
            out.append(
                {
                    "export_id": f.export_id,
                    "talent_appid": f.talent_appid,
                    "predict_commission_amount": f.predict_commission_fen,
                    "product_info": {
                        "product_id": p.product_id,
                        "product_name": p.title,
                        "product_img_url": p.head_imgs[0],
                        # the doc example writes it as a string: so does the sandbox
                        "product_mini_price": str(min(s.price_fen for s in p.skus)),
                    },
                }
            )
        return {"feed_list": out, "next_key": next_key, "has_more": more}

    def feed_promotion(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        """Removed feeds are left out of the answer (undocumented: [U] in the reference)."""
        if not body.get("mini_program_appid"):
            raise ApiError(10024000, "参数错误: mini_program_appid")
        wanted = body.get("feed_list")
        if not isinstance(wanted, list) or not wanted or not all(isinstance(w, dict) for w in wanted):
            raise ApiError(10024000, "参数错误: feed_list")
        known = {f.export_id for f in self._talent_feeds(body)}
        sharer = self._sharer(body) or "org"
        out = []
        for item in wanted:
            export_id = str(item.get("export_id") or "")
            if export_id in known:
                token = hashlib.sha256(f"{export_id}|{sharer}".encode()).hexdigest()[:24]
                out.append(
                    {
                        "export_id": export_id,
                        "feed_token": f"sbxfeedtoken_{token}",
                        "promoter_share_link": f"sbxfeed_{token}_{sharer}",
                    }
                )
        return {"feed_list": out}

    def live_notice_share_link(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        for name in ("mini_program_appid", "notice_id", "talent_appid", "sharer_appid"):
            if not body.get(name):
                raise ApiError(10024000, f"参数错误: {name}")
        notice = str(body["notice_id"])
        if not any(lv.notice_id == notice for lv, _ in self._lives(body)):
            raise ApiError(10024000, "参数错误: notice_id")
        return {"promoter_share_link": f"sbxnotice_{notice[-12:]}_{body['sharer_appid']}"}

    def categories(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        nodes = [
            {"cat_id": c.cat_id, "name": c.name, "f_cat_id": c.f_cat_id, "level": c.level, "leaf": c.leaf}
            for c in self.state.catalogue.categories
        ]
        return {"cats_v2": nodes, "cats": nodes}

    def quota(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        path = str(body.get("cgi_path") or "")
        if not path.startswith("/"):
            raise ApiError(76003, "invalid cgi_path")
        if path not in self.routes:
            raise ApiError(76021, "cgi_path not found, please check")
        used = self.state.calls[path]
        limit = 0 if self.state.faults.quota_exhausted else 100_000
        return {
            "quota": {
                "daily_limit": 100_000,
                "used": used if limit else 100_000,
                "remain": max(limit - used, 0),
            }
        }


Face = Callable[[Request], Awaitable[Response]]
FaceFactory = Callable[[Catalogue, Callable[[], float]], Face]


def _faces() -> dict[str, FaceFactory]:
    """The wire face of each non-Channels league, by request path: one line per league."""
    from tuike_sandbox.eleme_face import top_gateway
    from tuike_sandbox.jd_face import JdFace
    from tuike_sandbox.meituan_face import PATHS as MEITUAN_PATHS
    from tuike_sandbox.meituan_face import MeituanFace
    from tuike_sandbox.pdd_face import PddFace
    from tuike_sandbox.shopify_face import ShopifyFace
    from tuike_sandbox.vip_face import VipFace
    from tuike_sandbox.youzan_face import YouzanFace

    meituan = _one(MeituanFace)  # one face (one state) behind its three paths
    return {
        "/router/rest": top_gateway,  # Taobao Open Platform (TOP) gateway, with Ele.me's alsc methods
        "/routerjson": JdFace,  # JD union over JOS
        "/api/router": PddFace,  # Pinduoduo 多多进宝 router
        "/vop": VipFace,  # Vipshop union over the vop gateway
        **dict.fromkeys(MEITUAN_PATHS, meituan),  # Meituan CPS open API
        "/youzan": YouzanFace,  # the operator's Youzan shop (有赞云), every path under it
        "/shopify": ShopifyFace,  # the operator's Shopify shop (Admin GraphQL), every path under it
    }


def _one(make: FaceFactory) -> FaceFactory:
    """A factory that makes its face once and gives the same one for every path it serves."""
    made: list[Face] = []

    def once(catalogue: Catalogue, clock: Callable[[], float]) -> Face:
        if not made:
            made.append(make(catalogue, clock))
        return made[0]

    return once


def _wechat_faces(state: SandboxState) -> list[Any]:
    """Faces sharing the WeChat token endpoints (and faults) with the Channels API; each lists its `paths`."""
    from tuike_sandbox.union_face import UnionFace

    return [
        UnionFace(state),  # mini-program union: /union/promoter/*
    ]


class SandboxServer:
    """`async with SandboxServer() as sandbox: sandbox.base_url` — every league on one loopback port.

    Requests go to a league's face by path (`faces`); everything else is the Channels API.
    """

    def __init__(
        self,
        catalogue: Catalogue | None = None,
        port: int = 0,
        token_lifetime: int = 7200,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state = SandboxState(catalogue, token_lifetime=token_lifetime, clock=clock)
        self.api = SandboxLeague(self.state)
        self._clock = clock
        self._faces: dict[str, Face] | None = None
        self._building = asyncio.Lock()
        self.http = HttpServer(self._dispatch, "127.0.0.1", port)

    @property
    def faces(self) -> dict[str, Face]:
        """The other leagues' faces by path, made at the first request (with the catalogue), not at start."""
        if self._faces is None:
            faces: dict[str, Face] = {
                path: make(self.state.catalogue, self._clock) for path, make in _faces().items()
            }
            for wechat_face in _wechat_faces(self.state):
                faces.update(dict.fromkeys(wechat_face.paths, wechat_face))
            self._faces = faces
        return self._faces

    async def _dispatch(self, request: Request) -> Response:
        if self._faces is None:  # the first request: build the catalogue off the event loop, once
            async with self._building:
                if self._faces is None:
                    await asyncio.to_thread(lambda: self.faces)
        face = self.faces.get(request.path) or self.faces.get("/" + request.path.split("/", 2)[1])
        return await (face or self.api)(request)

    def face(self, path: str) -> Any:
        """The face serving `path` (tests reach into its state: faults, issued links, calls)."""
        return self.faces[path]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http.port}"

    async def start(self) -> SandboxServer:
        await self.http.start()
        return self

    async def close(self) -> None:
        await self.http.close()

    async def __aenter__(self) -> SandboxServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
