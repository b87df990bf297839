"""The sandbox's Shopify face: the Admin GraphQL API of one demo shop over the shared catalogue, as
docs/shops.md describes it.

Like the real API it takes `POST /admin/api/{version}/graphql.json` with the header
`X-Shopify-Access-Token`; a missing or wrong token is HTTP 401 with the real API's words. It does not
parse GraphQL: it serves the operations this bot sends (by `operationName`, checking that the document
asks for the root field it names) and answers any other with a validation error, as the real API does
for a field it does not know. Every answer carries `extensions.cost` from a leaky bucket
(`maximumAvailable`, `restoreRate` points per second); a query that costs more than the bucket holds is
answered `THROTTLED` (HTTP 200, `actualQueryCost` null).

The shop sells about one catalogue product in five (a few archived or drafts, a few sold out), priced
in `currency` (CNY; another currency is the catalogue price at a fixed rate, in its cents). Orders
come from buyers: `buy(url)` is a buyer opening a link (a product page with UTM parameters, or the
shop's `/discount/<code>` link) and paying; `orders` lists them with their `discountCodes` and
`customerJourneySummary`.
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
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

from bot.leagues.shopify.sandbox_account import DEFAULT_SHOP, DEFAULT_TOKEN, PATH
from tuike_sandbox.catalogue import Catalogue, SandboxProduct, charm_price
from tuike_sandbox.http import Request, Response

INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
_ENDPOINT = re.compile(r"^/admin/api/(20\d\d-(?:01|04|07|10)|unstable)/graphql\.json$")
RATES = {"CNY": 100, "USD": 14, "EUR": 13, "HKD": 109, "JPY": 2100}
"""Hundredths of the currency per 100 fen (a fixed rate: the sandbox converts nothing live)."""


def _digest(*parts: object) -> int:
    return int.from_bytes(hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=16).digest(), "big")


def in_shop(p: SandboxProduct) -> bool:
    return _digest("shopify-shop", p.product_id) % 5 == 1


def legacy_id(p: SandboxProduct) -> str:
    return str(8_000_000_000_000 + _digest("shopify-product", p.product_id) % 10**12)


def handle(p: SandboxProduct) -> str:
    return f"item-{legacy_id(p)[-8:]}"


def status(p: SandboxProduct) -> str:
    n = _digest("shopify-status", p.product_id) % 13
    return "ARCHIVED" if n == 0 else "DRAFT" if n == 1 else "ACTIVE"


def _money(hundredths: int) -> str:
    return (
        f"{hundredths // 100}.{hundredths % 100:02d}".rstrip("0").rstrip(".")
        if hundredths % 100
        else f"{hundredths // 100}.0"
    )


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class Bucket:
    maximum: float = 2000.0
    available: float = 2000.0
    restore_rate: float = 100.0
    at: float = 0.0


@dataclass
class ShopifyOrder:
    number: int
    product: SandboxProduct
    quantity: int
    codes: tuple[str, ...]
    campaign: str
    source: str
    created: float
    updated: float
    financial: str
    cancelled: bool = False


@dataclass
class ShopifyFaults:
    fail_next: list[str] = field(default_factory=list)
    """Per call, in order: "500", "malformed", "throttle"."""
    latency_s: float = 0.0


class ShopifyFace:
    """`await face(request)`: one GraphQL request in, its answer out."""

    path = PATH

    def __init__(self, catalogue: Catalogue, clock: Callable[[], float] = time.time) -> None:
        self.catalogue = catalogue
        self.clock = clock
        self.shop_domain = DEFAULT_SHOP
        self.tokens = {DEFAULT_TOKEN}
        self.currency = "CNY"
        self.bucket = Bucket(at=clock())
        self.discounts: dict[str, dict[str, Any]] = {}
        self.orders: list[ShopifyOrder] = []
        self.calls: Counter[str] = Counter()
        self.faults = ShopifyFaults()
        self.shop = [p for p in catalogue.products if in_shop(p)]
        self._by_id = {legacy_id(p): p for p in self.shop}
        self._by_handle = {handle(p): p for p in self.shop}

    # -- the shop -----------------------------------------------------------------------------------

    def price(self, p: SandboxProduct) -> int:
        """In hundredths of the shop's currency."""
        return min(s.price_fen for s in p.skus) * RATES.get(self.currency, 100) // 100

    def inventory(self, p: SandboxProduct) -> int:
        return 0 if _digest("shopify-stock", p.product_id) % 17 == 0 else sum(s.stock for s in p.skus) or 5

    def product_node(self, p: SandboxProduct) -> dict[str, Any]:
        price = self.price(p)
        compare = charm_price(price * (125 + _digest("shopify-compare", p.product_id) % 50) // 100)
        active = status(p) == "ACTIVE"
        return {
            "id": f"gid://shopify/Product/{legacy_id(p)}",
            "legacyResourceId": legacy_id(p),
            "title": p.title,
            "handle": handle(p),
            "status": status(p),
            "onlineStoreUrl": f"https://{self.shop_domain}/products/{handle(p)}" if active else None,
            "totalInventory": self.inventory(p),
            "vendor": p.brand or p.shop_name,
            "productType": p.category_id,
            "featuredImage": {"url": p.head_imgs[0]},
            "priceRangeV2": {"minVariantPrice": {"amount": _money(price), "currencyCode": self.currency}},
            "compareAtPriceRange": {
                "minVariantCompareAtPrice": {"amount": _money(compare), "currencyCode": self.currency}
            },
        }

    def buy(self, url: str, quantity: int = 1, *, financial: str = "PAID") -> ShopifyOrder:
        """A buyer opens `url` (a product page, or the shop's discount link to one) and pays."""
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        path, codes = parts.path, tuple[str, ...]()
        if path.startswith("/discount/"):
            code = unquote(path.removeprefix("/discount/")).upper()
            if code in self.discounts:
                codes = (code,)
            path = unquote(query.get("redirect", "/"))
        p = self._by_handle.get(path.rsplit("/", 1)[-1].split("?", 1)[0])
        if p is None:
            raise ValueError(f"not a product of the sandbox shop: {url}")
        now = self.clock()
        order = ShopifyOrder(
            number=1001 + len(self.orders),
            product=p,
            quantity=quantity,
            codes=codes,
            campaign=query.get("utm_campaign", ""),
            source=query.get("utm_source", ""),
            created=now,
            updated=now,
            financial=financial,
        )
        self.orders.append(order)
        return order

    def order_node(self, o: ShopifyOrder) -> dict[str, Any]:
        total = self.price(o.product) * o.quantity
        if o.codes:
            total -= total * int(self.discounts[o.codes[0]]["percent"]) // 100
        current = 0 if o.financial == "REFUNDED" else total
        visit = {"utmParameters": {"source": o.source, "campaign": o.campaign}} if o.source else None
        return {
            "id": f"gid://shopify/Order/{5_000_000_000 + o.number}",
            "legacyResourceId": str(5_000_000_000 + o.number),
            "name": f"#{o.number}",
            "createdAt": _iso(o.created),
            "updatedAt": _iso(o.updated),
            "cancelledAt": _iso(o.updated) if o.cancelled else None,
            "displayFinancialStatus": o.financial,
            "discountCodes": list(o.codes),
            "currentTotalPriceSet": {"shopMoney": {"amount": _money(current), "currencyCode": self.currency}},
            "totalPriceSet": {"shopMoney": {"amount": _money(total), "currencyCode": self.currency}},
            "customerJourneySummary": {"ready": True, "firstVisit": visit, "lastVisit": visit},
            "lineItems": {
                "nodes": [
                    {
                        "title": o.product.title,
                        "quantity": o.quantity,
                        "product": {"legacyResourceId": legacy_id(o.product)},
                    }
                ]
            },
        }

    # -- HTTP -----------------------------------------------------------------------------------------

    async def __call__(self, request: Request) -> Response:
        if self.faults.latency_s:
            await asyncio.sleep(self.faults.latency_s)
        if not _ENDPOINT.match(request.path.removeprefix(PATH)) or request.method != "POST":
            return Response(404, b'{"errors":"Not Found"}')
        if request.headers.get("x-shopify-access-token", "") not in self.tokens:
            return Response(401, json.dumps({"errors": INVALID_TOKEN}).encode())
        try:
            body = json.loads(request.body.decode("utf-8"))
        except ValueError:
            return _json(
                {"errors": [{"message": "Parse error on input", "extensions": {"code": "parseError"}}]}
            )
        operation = str(body.get("operationName") or "") if isinstance(body, dict) else ""
        self.calls[operation] += 1
        fault = self.faults.fail_next.pop(0) if self.faults.fail_next else ""
        if fault == "500":
            return Response(502, b"<html>502 Bad Gateway</html>", "text/html")
        if fault == "malformed":
            return Response(200, b'{"data":{"products":{"nodes":[{"ti')
        route = self._routes.get(operation)
        document = str(body.get("query") or "")
        if route is None or not re.search(rf"\b{route[0]}\s*[({{]", document):
            field_name = route[0] if route else operation or "?"
            return _json(
                {
                    "errors": [
                        {
                            "message": f"Field '{field_name}' doesn't exist on type 'QueryRoot'",
                            "extensions": {
                                "code": "undefinedField",
                                "typeName": "QueryRoot",
                                "fieldName": field_name,
                            },
                        }
                    ]
                }
            )
        variables = body.get("variables") or {}
        cost = route[2](variables)
        extensions = self._charge(cost, throttle=fault == "throttle")
        if extensions is None:
            return _json(
                {
                    "errors": [
                        {
                            "message": "Throttled",
                            "extensions": {
                                "code": "THROTTLED",
                                "documentation": "https://shopify.dev/api/usage/rate-limits",
                            },
                        }
                    ],
                    "extensions": self._cost(cost, None),
                }
            )
        try:
            data = route[1](self, variables)
        except _UserInput as exc:
            return _json(
                {
                    "errors": [{"message": str(exc), "extensions": {"code": "BAD_USER_INPUT"}}],
                    "extensions": extensions,
                }
            )
        return _json({"data": data, "extensions": extensions})

    def _refill(self) -> None:
        now = self.clock()
        b = self.bucket
        b.available = min(b.maximum, b.available + (now - b.at) * b.restore_rate)
        b.at = now

    def _cost(self, requested: int, actual: int | None) -> dict[str, Any]:
        b = self.bucket
        return {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": actual,
                "throttleStatus": {
                    "maximumAvailable": b.maximum,
                    "currentlyAvailable": int(b.available),
                    "restoreRate": b.restore_rate,
                },
            }
        }

    def _charge(self, cost: int, *, throttle: bool) -> dict[str, Any] | None:
        self._refill()
        if throttle or self.bucket.available < cost:
            return None
        self.bucket.available -= cost
        return self._cost(cost, cost)

    # -- operations -------------------------------------------------------------------------------------

    def shop_info(self, variables: dict[str, Any]) -> dict[str, Any]:
        return {
            "shop": {
                "name": "推客沙盒小店",
                "currencyCode": self.currency,
                "primaryDomain": {"url": f"https://{self.shop_domain}"},
            }
        }

    def products(self, variables: dict[str, Any]) -> dict[str, Any]:
        first = _int(variables.get("first"))
        if not 1 <= first <= 250:
            raise _UserInput("first must be between 1 and 250")
        words = str(variables.get("query") or "").split()
        only_active = "status:active" in words
        keyword = " ".join(w for w in words if ":" not in w)
        hits = (
            [p for p in self.catalogue.search(keyword) if in_shop(p)]
            if keyword
            else sorted(self.shop, key=lambda p: -p.product_id)
        )
        if only_active:
            hits = [p for p in hits if status(p) == "ACTIVE"]
        nodes = [self.product_node(p) for p in hits[:first]]
        return {
            "products": {"nodes": nodes, "pageInfo": {"hasNextPage": len(hits) > first, "endCursor": None}}
        }

    def product(self, variables: dict[str, Any]) -> dict[str, Any]:
        gid = str(variables.get("id") or "")
        p = self._by_id.get(gid.rsplit("/", 1)[-1]) if gid.startswith("gid://shopify/Product/") else None
        return {"product": self.product_node(p) if p else None}

    def product_by_handle(self, variables: dict[str, Any]) -> dict[str, Any]:
        p = self._by_handle.get(str(variables.get("handle") or ""))
        return {"productByIdentifier": self.product_node(p) if p else None}

    def discount_create(self, variables: dict[str, Any]) -> dict[str, Any]:
        given = variables.get("input") or {}
        missing = [k for k in ("code", "title", "startsAt", "customerGets") if not given.get(k)]
        if not (given.get("context") or given.get("customerSelection")):
            missing.append("context")
        errors: list[dict[str, Any]] = [
            {"field": ["basicCodeDiscount", k], "code": "BLANK", "message": f"{k} can't be blank"}
            for k in missing
        ]
        percentage = ((given.get("customerGets") or {}).get("value") or {}).get("percentage")
        if not errors and not (isinstance(percentage, int | float) and 0 < percentage <= 1):
            errors.append(
                {
                    "field": ["basicCodeDiscount", "customerGets", "value", "percentage"],
                    "code": "INVALID",
                    "message": "Percentage must be between 0.0 and 1.0",
                }
            )
        code = str(given.get("code") or "").upper()
        if not errors and code in self.discounts:
            errors.append(
                {
                    "field": ["basicCodeDiscount", "code"],
                    "code": "TAKEN",
                    "message": "Code must be unique. Please try a different code.",
                }
            )
        if errors:
            return {"discountCodeBasicCreate": {"codeDiscountNode": None, "userErrors": errors}}
        node_id = f"gid://shopify/DiscountCodeNode/{1_000_000 + len(self.discounts)}"
        self.discounts[code] = {
            "id": node_id,
            "title": given["title"],
            "percent": round(float(percentage or 0) * 100),
        }
        node = {
            "id": node_id,
            "codeDiscount": {"title": given["title"], "codes": {"nodes": [{"code": code}]}},
        }
        return {"discountCodeBasicCreate": {"codeDiscountNode": node, "userErrors": []}}

    def orders_query(self, variables: dict[str, Any]) -> dict[str, Any]:
        first = _int(variables.get("first"))
        if not 1 <= first <= 250:
            raise _UserInput("first must be between 1 and 250")
        since, until = _bounds(str(variables.get("query") or ""))
        rows = [
            o
            for o in self.orders
            if (since is None or o.updated >= since) and (until is None or o.updated <= until)
        ]
        rows.sort(key=lambda o: (o.updated, o.number))
        start = _int(variables.get("after")) if variables.get("after") else 0
        page = rows[start : start + first]
        more = start + first < len(rows)
        return {
            "orders": {
                "nodes": [self.order_node(o) for o in page],
                "pageInfo": {"hasNextPage": more, "endCursor": str(start + first) if more else None},
            }
        }

    _routes: ClassVar[
        dict[
            str,
            tuple[
                str, Callable[[ShopifyFace, dict[str, Any]], dict[str, Any]], Callable[[dict[str, Any]], int]
            ],
        ]
    ] = {
        "Shop": ("shop", shop_info, lambda v: 1),
        "Products": ("products", products, lambda v: 2 + _int(v.get("first"))),
        "Product": ("product", product, lambda v: 2),
        "ProductByHandle": ("productByIdentifier", product_by_handle, lambda v: 2),
        "DiscountCreate": ("discountCodeBasicCreate", discount_create, lambda v: 10),
        "Orders": ("orders", orders_query, lambda v: 2 + 3 * _int(v.get("first"))),
    }


class _UserInput(Exception):
    pass


_BOUND = re.compile(r"updated_at:(>=|<=)'([^']+)'")


def _bounds(query: str) -> tuple[float | None, float | None]:
    since = until = None
    for op, value in _BOUND.findall(query):
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        if op == ">=":
            since = moment
        else:
            until = moment
    return since, until


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _json(data: dict[str, Any]) -> Response:
    return Response(200, json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())
