"""Shopify's Admin GraphQL API for one shop, over one reused httpx.AsyncClient.

Every call is `POST {endpoint}` (`https://{shop}/admin/api/{version}/graphql.json`) with the header
`X-Shopify-Access-Token` and a JSON body `{"query", "variables", "operationName"}`. A bad or revoked
token is HTTP 401 — the operator's to fix, and the error says how. GraphQL errors come with HTTP 200 as
`errors[]`; a throttled call answers `errors[{extensions: {code: "THROTTLED"}}]` (HTTP 200 or 429: both
are read) with the bucket in `extensions.cost.throttleStatus`: we wait until the bucket holds the
query's cost (`(requested - available) / restoreRate` seconds) and try again, inside the caller's
budget; a throttle that outlasts it is `ShopifyThrottled` (the league is unavailable for now, like any
other league's call-rate refusal). 5xx, malformed JSON and transport faults are retried with backoff.
The token never reaches a log line, an exception's text or `repr`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import httpx

from bot.leagues import wire
from bot.leagues.base import LeagueConfigError, LeagueError, LeagueUnavailable
from bot.leagues.http import IN_FLIGHT, capped_request, league_http, time_to_retry, try_seconds
from bot.leagues.metering import call_failed, call_succeeded, count_call
from bot.reasons import reason

log = logging.getLogger(__name__)

Json = dict[str, Any]

PRODUCT_FIELDS = """
fragment P on Product {
  id legacyResourceId title handle status onlineStoreUrl totalInventory vendor productType
  featuredImage { url }
  priceRangeV2 { minVariantPrice { amount currencyCode } }
  compareAtPriceRange { minVariantCompareAtPrice { amount currencyCode } }
}
"""
SHOP = "query Shop { shop { name currencyCode primaryDomain { url } } }"
PRODUCTS = (
    "query Products($first: Int!, $query: String) {"
    " products(first: $first, query: $query) { nodes { ...P } } }" + PRODUCT_FIELDS
)
PRODUCT = "query Product($id: ID!) { product(id: $id) { ...P } }" + PRODUCT_FIELDS
BY_HANDLE = (
    "query ProductByHandle($handle: String!) {"
    " productByIdentifier(identifier: {handle: $handle}) { ...P } }" + PRODUCT_FIELDS
)
DISCOUNT = """
mutation DiscountCreate($input: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $input) {
    codeDiscountNode { id codeDiscount { ... on DiscountCodeBasic { title codes(first: 1) { nodes { code } } } } }
    userErrors { field code message }
  }
}
"""
ORDERS = """
query Orders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id legacyResourceId name createdAt updatedAt cancelledAt displayFinancialStatus discountCodes
      currentTotalPriceSet { shopMoney { amount currencyCode } }
      totalPriceSet { shopMoney { amount currencyCode } }
      customerJourneySummary {
        ready
        firstVisit { utmParameters { source campaign } }
        lastVisit { utmParameters { source campaign } }
      }
      lineItems(first: 50) { nodes { title quantity product { legacyResourceId } } }
    }
  }
}
"""
ORDER_PAGE = 100


class ShopifyThrottled(LeagueUnavailable):
    """The shop's cost bucket stayed empty for longer than the caller could wait."""


class ShopifyApiError(LeagueError):
    """A GraphQL error that is neither throttling nor the token (a member hears "稍后再试")."""


