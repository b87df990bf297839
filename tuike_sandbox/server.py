"""The sandbox league: the WeChat Channels 推客 API on 127.0.0.1, as the reference describes it.

Same paths, verbs, JSON fields, units (fen, ratios in millionths, seconds), cursor pagination and
errcodes as ../shared/reference/league-apis.md §0–§1. Where the reference is unsure ([S]/[U]) the
sandbox is lenient: it accepts GET and POST for the category tree, numbers or strings for ids.

Faults are injected per test or by config: latency, errcode rates, 5xx, malformed JSON, and tokens
that expire early. Every request is logged (path, errcode) so tests can count calls.
"""

from __future__ import annotations

import asyncio
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
        out = []
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
        chunk, next_key, more = _page([], body, 30)
        return {"list": chunk, "next_key": next_key, "has_more": more}

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
    from tuike_sandbox.jd_face import JdFace
    from tuike_sandbox.pdd_face import PddFace
    from tuike_sandbox.top_face import TopFace
    from tuike_sandbox.vip_face import VipFace

    return {
        "/router/rest": TopFace,  # Taobao Open Platform (TOP) gateway
        "/routerjson": JdFace,  # JD union over JOS
        "/api/router": PddFace,  # Pinduoduo 多多进宝 router
        "/vop": VipFace,  # Vipshop union over the vop gateway
    }


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
        face = self.faces.get(request.path)
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
