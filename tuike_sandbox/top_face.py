"""The sandbox's Taobao face: the TOP gateway (`/router/rest`) over the shared catalogue.

Wire as reference §3: form-encoded POST (or GET query), system params checked in TOP's order and
refused with TOP's `error_response` (21/22 method, 28/29 app key, 30/31 timestamp ±10 min in GMT+8,
25 signature by md5 / hmac / hmac-sha256, 40/41 arguments), success bodies under
`<method without "taobao.", dots→underscores>_response`.

Ids: each catalogue product gets a numeric `num_iid` (12 digits, what item pages carry) and an
alphanumeric new-style `item_id` (what the upgrade methods return), both derived from the product id
here and mapped back. Links the face issues look like the real ones and the bot's parser knows them:
`https://s.click.taobao.com/<token>`, `https://uland.taobao.com/coupon/edetail?e=<token>`,
`https://m.tb.cn/h.<token>?tk=<code>` and 淘口令 `￥<11 chars>￥`. Every product also has a
"someone else's" share text (`foreign_share_text`), the kind members paste, which the face resolves.

Products whose catalogue status is not on sale are shop items outside the alliance (no commission).
Orders appear for links the face issued (one a minute after the link) and can be added by tests.
Faults: `throttle_next` (code 7), `fail_next` (500 / "isp" / "malformed"), `throttle_all`,
`disabled_methods` (code 22, to drive the legacy fallbacks), `expired_coupons`.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from bot.leagues.taobao.sandbox_account import (
    SANDBOX_APP_KEY,
    SANDBOX_APP_SECRET,
    SANDBOX_MEMBER,
    SANDBOX_SITE,
)
from bot.leagues.taobao.signing import verify
from tuike_sandbox.catalogue import Catalogue, SandboxCoupon, SandboxProduct
from tuike_sandbox.http import Request, Response

GMT8 = timezone(timedelta(hours=8))
B62 = string.digits + string.ascii_letters
NUM_IID_BASE = 600_000_000_000
PRODUCT_ID_BASE = 10**13
MAX_WINDOW = timedelta(hours=3)

METHODS = (
    "taobao.tbk.dg.material.optional.upgrade",
    "taobao.tbk.dg.material.optional",
    "taobao.tbk.item.info.upgrade.get",
    "taobao.tbk.item.info.get",
    "taobao.tbk.dg.general.link.convert",
    "taobao.tbk.tpwd.create",
    "taobao.tbk.order.details.get",
    "taobao.tbk.dg.optimus.material",
)


class TopError(Exception):
    def __init__(self, code: int, msg: str, sub_code: str = "", sub_msg: str = "") -> None:
        super().__init__(msg)
        self.code, self.msg, self.sub_code, self.sub_msg = code, msg, sub_code, sub_msg


def _b62(seed: str, length: int) -> str:
    digest = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    out = []
    for _ in range(length):
        digest, rem = divmod(digest, 62)
        out.append(B62[rem])
    text = "".join(out)
    return text if any(c.isalpha() for c in text) else "K" + text[1:]


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def num_iid_of(product: SandboxProduct) -> str:
    return str(NUM_IID_BASE + (product.product_id - PRODUCT_ID_BASE))


def item_id_of(product: SandboxProduct) -> str:
    """The new-style alphanumeric id (upgrade methods): base62 letters and digits, never all digits."""
    return _b62(f"item:{product.product_id}", 14)


_SPACE = 62**11
_MULT = 0x2545F4914F6CDD1D % _SPACE  # odd and not a multiple of 31: invertible modulo 62**11
_INVERSE = pow(_MULT, -1, _SPACE)
_KINDS = {"tpwd": 1, "sclick": 2, "mtb": 3, "uland": 4, "share": 5, "sharelink": 6}


def _pack(kind: str, index: int, adzone: int, coupon_slot: int) -> str:
    """11 base62 chars that look random but carry (product index, adzone, coupon slot) and a check.

    Stateless on purpose: a 口令 or link the sandbox made before a restart still resolves after it,
    as a real one would.
    """
    check = (index * 7 + adzone * 3 + coupon_slot * 11 + _KINDS[kind] * 13) % 97
    value = (((index * 4 + coupon_slot) * 10**13 + adzone) * 100 + check) * 8 + _KINDS[kind]
    mixed = (value * _MULT + _KINDS[kind] * 1_000_003) % _SPACE
    out = []
    for _ in range(11):
        mixed, rem = divmod(mixed, 62)
        out.append(B62[rem])
    return "".join(out)


def _unpack(kind: str, token: str) -> tuple[int, int, int] | None:
    if len(token) != 11 or any(c not in B62 for c in token):
        return None
    mixed = 0
    for c in reversed(token):
        mixed = mixed * 62 + B62.index(c)
    value = ((mixed - _KINDS[kind] * 1_000_003) * _INVERSE) % _SPACE
    value, tag = divmod(value, 8)
    value, check = divmod(value, 100)
    slot_index, adzone = divmod(value, 10**13)
    index, coupon_slot = divmod(slot_index, 4)
    if tag != _KINDS[kind] or check != (index * 7 + adzone * 3 + coupon_slot * 11 + _KINDS[kind] * 13) % 97:
        return None
    return index, adzone, coupon_slot


@dataclass
class Issued:
    """A link the face made: which product, through which adzone, when."""

    product_id: int
    adzone_id: str
    at: datetime
    coupon_id: str = ""
    foreign: bool = False


@dataclass
class TopOrder:
    trade_id: str
    product_id: int
    adzone_id: str
    site_id: str
    paid_fen: int
    ratio_ppm: int
    status: int
    created: datetime
    modified: datetime

    changes: ClassVar[int] = 0
    """Counts every field set on any order (tests move an order's status and time by hand): the face's
    index by time is made again after one."""

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        TopOrder.changes += 1


@dataclass
class TopFaults:
    throttle_next: int = 0
    throttle_all: bool = False
    fail_next: list[Any] = field(default_factory=list)


class TopFace:
    def __init__(self, catalogue: Catalogue, clock: Callable[[], float]) -> None:
        self.catalogue = catalogue
        self.clock = clock
        self.started = clock()
        self.apps = {SANDBOX_APP_KEY: SANDBOX_APP_SECRET}
        self.faults = TopFaults()
        self.calls: Counter[str] = Counter()
        self.log: list[tuple[str, int]] = []
        self.forms: list[dict[str, str]] = []
        self.issued: dict[str, Issued] = {}
        """Token (s.click / uland / m.tb.cn) or 口令 code → what it points at."""
        self.orders: list[TopOrder] = []
        self._query: tuple[tuple[datetime, datetime, int], list[TopOrder]] | None = None
        self._by_time: dict[int, tuple[tuple[int, int, int], list[datetime], list[TopOrder]]] = {}
        """The last order query's hits: its next pages (position_index) read on from them."""
        self.expired_coupons: set[str] = set()
        self.disabled_methods: set[str] = set()
        self.extra_methods: dict[str, Callable[[dict[str, str]], dict[str, Any]]] = {}
        """Methods other faces serve on this gateway (Ele.me's alsc methods: `eleme_face`), signed and
        checked here like every TOP method."""
        self.extensions: dict[str, Any] = {}
        """Those faces by name, for tests to reach their state (`extensions["eleme"]`)."""
        """Methods this app "has no access to" (answered 22 Invalid Method), e.g. to force the legacy ones."""
        self._by_num: dict[str, SandboxProduct] = {}
        self._by_item: dict[str, SandboxProduct] = {}
        self._index = {p.product_id: i for i, p in enumerate(catalogue.products)}
        for p in catalogue.products:
            self._by_num[num_iid_of(p)] = p
            self._by_item[item_id_of(p)] = p

    # -- helpers -----------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def product_by_id(self, ident: str) -> SandboxProduct | None:
        return self._by_item.get(ident) or self._by_num.get(ident)

    def _foreign(self, p: SandboxProduct) -> dict[str, str]:
        index = self._index[p.product_id]
        return {"code": _pack("share", index, 0, 0), "token": _pack("sharelink", index, 0, 0)}

    def foreign_share_text(self, product: SandboxProduct) -> str:
        """What someone else's 淘宝 app share looks like, e.g. pasted from another group."""
        share = self._foreign(product)
        return (
            f"【淘宝】https://m.tb.cn/h.{share['token']}?tk={share['code']} CZ0001 「{product.title}」\n"
            "点击链接直接打开 或者 淘宝搜索直接打开"
        )

    def on_sale(self, p: SandboxProduct) -> bool:
        return p.status == 1 and p.commission_ratio_ppm > 0

    def _coupon(self, p: SandboxProduct) -> SandboxCoupon | None:
        price = min(s.price_fen for s in p.skus)
        best = None
        for cid in p.coupon_ids:
            c = self.catalogue.coupon(cid)
            if (
                c is None
                or c.discount_fee_fen <= 0
                or c.threshold_fen > price
                or c.receive_num >= c.total_num
            ):
                continue
            if best is None or c.discount_fee_fen > best.discount_fee_fen:
                best = c
        return best

    def _coupon_window(self, c: SandboxCoupon) -> tuple[datetime, datetime]:
        start = datetime.fromtimestamp(self.started, UTC) - timedelta(days=1)
        end = start + timedelta(days=c.valid_days + 1)
        if c.coupon_id in self.expired_coupons:
            end = self._now() - timedelta(hours=1)
        return start, end

    # -- the gateway -------------------------------------------------------------------------------

    async def __call__(self, request: Request) -> Response:
        form = self._form(request)
        method = form.get("method", "")
        self.calls[method] += 1
        self.forms.append(form)
        try:
            self._check(form)
            fault = self._fault()
            if fault is not None:
                return fault
            data = self._route(method)(form)
        except TopError as exc:
            self.log.append((method, exc.code))
            body: dict[str, Any] = {"code": exc.code, "msg": exc.msg}
            if exc.sub_code:
                body.update(sub_code=exc.sub_code, sub_msg=exc.sub_msg)
            body["request_id"] = _b62(f"rid:{len(self.log)}", 13)
            return _json({"error_response": body})
        self.log.append((method, 0))
        data["request_id"] = _b62(f"rid:{len(self.log)}", 13)
        return _json({method.removeprefix("taobao.").replace(".", "_") + "_response": data})

    @staticmethod
    def _form(request: Request) -> dict[str, str]:
        form = dict(request.query)
        if request.method == "POST" and request.body:
            parsed = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
            form.update({k: v[0] for k, v in parsed.items()})
        return form

    def _check(self, form: dict[str, str]) -> None:
        """System params in the order TOP checks them."""
        method = form.get("method", "")
        if not method:
            raise TopError(21, "Missing Method")
        if (method not in METHODS and method not in self.extra_methods) or method in self.disabled_methods:
            raise TopError(22, "Invalid Method")
        app_key = form.get("app_key", "")
        if not app_key:
            raise TopError(28, "Missing App Key")
        secret = self.apps.get(app_key)
        if secret is None:
            raise TopError(29, "Invalid App Key")
        stamp = form.get("timestamp", "")
        if not stamp:
            raise TopError(30, "Missing Timestamp")
        try:
            at = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=GMT8)
        except ValueError:
            raise TopError(31, "Invalid Timestamp", "isv.invalid-timestamp", "时间戳格式不对") from None
        if abs((at - self._now()).total_seconds()) > 600:
            raise TopError(
                31, "Invalid Timestamp", "isv.invalid-timestamp", "时间戳与服务器时间相差超过10分钟"
            )
        if form.get("v") != "2.0":
            raise TopError(41, "Invalid Arguments", "isv.invalid-parameter:v", "v 必须是 2.0")
        if form.get("format") != "json":
            raise TopError(41, "Invalid Arguments", "isv.invalid-parameter:format", "沙箱只说 json")
        if not form.get("sign"):
            raise TopError(25, "Invalid Signature", "isv.missing-signature", "缺少签名")
        if not verify(form, secret):
            raise TopError(25, "Invalid Signature")

    def _fault(self) -> Response | None:
        faults = self.faults
        if faults.throttle_all or faults.throttle_next > 0:
            faults.throttle_next = max(faults.throttle_next - 1, 0)
            raise TopError(
                7,
                "App Call Limited",
                "accesscontrol.limited-by-app-access-count",
                "This ban will last for 1 more seconds",
            )
        if faults.fail_next:
            kind = faults.fail_next.pop(0)
            if kind == 500:
                return Response(502, b"<html>502 Bad Gateway</html>", "text/html")
            if kind == "malformed":
                return Response(200, b'{"tbk_dg_material_optional_upgrade_response":{')
            raise TopError(
                15, "Remote service error", "isp.top-remote-connection-timeout", "远程服务调用超时"
            )
        return None

    def _route(self, method: str) -> Callable[[dict[str, str]], dict[str, Any]]:
        if method in self.extra_methods:
            return self.extra_methods[method]
        return {
            "taobao.tbk.dg.material.optional.upgrade": lambda f: self.search(f, upgrade=True),
            "taobao.tbk.dg.material.optional": lambda f: self.search(f, upgrade=False),
            "taobao.tbk.item.info.upgrade.get": lambda f: self.item_info(f, upgrade=True),
            "taobao.tbk.item.info.get": lambda f: self.item_info(f, upgrade=False),
            "taobao.tbk.dg.general.link.convert": self.link_convert,
            "taobao.tbk.tpwd.create": self.tpwd_create,
            "taobao.tbk.order.details.get": self.order_details,
            "taobao.tbk.dg.optimus.material": self.optimus,
        }[method]

    @staticmethod
    def _need(form: dict[str, str], name: str) -> str:
        value = form.get(name, "")
        if not value:
            raise TopError(
                40, "Missing Required Arguments", f"isv.missing-parameter:{name}", f"缺少参数 {name}"
            )
        return value

    @staticmethod
    def _int(form: dict[str, str], name: str, default: int, low: int, high: int) -> int:
        raw = form.get(name, "")
        try:
            value = int(raw) if raw else default
        except ValueError:
            raise TopError(
                41, "Invalid Arguments", f"isv.invalid-parameter:{name}", f"{name} 不是数字"
            ) from None
        if not low <= value <= high:
            raise TopError(
                41, "Invalid Arguments", f"isv.invalid-parameter:{name}", f"{name} 超出 {low}-{high}"
            )
        return value

    def _adzone(self, form: dict[str, str]) -> str:
        adzone = self._need(form, "adzone_id")
        if not adzone.isdigit():
            raise TopError(41, "Invalid Arguments", "isv.invalid-parameter:adzone_id", "adzone_id 不对")
        return adzone

    # -- search and details ------------------------------------------------------------------------

    def _item(self, p: SandboxProduct, upgrade: bool, adzone: str) -> dict[str, Any]:
        price = min(s.price_fen for s in p.skus)
        reserve = price + price // 4
        coupon = self._coupon(p)
        on_sale = self.on_sale(p)
        click = self._mint("sclick", p, adzone, coupon_id="") if adzone and on_sale else ""
        coupon_url = self._mint("uland", p, adzone, coupon.coupon_id) if adzone and on_sale and coupon else ""
        ppm = p.commission_ratio_ppm if on_sale else 0
        images = [f"https:{img[len('https:') :]}" if img.startswith("https:") else img for img in p.head_imgs]
        proto = [img.removeprefix("https:") for img in images]
        if not upgrade:
            item: dict[str, Any] = {
                "item_id": num_iid_of(p),
                "num_iid": int(num_iid_of(p)),
                "title": p.title,
                "short_title": p.title[:12],
                "pict_url": proto[0],
                "small_images": {"string": proto[1:]},
                "reserve_price": yuan(reserve),
                "zk_final_price": yuan(price),
                "commission_rate": str(ppm // 100),
                "commission_type": "COMMON",
                "shop_title": p.shop_name,
                "nick": p.shop_name,
                "user_type": 1 if "旗舰店" in p.shop_name else 0,
                "seller_id": int(hashlib.md5(p.shop_appid.encode()).hexdigest()[:9], 16),
                "volume": p.monthly_sales,
                "level_one_category_name": p.category_id,
                "url": click.removeprefix("https:"),
            }
            if coupon:
                start, end = self._coupon_window(coupon)
                item.update(
                    coupon_id=coupon.coupon_id,
                    coupon_info=f"满{yuan(coupon.threshold_fen)}元减{coupon.discount_fee_fen // 100}元",
                    coupon_amount=yuan(coupon.discount_fee_fen),
                    coupon_start_fee=yuan(coupon.threshold_fen),
                    coupon_start_time=start.astimezone(GMT8).strftime("%Y-%m-%d"),
                    coupon_end_time=end.astimezone(GMT8).strftime("%Y-%m-%d %H:%M:%S"),
                    coupon_total_count=coupon.total_num,
                    coupon_remain_count=coupon.total_num - coupon.receive_num,
                    coupon_share_url=coupon_url.removeprefix("https:"),
                )
            return item
        paths = []
        final = price
        if coupon:
            start, end = self._coupon_window(coupon)
            if end > self._now():
                final = price - coupon.discount_fee_fen
            paths.append(
                {
                    "promotion_id": coupon.coupon_id,
                    "promotion_title": f"店铺券 满{coupon.threshold_fen // 100}减{coupon.discount_fee_fen // 100}",
                    "promotion_desc": coupon.name,
                    "promotion_fee": yuan(coupon.discount_fee_fen),
                    "promotion_start_time": str(int(start.timestamp() * 1000)),
                    "promotion_end_time": str(int(end.timestamp() * 1000)),
                }
            )
        return {
            "item_id": item_id_of(p),
            "item_basic_info": {
                "title": p.title,
                "short_title": p.title[:12],
                "pict_url": proto[0],
                "white_image": proto[0],
                "small_images": {"string": proto[1:]},
                "shop_title": p.shop_name,
                "brand_name": p.keywords[-1] if p.keywords else "",
                "category_name": p.leaf_category_id,
                "level_one_category_name": p.category_id,
                "user_type": 1 if "旗舰店" in p.shop_name else 0,
                "volume": p.monthly_sales,
                "seller_id": int(hashlib.md5(p.shop_appid.encode()).hexdigest()[:9], 16),
            },
            "price_promotion_info": {
                "reserve_price": yuan(reserve),
                "zk_final_price": yuan(price),
                "final_promotion_price": yuan(final),
                "final_promotion_path_list": {"final_promotion_path_map_data": paths},
            },
            "publish_info": {
                "click_url": click.removeprefix("https:"),
                "coupon_share_url": coupon_url.removeprefix("https:"),
                "income_rate": f"{ppm // 10_000}.{ppm // 100 % 100:02d}",
                "income_info": {
                    "commission_rate": f"{ppm // 10_000}.{ppm // 100 % 100:02d}",
                    "commission_amount": yuan(price * ppm // 1_000_000),
                },
            },
        }

    def search(self, form: dict[str, str], upgrade: bool) -> dict[str, Any]:
        adzone = self._adzone(form)
        keyword = form.get("q", "").strip()
        cat = form.get("cat", "")
        if not keyword and not cat:
            raise TopError(40, "Missing Required Arguments", "isv.missing-parameter:q", "q 和 cat 至少填一个")
        page_no = self._int(form, "page_no", 1, 1, 100)
        page_size = self._int(form, "page_size", 20, 1, 100)
        # a keyword search comes back most relevant first; a category browse, best sellers first
        candidates = (
            self.catalogue.search(keyword)
            if keyword
            else sorted(self.catalogue.products, key=lambda p: (-p.monthly_sales, p.product_id))
        )
        hits = [
            p
            for p in candidates
            if self.on_sale(p) and (not cat or cat in (p.category_id, p.leaf_category_id))
        ]
        chunk = hits[(page_no - 1) * page_size : page_no * page_size]
        return {
            "total_results": len(hits),
            "result_list": {"map_data": [self._item(p, upgrade, adzone) for p in chunk]},
        }

    def optimus(self, form: dict[str, str]) -> dict[str, Any]:
        """物料精选: any material id gives the best sellers on promotion (legacy item fields)."""
        adzone = self._adzone(form)
        self._need(form, "material_id")
        page_no = self._int(form, "page_no", 1, 1, 100)
        page_size = self._int(form, "page_size", 20, 1, 100)
        hits = sorted(
            (p for p in self.catalogue.products if self.on_sale(p)),
            key=lambda p: (-p.monthly_sales, p.product_id),
        )
        chunk = hits[(page_no - 1) * page_size : page_no * page_size]
        return {
            "result_list": {"map_data": [self._item(p, False, adzone) for p in chunk]},
            "is_default": "false",
        }

    def item_info(self, form: dict[str, str], upgrade: bool) -> dict[str, Any]:
        ids = self._need(form, "item_id" if upgrade else "num_iids").split(",")
        if len(ids) > (20 if upgrade else 40):
            raise TopError(41, "Invalid Arguments", "isv.invalid-parameter", "too many ids")
        found = [p for p in (self.product_by_id(i.strip()) for i in ids) if p is not None]
        items = [self._item(p, upgrade, "") for p in found]
        if upgrade:
            return {"results": {"tbk_item_detail": items}}
        for item in items:  # the legacy detail carries no commission
            for key in ("commission_rate", "commission_type", "url"):
                item.pop(key, None)
        return {"results": {"n_tbk_item": items}}

    # -- links -------------------------------------------------------------------------------------

    def _token(self, kind: str, p: SandboxProduct, adzone: str, coupon_id: str = "") -> str:
        slot = p.coupon_ids.index(coupon_id) + 1 if coupon_id in p.coupon_ids else 0
        return _pack(kind, self._index[p.product_id], int(adzone or 0), slot)

    def _mint(self, kind: str, p: SandboxProduct, adzone: str, coupon_id: str = "") -> str:
        token = self._token(kind, p, adzone, coupon_id)
        self.issued.setdefault(token, Issued(p.product_id, adzone, self._now(), coupon_id))
        if kind == "sclick":
            return f"https://s.click.taobao.com/{token}"
        return f"https://uland.taobao.com/coupon/edetail?e={token}&pid=mm_{SANDBOX_MEMBER}_{SANDBOX_SITE}_{adzone}"

    def _decode(self, kinds: tuple[str, ...], token: str) -> Issued | None:
        hit = self.issued.get(token)
        if hit is not None:
            return hit
        for kind in kinds:
            unpacked = _unpack(kind, token)
            if unpacked is None or unpacked[0] >= len(self.catalogue.products):
                continue
            index, adzone, slot = unpacked
            p = self.catalogue.products[index]
            if slot > len(p.coupon_ids):
                continue
            coupon_id = p.coupon_ids[slot - 1] if slot else ""
            foreign = kind in ("share", "sharelink")
            return Issued(p.product_id, str(adzone) if adzone else "", self._now(), coupon_id, foreign)
        return None

    def resolve(self, material: str) -> Issued | None:
        """Any Taobao link or 淘口令 the face knows: its own, someone else's share, an item page."""
        text = material.strip()
        m = re.search(r"https?://[^\s，。」]+", text)
        if m:
            parts = urlsplit(m.group(0))
            host, query = (parts.hostname or "").lower(), parse_qs(parts.query)
            if host == "m.tb.cn" and parts.path.startswith("/h."):
                return self._decode(("mtb", "sharelink"), parts.path[3:].strip("/"))
            if host == "s.click.taobao.com":
                return self._decode(("sclick",), parts.path.strip("/"))
            if host == "uland.taobao.com":
                return self._decode(("uland",), (query.get("e") or [""])[0])
            ident = (query.get("id") or [""])[0]
            p = self.product_by_id(ident)
            return Issued(p.product_id, "", self._now(), foreign=True) if p else None
        code = re.search(r"[A-Za-z0-9]{8,20}", text)
        return self._decode(("tpwd", "share"), code.group(0)) if code else None

    def _converted(self, p: SandboxProduct, adzone: str, coupon_id: str) -> dict[str, Any]:
        coupon = self.catalogue.coupon(coupon_id) if coupon_id else self._coupon(p)
        click = self._mint("sclick", p, adzone)
        info: dict[str, Any] = {
            "material_id": item_id_of(p),
            "material_type": 1,
            "cps_short_url": click,
            "cps_long_url": click.replace("s.click.taobao.com/", "s.click.taobao.com/t?e=") + "Lg",
        }
        if coupon:
            info["coupon_short_url"] = self._mint("sclick", p, adzone, coupon.coupon_id)
            info["coupon_long_url"] = self._mint("uland", p, adzone, coupon.coupon_id)
        return {"code": 0, "msg": "", "link_info_dto": info}

    def link_convert(self, form: dict[str, str]) -> dict[str, Any]:
        adzone = self._adzone(form)
        if form.get("material_list"):
            out = []
            for material in form["material_list"].split(","):
                converted = self._convert_material(material, adzone)
                converted["input_material_url"] = material
                out.append(converted)
            return {"data": {"material_url_list": {"material_url_list": out}}}
        ids = self._need(form, "item_id_list").split(",")
        out = []
        for ident in ids:
            p = self.product_by_id(ident)
            entry: dict[str, Any]
            if p is None:
                entry = {"code": 1001, "msg": "商品不存在"}
            elif not self.on_sale(p):
                entry = {"code": 1002, "msg": "该商品不参与淘宝客推广"}
            else:
                entry = self._converted(p, adzone, "")
            entry["input_item_id"] = ident
            out.append(entry)
        return {"data": {"item_url_list": {"item_url_list": out}}}

    def _convert_material(self, material: str, adzone: str) -> dict[str, Any]:
        issued = self.resolve(material)
        if issued is None:
            return {"code": 1003, "msg": "物料解析失败：淘口令或链接无法识别"}
        p = self.catalogue.product(issued.product_id)
        if p is None:
            return {"code": 1001, "msg": "商品不存在"}
        if not self.on_sale(p):
            return {"code": 1002, "msg": "该商品不参与淘宝客推广"}
        if issued.coupon_id:
            coupon = self.catalogue.coupon(issued.coupon_id)
            if coupon is None or self._coupon_window(coupon)[1] < self._now():
                return {"code": 1004, "msg": "优惠券已过期"}
        return self._converted(p, adzone, issued.coupon_id)

    def tpwd_create(self, form: dict[str, str]) -> dict[str, Any]:
        url = self._need(form, "url")
        parts = urlsplit(url)
        if parts.scheme != "https" or parts.hostname not in ("s.click.taobao.com", "uland.taobao.com"):
            raise TopError(15, "Remote service error", "isv.url-not-alliance", "url 必须是淘宝联盟推广链接")
        issued = self.resolve(url)
        if issued is None:
            raise TopError(15, "Remote service error", "isv.url-not-alliance", "推广链接无效")
        p = self.catalogue.product(issued.product_id)
        assert p is not None
        code = self._token("tpwd", p, issued.adzone_id, issued.coupon_id)
        token = self._token("mtb", p, issued.adzone_id, issued.coupon_id)
        self._order_for(issued, p)
        return {
            "data": {
                "model": f"5￥{code}￥ https://m.tb.cn/h.{token}  【{p.title}】",
                "password_simple": f"￥{code}￥",
            }
        }

    # -- orders ------------------------------------------------------------------------------------

    def _order_for(self, issued: Issued, p: SandboxProduct) -> None:
        trade = (
            "2"
            + str(int(hashlib.sha256(f"{p.product_id}:{issued.adzone_id}".encode()).hexdigest()[:15], 16))[
                :17
            ]
        )
        if issued.foreign or any(o.trade_id == trade for o in self.orders):
            return
        at = issued.at + timedelta(minutes=1)
        self.add_order(p, issued.adzone_id, at, trade_id=trade)

    def add_order(
        self, p: SandboxProduct, adzone_id: str, at: datetime, *, trade_id: str = "", status: int = 12
    ) -> TopOrder:
        order = TopOrder(
            trade_id or f"3{len(self.orders) + 1:017d}",
            p.product_id,
            adzone_id,
            SANDBOX_SITE,
            min(s.price_fen for s in p.skus),
            p.commission_ratio_ppm,
            status,
            at,
            at,
        )
        self.orders.append(order)
        return order

    def order_details(self, form: dict[str, str]) -> dict[str, Any]:
        try:
            start = datetime.strptime(self._need(form, "start_time"), "%Y-%m-%d %H:%M:%S").replace(
                tzinfo=GMT8
            )
            end = datetime.strptime(self._need(form, "end_time"), "%Y-%m-%d %H:%M:%S").replace(tzinfo=GMT8)
        except ValueError:
            raise TopError(
                41, "Invalid Arguments", "isv.invalid-parameter:time", "时间格式 yyyy-MM-dd HH:mm:ss"
            ) from None
        if end < start or end - start > MAX_WINDOW:
            raise TopError(15, "Remote service error", "isv.time-span-too-long", "查询时间跨度不能超过3小时")
        page_no = self._int(form, "page_no", 1, 1, 100)
        page_size = self._int(form, "page_size", 20, 1, 100)
        query_type = self._int(form, "query_type", 1, 1, 4)
        position = form.get("position_index", "")
        if page_no > 1 and not position:
            raise TopError(
                40,
                "Missing Required Arguments",
                "isv.missing-parameter:position_index",
                "翻页需要 position_index",
            )
        offset = 0
        if position:
            if not position.startswith("pi") or not position[2:].isdigit():
                raise TopError(
                    41, "Invalid Arguments", "isv.invalid-parameter:position_index", "position_index 不对"
                )
            offset = int(position[2:])

        def key(o: TopOrder) -> datetime:
            return o.modified if query_type == 4 else o.created

        query = (start, end, query_type)
        if position and self._query is not None and self._query[0] == query:
            hits = self._query[1]  # a next page: no new scan of every order (that made paging quadratic)
        else:
            keys, ordered = self._ordered(query_type, key)
            hits = ordered[bisect_left(keys, start) : bisect_right(keys, end)]
            self._query = (query, hits)
        chunk = hits[offset : offset + page_size]
        after = offset + len(chunk)
        return {
            "data": {
                "results": {"publisher_order_dto": [self._order_json(o) for o in chunk]},
                "has_next": after < len(hits),
                "has_pre": offset > 0,
                "page_no": page_no,
                "page_size": page_size,
                "position_index": f"pi{after}",
            }
        }

    def _ordered(
        self, query_type: int, key: Callable[[TopOrder], datetime]
    ) -> tuple[list[datetime], list[TopOrder]]:
        """Every order by (time, trade id) for this query type, and their times: a window is two
        bisections, not a scan of every order (a bench syncs 100k orders in hundreds of windows). Made
        again when an order is added or any order changes (`TopOrder.changes`)."""
        stamp = (id(self.orders), len(self.orders), TopOrder.changes)
        kept = self._by_time.get(query_type)
        if kept is None or kept[0] != stamp:
            ordered = sorted(self.orders, key=lambda o: (key(o), o.trade_id))
            kept = (stamp, [key(o) for o in ordered], ordered)
            self._by_time[query_type] = kept
        return kept[1], kept[2]

    def _order_json(self, o: TopOrder) -> dict[str, Any]:
        p = self.catalogue.product(o.product_id)
        assert p is not None
        share = o.paid_fen * o.ratio_ppm // 1_000_000
        fmt = "%Y-%m-%d %H:%M:%S"
        return {
            "trade_id": o.trade_id,
            "trade_parent_id": o.trade_id[:-1] + "0",
            "item_id": item_id_of(p),
            "item_title": p.title,
            "item_img": p.head_imgs[0],
            "item_num": 1,
            "item_price": yuan(o.paid_fen),
            "alipay_total_price": yuan(o.paid_fen),
            "pay_price": yuan(o.paid_fen),
            "pub_share_pre_fee": yuan(share),
            "pub_share_fee": yuan(share) if o.status == 3 else "0.00",
            "tk_status": o.status,
            "total_commission_rate": f"{o.ratio_ppm // 10_000}.{o.ratio_ppm // 100 % 100:02d}",
            "income_rate": f"{o.ratio_ppm // 10_000}.{o.ratio_ppm // 100 % 100:02d}",
            "tk_create_time": o.created.astimezone(GMT8).strftime(fmt),
            "tk_paid_time": o.created.astimezone(GMT8).strftime(fmt),
            "modified_time": o.modified.astimezone(GMT8).strftime(fmt),
            "adzone_id": int(o.adzone_id) if o.adzone_id.isdigit() else 0,
            "site_id": int(o.site_id),
            "seller_shop_title": p.shop_name,
            "order_type": "天猫" if "旗舰店" in p.shop_name else "淘宝",
        }


def _json(data: dict[str, Any]) -> Response:
    return Response(200, json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())