class ShopifyUserError(LeagueError):
    """A mutation's `userErrors` (HTTP 200, no GraphQL `errors`)."""

    def __init__(self, errors: list[Json]) -> None:
        super().__init__("Shopify: " + "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors))
        self.errors = errors
        self.codes = {str(e.get("code") or "") for e in errors}


class _Transient(Exception):
    def __init__(self, message: str, wait: float | None = None) -> None:
        super().__init__(message)
        self.wait = wait
        """Seconds until the cost bucket holds the query again (throttling), None otherwise."""


def loads(content: bytes) -> Any:
    """The answer, money as exact Decimals and every string clean (a lone surrogate or a NUL in a
    title never costs a member their answer: `bot.leagues.wire`)."""
    return wire.loads(content, exact=True)


def throttle_wait(extensions: Any, fallback: float = 1.0) -> float:
    """Seconds until the bucket refills enough for the query: `(requested - available) / restoreRate`."""
    cost = extensions.get("cost") if isinstance(extensions, dict) else None
    if not isinstance(cost, dict):
        return fallback
    status = cost.get("throttleStatus") or {}
    try:
        need = float(cost.get("requestedQueryCost") or 0) - float(status.get("currentlyAvailable") or 0)
        rate = float(status.get("restoreRate") or 0)
    except (TypeError, ValueError):
        return fallback
    if rate <= 0:
        return fallback
    return max(need / rate, 0.05)


class ShopifyClient:
    league = "shopify"

    def __init__(
        self,
        endpoint: str,
        access_token: str,
        *,
        timeout: float = 8.0,
        max_retries: int = 3,
        backoff: float = 0.3,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.endpoint = endpoint
        self._token = access_token
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.sleep = sleep
        self.clock = clock
        self.http = league_http(
            endpoint,
            timeout=timeout,
            transport=transport,
        )
        self.gate = asyncio.Semaphore(IN_FLIGHT)
        self.throttled = 0
        """Throttled answers seen (the console and tests read it)."""

    def __repr__(self) -> str:  # never the token
        return f"ShopifyClient({self.endpoint!r})"

    async def aclose(self) -> None:
        await self.http.aclose()

    async def query(self, operation: str, document: str, variables: Json | None = None) -> Json:
        """One GraphQL operation; its `data`, or the mapped error."""
        body = json.dumps(
            {"query": document, "variables": variables or {}, "operationName": operation},
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        attempt = 0
        while True:
            seconds = try_seconds(self.timeout)
            if seconds is None:
                raise LeagueUnavailable(f"Shopify {operation}: 时间用完了 (no time left in the budget)")
            try:
                count_call(self.league)
                status, raw = await capped_request(
                    self.http,
                    "POST",
                    self.endpoint,
                    seconds=seconds,
                    gate=self.gate,
                    content=body,
                    headers={"Content-Type": "application/json", "X-Shopify-Access-Token": self._token},
                )
                data = self._read(operation, status, raw)
                call_succeeded(self.league)
                return data
            except (_Transient, TimeoutError, httpx.TimeoutException, httpx.TransportError) as exc:
                call_failed(self.league, exc)
                wait = exc.wait if isinstance(exc, _Transient) else None
                throttled = wait is not None
                if attempt >= self.max_retries + (2 if throttled else 0):
                    if throttled:
                        raise ShopifyThrottled(
                            f"Shopify {operation}: 调用太频繁，{attempt + 1} 次都被限流"
                        ) from None
                    raise LeagueUnavailable(
                        f"Shopify {operation}: {attempt + 1} 次都失败 ({reason(exc)})"
                    ) from None
                delay = wait if wait is not None else self.backoff * (2**attempt) * (0.5 + random.random())
                if not time_to_retry(delay):
                    if throttled:
                        raise ShopifyThrottled(
                            f"Shopify {operation}: 被限流，要等 {delay:.1f} 秒，超出了这次的时限"
                        ) from None
                    raise LeagueUnavailable(
                        f"Shopify {operation}: 来不及再试 ({attempt + 1} 次: {reason(exc)})"
                    ) from None
                log.info(
                    "shopify %s failed (%s), retry %d in %.2fs", operation, reason(exc), attempt + 1, delay
                )
                attempt += 1
                await self.sleep(delay)
            except Exception as exc:
                call_failed(self.league, exc)
                raise

    def _read(self, operation: str, status: int, raw: bytes) -> Json:
        if status in (401, 403):
            raise LeagueConfigError(
                f"Shopify {operation}: access token 无效或已被撤销 (HTTP {status})：在 Shopify 后台 → 应用 → "
                "开发应用里重新安装并复制 Admin API access token，填到 [shops.shopify] access_token"
                "（或 TUIKE_SHOPIFY_TOKEN），需要 read_products、read_orders、write_discounts 权限"
            )
        if status == 404:
            raise LeagueConfigError(
                f"Shopify {operation}: 没有这个地址 (HTTP 404)：检查 [shops.shopify] shop 和 api_version"
            )
        if status >= 500:
            raise _Transient(f"HTTP {status}")
        try:
            data = loads(raw)
        except ValueError:
            raise _Transient("malformed JSON") from None
        if not isinstance(data, dict):
            raise _Transient("JSON is not an object")
        errors = data.get("errors")
        if status == 429 or errors:
            listed: list[Any] = errors if isinstance(errors, list) else [{"message": str(errors)}]
            codes = {
                str((e.get("extensions") or {}).get("code") or "") for e in listed if isinstance(e, dict)
            }
            if status == 429 or "THROTTLED" in codes:
                self.throttled += 1
                raise _Transient("THROTTLED", throttle_wait(data.get("extensions")))
            message = "; ".join(str(e.get("message") or "") for e in listed if isinstance(e, dict))
            if "ACCESS_DENIED" in codes:
                raise LeagueConfigError(
                    f"Shopify {operation}: 应用缺少权限 ({message})：给应用加上 read_products、read_orders、"
                    "write_discounts 后重新安装"
                )
            if codes & {"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE"}:
                raise _Transient(message)
            raise ShopifyApiError(
                f"Shopify {operation}: {message} ({', '.join(sorted(c for c in codes if c))})"
            )
        if status >= 400:
            raise ShopifyApiError(f"Shopify {operation}: HTTP {status}")
        answer = data.get("data")
        if not isinstance(answer, dict):
            raise _Transient("no data in the answer")
        return answer

    # -- what the shop league asks -------------------------------------------------------------------

    async def shop(self) -> Json:
        found = (await self.query("Shop", SHOP)).get("shop")
        return found if isinstance(found, dict) else {}

    async def products(self, search: str, first: int) -> list[Json]:
        data = await self.query("Products", PRODUCTS, {"first": min(max(first, 1), 250), "query": search})
        nodes = (data.get("products") or {}).get("nodes") or []
        return [n for n in nodes if isinstance(n, dict)]

    async def product(self, legacy_id: str) -> Json | None:
        data = await self.query("Product", PRODUCT, {"id": f"gid://shopify/Product/{legacy_id}"})
        found = data.get("product")
        return found if isinstance(found, dict) else None

    async def product_by_handle(self, handle: str) -> Json | None:
        data = await self.query("ProductByHandle", BY_HANDLE, {"handle": handle})
        found = data.get("productByIdentifier")
        return found if isinstance(found, dict) else None

    async def create_discount(
        self, code: str, title: str, percent: int, starts_at: str, *, context: bool
    ) -> str:
        """`discountCodeBasicCreate`: `percent` off everything for everyone; the node id. `context`:
        the buyers as `context: {all: ALL}` (2025-04 and later), else `customerSelection: {all: true}`."""
        payload: Json = {
            "title": title,
            "code": code,
            "startsAt": starts_at,
            "customerGets": {"value": {"percentage": float(Decimal(percent) / 100)}, "items": {"all": True}},
            "appliesOncePerCustomer": False,
        }
        if context:
            payload["context"] = {"all": "ALL"}
        else:
            payload["customerSelection"] = {"all": True}
        data = await self.query("DiscountCreate", DISCOUNT, {"input": payload})
        result = data.get("discountCodeBasicCreate") or {}
        user_errors = [e for e in result.get("userErrors") or [] if isinstance(e, dict)]
        if user_errors:
            raise ShopifyUserError(user_errors)
        node = result.get("codeDiscountNode") or {}
        return str(node.get("id") or "")

    async def orders(self, since_iso: str, until_iso: str) -> list[Json]:
        """Orders updated in [since, until], every page."""
        search = f"updated_at:>='{since_iso}' AND updated_at:<='{until_iso}'"
        out: list[Json] = []
        after: str | None = None
        while True:
            data = await self.query("Orders", ORDERS, {"first": ORDER_PAGE, "after": after, "query": search})
            conn = data.get("orders") or {}
            out.extend(n for n in conn.get("nodes") or [] if isinstance(n, dict))
            page = conn.get("pageInfo") or {}
            if not page.get("hasNextPage") or not page.get("endCursor"):
                return out
            after = str(page["endCursor"])
