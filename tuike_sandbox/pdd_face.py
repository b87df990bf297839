"""The sandbox's Pinduoduo face: the 多多进宝 `gw-api` router over the shared catalogue (league-apis.md §4.3).

Like the real router it takes a POST form (or query string) with `type`, `client_id`, `timestamp`
(Unix seconds), `data_type` and flat business parameters whose lists are JSON strings; it checks the md5
signature over every non-empty parameter and refuses a wrong one with
`{"error_response": {"error_code", "error_msg", "sub_code", "sub_msg", "request_id"}}`.

Ids are PDD's own: each product's `goods_sign` (and legacy numeric `goods_id`) is derived here from its
catalogue id and nowhere else. Prices and coupons are fen, commission `promotion_rate` per mille;
拼团价 (`min_group_price`) is the catalogue price and 单买价 (`min_normal_price`) a little higher.

PIDs come from `pdd.ddk.goods.pid.generate` and start unregistered: link APIs refuse them with the 备案
error until the registration link from `pdd.ddk.rp.prom.url.generate` (channel_type 10) is opened —
a GET of that link on this server, which is what "the member taps it in the PDD app" is here. 备案 is
kept per PID (the real rule may also involve `custom_parameters`, [U]).

Codes the reference could not confirm ([U]), chosen here: 10016 signature, 10019 client_id, 10000
parameter, 52101 rate limit, 60107 PID not registered (备案), 60108 goods not on 多多进宝, 60109 unknown PID.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qs, quote, urlsplit

from bot.leagues.pdd.sandbox_account import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_PID, PATH
from tuike_sandbox.catalogue import Catalogue, SandboxCoupon, SandboxProduct, charm_price
from tuike_sandbox.http import Request, Response

SKEW_S = 600

WE_APP_ID = "wx_sandbox_pdd_mp"

SIGN = 10016
CLIENT = 10019
PARAM = 10000
THROTTLE = 52101
NOT_REGISTERED = 60107
GOODS_GONE = 60108
UNKNOWN_PID = 60109

APIS = frozenset(
    {
        "pdd.ddk.goods.search",
        "pdd.ddk.goods.detail",
        "pdd.ddk.goods.promotion.url.generate",
        "pdd.ddk.goods.zs.unit.url.gen",
        "pdd.ddk.goods.pid.generate",
        "pdd.ddk.rp.prom.url.generate",
        "pdd.ddk.member.authority.query",
        "pdd.ddk.order.list.increment.get",
    }
)
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_PID = re.compile(r"^\d{6,12}_\d{6,12}$")


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


def goods_sign(product_id: int) -> str:
    """A product's PDD `goods_sign` (opaque, like `c9r2omogKFFAc7WBwvbZU1ikIb16_J3CTa8HNN`)."""
    return f"{_token(_digest('pdd-sign', product_id), 28)}_{_token(_digest('pdd-sign2', product_id), 9)}"


def goods_id(product_id: int) -> int:
    """The legacy numeric `goods_id` of a product (what `goods.html?goods_id=` links carry)."""
    return 100_000_000_000 + _digest("pdd-id", product_id) % 900_000_000_000


def sign(params: dict[str, str], secret: str) -> str:
    body = "".join(f"{k}{v}" for k, v in sorted(params.items()) if k != "sign" and v != "")
    return hashlib.md5(f"{secret}{body}{secret}".encode()).hexdigest().upper()


class _Error(Exception):
    def __init__(self, code: int, msg: str, sub_code: str = "", sub_msg: str = "") -> None:
        super().__init__(msg)
        self.code, self.msg, self.sub_code, self.sub_msg = code, msg, sub_code, sub_msg


@dataclass
class PddMember:
    """One 多多进宝 member (a client_id and its secret) and its promotion positions."""

    secret: str
    member_id: int
    pids: dict[str, str] = field(default_factory=dict)
    """PID → name."""
    bound: set[str] = field(default_factory=set)
    """PIDs with 备案."""
    bind_new_pids: bool = False
    """New PIDs start registered: the member did its 备案 once for all ([U]; the sandbox's own member
    does, so `make run` shows links; tests register a fresh member to walk the 备案 flow)."""


@dataclass(frozen=True)
class PddLink:
    token: str
    product_id: int
    pid: str
    custom_parameters: str
    issued_at: float


@dataclass(frozen=True)
class Registration:
    token: str
    client_id: str
    pid: str


@dataclass
class PddFaults:
    fail_next: list[str] = field(default_factory=list)
    """Per business call, in order: "500", "malformed", "throttle"."""


class PddFace:
    """`await face(request)`: one HTTP request to `/api/router` in, the router's answer out."""

    path = PATH

    def __init__(self, catalogue: Catalogue, clock: Callable[[], float] = time.time) -> None:
        self.catalogue = catalogue
        self.clock = clock
        self.members: dict[str, PddMember] = {}
        self.links: dict[str, PddLink] = {}
        self.registrations: dict[str, Registration] = {}
        self.calls: Counter[str] = Counter()
        self.faults = PddFaults()
        self._by_sign = {goods_sign(p.product_id): p for p in catalogue.products}
        self._by_id = {goods_id(p.product_id): p for p in catalogue.products}
        if len(self._by_sign) != len(catalogue.products) or len(self._by_id) != len(catalogue.products):
            raise ValueError("PDD goods id collision")
        self._seq = self._seq_start = int(clock() * 1000) % 10**11
        """PIDs count on from the start time (ms), so a restarted sandbox never hands out a PID that an
        earlier run gave a group the store still holds."""
        self.register_client(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, bind_new_pids=True)
        self.add_pid(DEFAULT_CLIENT_ID, DEFAULT_PID, bound=True)

    def register_client(self, client_id: str, secret: str, *, bind_new_pids: bool = False) -> PddMember:
        member_id = 10_000_000 + _digest("pdd-member", client_id) % 90_000_000
        if client_id == DEFAULT_CLIENT_ID:
            member_id = int(DEFAULT_PID.split("_")[0])
        member = PddMember(secret, member_id, bind_new_pids=bind_new_pids)
        self.members[client_id] = member
        return member

    def add_pid(self, client_id: str, pid: str, *, bound: bool) -> None:
        """A PID the operator made on the 进宝 website (e.g. the configured default one)."""
        member = self.members[client_id]
        member.pids.setdefault(pid, "default")
        if bound:
            member.bound.add(pid)

    def made_earlier(self, member: PddMember, pid: str) -> bool:
        """A PID of this member's form from an earlier run of the sandbox (its state is not kept)."""
        return pid.startswith(f"{member.member_id}_") and int(pid.split("_")[1]) < self._seq_start

    def registered(self, member: PddMember, pid: str) -> bool:
        return pid in member.bound or (member.bind_new_pids and self.made_earlier(member, pid))

    def open_registration(self, token: str) -> bool:
        """The member opened the 备案 link and agreed: its PID is bound from now on."""
        reg = self.registrations.get(token)
        if reg is None:
            return False
        self.members[reg.client_id].bound.add(reg.pid)
        return True

    # -- catalogue in PDD's terms ----------------------------------------------------------------

    def product(self, sign_or_id: str) -> SandboxProduct | None:
        if sign_or_id.isdigit():
            return self._by_id.get(int(sign_or_id))
        return self._by_sign.get(sign_or_id)

    @staticmethod
    def on_jinbao(p: SandboxProduct) -> bool:
        """Whether the goods is on 多多进宝 now; the others "left" (下架 / promotion ended)."""
        return p.status == 1

    @staticmethod
    def group_price(p: SandboxProduct) -> int:
        """拼团价: 3–12% under the catalogue price (what buying alone costs), as a shop would print it."""
        price = min(s.price_fen for s in p.skus)
        cheaper = charm_price(price * (88 + _digest("pdd-group", p.product_id) % 10) // 100)
        return max(1, min(cheaper, price - 10))

    @staticmethod
    def normal_price(p: SandboxProduct) -> int:
        """单买价: the catalogue price."""
        return min(s.price_fen for s in p.skus)

    def best_coupon(self, p: SandboxProduct) -> tuple[SandboxCoupon, int] | None:
        """PDD lists one coupon per goods: the usable one that takes the most off, with its amount."""
        price = self.group_price(p)
        best: tuple[SandboxCoupon, int] | None = None
        for cid in p.coupon_ids:
            c = self.catalogue.coupon(cid)
            if c is None or c.threshold_fen > price:
                continue
            off = c.discount_fee_fen or (price - price * c.discount_num // 10_000) // 100 * 100
            if off > 0 and (best is None or off > best[1]):
                best = (c, off)
        return best

    def goods(self, p: SandboxProduct, search_id: str = "") -> dict[str, Any]:
        price = self.group_price(p)
        coupon = self.best_coupon(p)
        now = int(self.clock())
        rate = p.commission_ratio_ppm // 1000
        item: dict[str, Any] = {
            "goods_sign": goods_sign(p.product_id),
            "goods_id": goods_id(p.product_id),
            "goods_name": p.title,
            "goods_desc": p.desc,
            "goods_thumbnail_url": p.head_imgs[0],
            "goods_image_url": p.head_imgs[0],
            "goods_gallery_urls": list(p.head_imgs),
            "min_group_price": price,
            "min_normal_price": self.normal_price(p),
            "has_coupon": coupon is not None,
            "promotion_rate": rate,
            "mall_name": p.shop_name,
            "mall_id": 100_000_000 + _digest("pdd-mall", p.shop_appid) % 900_000_000,
            "merchant_type": 3 if "旗舰店" in p.shop_name else 1,
            "sales_tip": _sales_tip(p.monthly_sales),
            "opt_id": int(p.leaf_category_id) % 100_000 if p.leaf_category_id.isdigit() else 0,
            "cat_ids": [int(p.category_id) % 100_000] if p.category_id.isdigit() else [],
            "search_id": search_id,
            "unified_tags": ["百亿补贴"] if _digest("pdd-tag", p.product_id) % 7 == 0 else [],
        }
        if coupon is not None:
            c, off = coupon
            item.update(
                coupon_discount=off,
                coupon_min_order_amount=c.threshold_fen,
                coupon_start_time=now - 86_400,
                coupon_end_time=now + 86_400 * c.valid_days,
                coupon_total_quantity=c.total_num,
                coupon_remain_quantity=max(c.total_num - c.receive_num, 0),
            )
        else:
            item.update(coupon_discount=0, coupon_min_order_amount=0)
        return item

    # -- links and orders ------------------------------------------------------------------------

    def issue_link(self, p: SandboxProduct, pid: str, custom_parameters: str) -> PddLink:
        # the goods is readable from the token, so links from an earlier run of the sandbox still resolve
        token = _token(p.product_id, 8) + _token(_digest("pdd-link", p.product_id, pid, custom_parameters), 4)
        link = self.links.get(token)
        if link is None:
            link = PddLink(token, p.product_id, pid, custom_parameters, self.clock())
            self.links[token] = link
        return link

    def _link_urls(self, link: PddLink, *, we_app: bool) -> dict[str, Any]:
        sign_ = goods_sign(link.product_id)
        query = f"goods_sign={sign_}&pid={link.pid}&cpsSign=CC_{link.token}&duoduo_type=2"
        if link.custom_parameters:
            query += "&customParameters=" + quote(link.custom_parameters, safe="")
        urls: dict[str, Any] = {
            "url": f"https://mobile.yangkeduo.com/duo_coupon_landing.html?{query}",
            "short_url": f"https://p.pinduoduo.com/{link.token}",
            "mobile_url": f"https://mobile.yangkeduo.com/app.html?launch_url=duo_coupon_landing.html%3F{quote(query, safe='')}",
            "mobile_short_url": f"https://p.pinduoduo.com/m{link.token}",
            "multi_group_url": f"https://mobile.yangkeduo.com/duo_coupon_landing.html?{query}&multi_group=1",
            "multi_group_short_url": f"https://p.pinduoduo.com/g{link.token}",
        }
        if we_app:
            p = self.catalogue.product(link.product_id)
            urls["we_app_info"] = {
                "app_id": WE_APP_ID,
                "user_name": "gh_sandbox_pdd@app",
                "page_path": f"package_e/welfare_coupon/welfare_coupon?{query}",
                "title": p.title if p else "",
                "banner_url": p.head_imgs[0] if p else "",
                "source_display_name": "拼多多",
            }
        return urls

    def product_of_url(self, url: str) -> SandboxProduct:
        parts = urlsplit(url.strip() if "://" in url else "https://" + url.strip())
        host = (parts.hostname or "").lower()
        query = parse_qs(parts.query)
        if host == "p.pinduoduo.com":
            token = parts.path.strip("/")
            token = token[1:] if len(token) == 13 else token  # the m… / g… variants
            link = self.links.get(token)
            p = self.catalogue.product(
                link.product_id if link else _untoken(token[:8]) if len(token) == 12 else 0
            )
        elif host.endswith(("yangkeduo.com", "pinduoduo.com")):
            ident = (query.get("goods_sign") or query.get("goods_id") or [""])[0]
            p = self.product(ident) if ident else None
        else:
            p = None
        if p is None:
            raise _Error(PARAM, "参数错误", "source_url", "链接解析失败，不是可转链的拼多多商品链接")
        return p

    def orders(self) -> list[dict[str, Any]]:
        """One or two orders per issued link, a minute or two after it, deterministic per link."""
        out = []
        for link in self.links.values():
            p = self.catalogue.product(link.product_id)
            if p is None:
                continue
            seed = _digest("pdd-order", link.token)
            coupon = self.best_coupon(p)
            paid = self.group_price(p) - (coupon[1] if coupon else 0)
            rate = p.commission_ratio_ppm // 1000
            for n in range(1 + seed % 2):
                created = int(link.issued_at) + 60 * (n + 1)
                status = (0, 1, 2, 5, 4)[(seed >> (3 + n)) % 5]
                out.append(
                    {
                        "order_sn": f"{260101 + n}-{seed % 10**15:015d}",
                        "order_id": f"{seed % 10**12}{n}",
                        "goods_sign": goods_sign(p.product_id),
                        "goods_id": goods_id(p.product_id),
                        "goods_name": p.title,
                        "goods_thumbnail_url": p.head_imgs[0],
                        "goods_price": self.group_price(p),
                        "goods_quantity": 1,
                        "order_amount": paid,
                        "promotion_rate": rate,
                        "promotion_amount": 0 if status == 4 else paid * rate // 1000,
                        "order_status": status,
                        "order_status_desc": _STATUS[status],
                        "order_create_time": created,
                        "order_pay_time": created,
                        "order_modify_at": created + 30,
                        "p_id": link.pid,
                        "custom_parameters": link.custom_parameters,
                        "mall_name": p.shop_name,
                    }
                )
        return out

    # -- HTTP -----------------------------------------------------------------------------------

    async def __call__(self, request: Request) -> Response:
        if request.method == "GET" and "bind" in request.query:
            ok = self.open_registration(request.query["bind"])
            text = "备案授权成功，可以关闭本页" if ok else "链接无效或已过期"
            return Response(200 if ok else 404, text.encode(), "text/plain; charset=utf-8")
        params = dict(request.query)
        if request.body:
            if "json" in request.headers.get("content-type", ""):
                try:
                    body = json.loads(request.body)
                except ValueError:
                    body = {}
                if isinstance(body, dict):  # JSON body: values sent as they are, lists as lists [S]
                    params.update({k: _wire(v) for k, v in body.items()})
            else:
                form = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
                params.update({k: v[0] for k, v in form.items()})
        api = params.get("type", "")
        self.calls[api] += 1
        try:
            member = self._check(params)
            fault = self.faults.fail_next.pop(0) if self.faults.fail_next else ""
            if fault == "500":
                return Response(502, b"<html>502 Bad Gateway</html>", "text/html")
            if fault == "malformed":
                return Response(200, b'{"goods_search_response":{"goods_li')
            if fault == "throttle":
                raise _Error(THROTTLE, "调用太频繁", "52101", "当前接口调用太频繁，已被限流")
            handler, key = self._routes[api]
            data = {key: handler(self, member, params, request)}
        except _Error as err:
            data = {
                "error_response": {
                    "error_code": err.code,
                    "error_msg": err.msg,
                    "sub_code": err.sub_code,
                    "sub_msg": err.sub_msg,
                    "request_id": f"{int(self.clock() * 1000)}{self.calls.total():06d}",
                }
            }
        return Response(200, json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())

    def _check(self, params: dict[str, str]) -> PddMember:
        member = self.members.get(params.get("client_id", ""))
        if member is None:
            raise _Error(CLIENT, "client_id不存在", "10019", "client_id 不存在或已被禁用")
        if params.get("sign", "") != sign(params, member.secret):
            raise _Error(SIGN, "签名错误", "10016", "sign 校验失败")
        ts = params.get("timestamp", "")
        if not ts.isdigit() or abs(int(ts) - self.clock()) > SKEW_S:
            raise _Error(PARAM, "参数错误", "timestamp", "timestamp 已过期或不合法")
        if params.get("type", "") not in APIS:
            raise _Error(PARAM, "参数错误", "type", f"不存在的接口 {params.get('type', '')}")
        return member

    def _pid(self, member: PddMember, pid: str, *, need_bound: bool = True) -> str:
        if not pid:
            raise _Error(PARAM, "参数错误", "p_id", "推广位 p_id 不能为空")
        if not _PID.match(pid) or not (pid in member.pids or self.made_earlier(member, pid)):
            raise _Error(UNKNOWN_PID, "业务服务错误", "60109", f"推广位 {pid} 不存在")
        if need_bound and not self.registered(member, pid):
            raise _Error(NOT_REGISTERED, "业务服务错误", "60107", "该推广位还未备案，请先完成备案授权")
        return pid

    # -- methods --------------------------------------------------------------------------------

    def goods_search(self, member: PddMember, params: dict[str, str], request: Request) -> dict[str, Any]:
        page = _int(params.get("page"), 1)
        size = _int(params.get("page_size"), 100)
        if page < 1 or not 10 <= size <= 100:
            raise _Error(PARAM, "参数错误", "page_size", "page_size 须在 10 到 100 之间")
        signs = _json_list(params.get("goods_sign_list"), "goods_sign_list")
        keyword = params.get("keyword", "").strip()
        if signs:
            hits = [p for s in signs if (p := self._by_sign.get(s)) is not None]
        elif keyword.lower().startswith(("http", "mobile.yangkeduo", "p.pinduoduo", "yangkeduo")):
            try:  # a goods or 进宝 link as the keyword finds that goods
                hits = [self.product_of_url(keyword)]
            except _Error:
                hits = []
        else:
            hits = self.catalogue.search(keyword) if keyword.strip() else list(self.catalogue.products)
        hits = [p for p in hits if self.on_jinbao(p)]
        if params.get("with_coupon") == "true":
            hits = [p for p in hits if self.best_coupon(p) is not None]
        sort_type = _int(params.get("sort_type"), 0)
        if sort_type != 0 or not keyword:  # 综合 for a keyword: most relevant first
            hits = _sort(hits, sort_type, self)
        list_id = params.get("list_id") or f"sbx_{_token(_digest('pdd-list', keyword, self.clock()), 12)}"
        search_id = f"sbx_{_token(_digest('pdd-search', list_id, page), 16)}"
        chunk = hits[(page - 1) * size : page * size]
        return {
            "goods_list": [self.goods(p, search_id) for p in chunk],
            "list_id": list_id,
            "search_id": search_id,
            "total_count": len(hits),
        }

    def goods_detail(self, member: PddMember, params: dict[str, str], request: Request) -> dict[str, Any]:
        sign_ = params.get("goods_sign", "")
        if not sign_:
            raise _Error(PARAM, "参数错误", "goods_sign", "goods_sign 不能为空")
        p = self._by_sign.get(sign_)
        if p is None or not self.on_jinbao(p):
            return {"goods_details": []}
        return {"goods_details": [self.goods(p, params.get("search_id", ""))]}

    def promotion_url(self, member: PddMember, params: dict[str, str], request: Request) -> dict[str, Any]:
        pid = self._pid(member, params.get("p_id", ""))
        signs = _json_list(params.get("goods_sign_list"), "goods_sign_list")
        if not signs:
            raise _Error(PARAM, "参数错误", "goods_sign_list", "goods_sign_list 不能为空")
        out = []
        for s in signs:
            p = self._by_sign.get(s)
            if p is None or not self.on_jinbao(p):
                raise _Error(GOODS_GONE, "业务服务错误", "60108", "商品已下架或不在多多进宝推广中")
            link = self.issue_link(p, pid, params.get("custom_parameters", ""))
            out.append(self._link_urls(link, we_app=params.get("generate_we_app") == "true"))
        return {"goods_promotion_url_list": out}

    def convert_url(self, member: PddMember, params: dict[str, str], request: Request) -> dict[str, Any]:
        pid = self._pid(member, params.get("pid", ""))
        source = params.get("source_url", "")
        if not source:
            raise _Error(PARAM, "参数错误", "source_url", "source_url 不能为空")
        p = self.product_of_url(source)
        if not self.on_jinbao(p):
            raise _Error(GOODS_GONE, "业务服务错误", "60108", "商品已下架或不在多多进宝推广中")
        urls = self._link_urls(self.issue_link(p, pid, params.get("custom_parameters", "")), we_app=False)
        return {
            k: urls[k]
            for k in (
                "url",
                "short_url",
                "mobile_url",
                "mobile_short_url",
                "multi_group_url",
                "multi_group_short_url",
            )
        }

    def pid_generate(self, member: PddMember, params: dict[str, str], request: Request) -> dict[str, Any]:
        number = _int(params.get("number"), 10)
        if not 1 <= number <= 100:
            raise _Error(PARAM, "参数错误", "number", "number 须在 1 到 100 之间")
        names = _json_list(params.get("p_id_name_list"), "p_id_name_list")
        out = []
        for i in range(number):
            self._seq += 1
            pid = f"{member.member_id}_{self._seq}"
            name = names[i] if i < len(names) else pid
            member.pids[pid] = name
            if member.bind_new_pids:
                member.bound.add(pid)
            out.append({"p_id": pid, "pid_name": name, "create_time": int(self.clock())})
        return {"p_id_list": out, "remain_pid_count": 10_000 - len(member.pids)}

    def rp_prom_url(self, member: PddMember, params: dict[str, str], request: Request) -> dict[str, Any]:
        if _int(params.get("channel_type"), -1) != 10:
            raise _Error(PARAM, "参数错误", "channel_type", "沙盒只支持 channel_type=10（备案链接）")
        pids = _json_list(params.get("p_id_list"), "p_id_list")
        if len(pids) != 1:
            raise _Error(PARAM, "参数错误", "p_id_list", "p_id_list 长度须为 1")
        pid = self._pid(member, pids[0], need_bound=False)
        client_id = next(k for k, v in self.members.items() if v is member)
        token = _token(_digest("pdd-bind", client_id, pid), 10)
        self.registrations[token] = Registration(token, client_id, pid)
        host = request.headers.get("host", "127.0.0.1")
        url = f"http://{host}{PATH}?bind={token}"
        return {"url_list": [{"url": url, "short_url": url, "mobile_url": url}], "resource_list": []}

    def authority_query(self, member: PddMember, params: dict[str, str], request: Request) -> dict[str, Any]:
        pid = self._pid(member, params.get("pid", ""), need_bound=False)
        return {"bind": 1 if self.registered(member, pid) else 0}

    def order_increment(self, member: PddMember, params: dict[str, str], request: Request) -> dict[str, Any]:
        start = _int(params.get("start_update_time"), -1)
        end = _int(params.get("end_update_time"), -1)
        if start < 0 or end <= start or end - start > 86_400:
            raise _Error(PARAM, "参数错误", "end_update_time", "查询时间段须大于 0 且不超过 24 小时")
        page = _int(params.get("page"), 1)
        size = _int(params.get("page_size"), 100)
        if page < 1 or not 10 <= size <= 100:
            raise _Error(PARAM, "参数错误", "page_size", "page_size 须在 10 到 100 之间")
        rows = [
            o
            for o in self.orders()
            if o["p_id"].startswith(f"{member.member_id}_") and start <= o["order_modify_at"] <= end
        ]
        rows.sort(key=lambda o: (o["order_modify_at"], o["order_sn"]))
        data: dict[str, Any] = {"order_list": rows[(page - 1) * size : page * size]}
        if params.get("return_count", "true") != "false":
            data["total_count"] = len(rows)
        return data

    _routes: ClassVar[
        dict[str, tuple[Callable[[PddFace, PddMember, dict[str, str], Request], dict[str, Any]], str]]
    ] = {
        "pdd.ddk.goods.search": (goods_search, "goods_search_response"),
        "pdd.ddk.goods.detail": (goods_detail, "goods_detail_response"),
        "pdd.ddk.goods.promotion.url.generate": (promotion_url, "goods_promotion_url_generate_response"),
        "pdd.ddk.goods.zs.unit.url.gen": (convert_url, "goods_zs_unit_generate_response"),
        "pdd.ddk.goods.pid.generate": (pid_generate, "p_id_generate_response"),
        "pdd.ddk.rp.prom.url.generate": (rp_prom_url, "rp_promotion_url_generate_response"),
        "pdd.ddk.member.authority.query": (authority_query, "authority_query_response"),
        "pdd.ddk.order.list.increment.get": (order_increment, "order_list_get_response"),
    }


_STATUS = {0: "已支付", 1: "已成团", 2: "确认收货", 3: "审核成功", 4: "审核失败", 5: "已经结算"}


def _sales_tip(n: int) -> str:
    if n >= 100_000:
        return "10万+"
    if n >= 10_000:
        return f"{n // 10_000}万+"
    if n >= 1_000:
        return f"{n // 1_000 * 1_000}+"
    return str(n)


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _wire(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def _json_list(text: str | None, name: str) -> list[str]:
    """A list parameter, which PDD takes as a JSON string (`["a","b"]`)."""
    if not text:
        return []
    try:
        value = json.loads(text)
    except ValueError:
        raise _Error(PARAM, "参数错误", name, f"{name} 须为 JSON 数组字符串") from None
    if not isinstance(value, list):
        raise _Error(PARAM, "参数错误", name, f"{name} 须为 JSON 数组字符串")
    return [str(v) for v in value]


def _sort(products: list[SandboxProduct], sort_type: int, face: PddFace) -> list[SandboxProduct]:
    """PDD's sort_type ([U] beyond 0): 0 综合, 2 佣金比例降序, 3/4 价格升/降, 6 销量降序, 9/10 券后价升/降."""

    def final(p: SandboxProduct) -> int:
        c = face.best_coupon(p)
        return face.group_price(p) - (c[1] if c else 0)

    keys: dict[int, tuple[Callable[[SandboxProduct], int], bool]] = {
        2: (lambda p: p.commission_ratio_ppm, True),
        3: (face.group_price, False),
        4: (face.group_price, True),
        6: (lambda p: p.monthly_sales, True),
        9: (final, False),
        10: (final, True),
    }
    key, desc = keys.get(sort_type, (lambda p: p.monthly_sales, True))
    return sorted(products, key=lambda p: (-key(p) if desc else key(p), p.product_id))
