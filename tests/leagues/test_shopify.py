"""The operator's Shopify shop against the sandbox's Admin GraphQL face over real HTTP on 127.0.0.1: the
token (a wrong one is an operator error that says what to do), active products only, a UTM campaign and
a discount code per group, orders attributed by the code or the campaign, throttling by the cost
bucket, a shop in another currency, GraphQL errors and faults."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.leagues.base import LeagueConfigError, NotPromotable, ProductNotFound, SearchQuery, Spot
from bot.leagues.budget import budget
from bot.leagues.shopify.client import ShopifyApiError, ShopifyClient, ShopifyThrottled
from bot.leagues.shopify.league import ShopifyShop
from bot.leagues.shopify.links import recognise_link
from bot.leagues.shopify.sandbox_account import DEFAULT_SHOP, DEFAULT_TOKEN
from tuike_sandbox.server import SandboxServer
from tuike_sandbox.shopify_face import ShopifyFace, handle, legacy_id, status


class Sleeps:
    """The client's pauses, recorded instead of waited (no fixed sleep in a test); each moves the
    sandbox shop's clock on, so its cost bucket refills as it would have."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.now = 1_800_000_000.0

    def clock(self) -> float:
        return self.now

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def _face(sandbox: SandboxServer) -> ShopifyFace:
    face = sandbox.face("/shopify")
    assert isinstance(face, ShopifyFace)
    return face


def _client(sandbox: SandboxServer, token: str = DEFAULT_TOKEN, **kw: object) -> ShopifyClient:
    url = f"{sandbox.base_url}/shopify/admin/api/2025-07/graphql.json"
    return ShopifyClient(url, token, backoff=0.001, timeout=2, **kw)  # type: ignore[arg-type]


def _shop(sandbox: SandboxServer, percent: int = 0, sleeps: Sleeps | None = None) -> ShopifyShop:
    client = _client(sandbox, sleep=sleeps or Sleeps())
    return ShopifyShop(
        client, store_url=f"https://{DEFAULT_SHOP}", shop_domain=DEFAULT_SHOP, discount_percent=percent
    )


@pytest.fixture
async def shop(sandbox: SandboxServer) -> AsyncIterator[ShopifyShop]:
    league = _shop(sandbox, percent=10)
    yield league
    await league.aclose()


def _active(face: ShopifyFace):  # type: ignore[no-untyped-def]
    return next(p for p in face.shop if status(p) == "ACTIVE" and face.inventory(p) > 0)


async def test_a_wrong_token_is_an_operator_error_that_never_shows_the_token(sandbox: SandboxServer) -> None:
    client = _client(sandbox, token="shpat_wrong_value_1234")
    try:
        with pytest.raises(LeagueConfigError) as caught:
            await client.shop()
    finally:
        await client.aclose()
    text = str(caught.value)
    assert "TUIKE_SHOPIFY_TOKEN" in text and "HTTP 401" in text
    assert "shpat_wrong_value_1234" not in text and "shpat_wrong_value_1234" not in repr(client)


async def test_search_shows_active_products_in_yuan_marked_as_the_shops(
    sandbox: SandboxServer, shop: ShopifyShop
) -> None:
    face = _face(sandbox)
    found = await shop.search(SearchQuery(keyword=_active(face).title.split()[0], limit=10))
    assert found
    by_id = {legacy_id(p): p for p in face.shop}
    for product in found:
        p = by_id[product.product_id]
        assert status(p) == "ACTIVE" and face.inventory(p) > 0
        assert product.platform == "shopify" and product.badges == ("自营",)
        assert product.price_fen == min(s.price_fen for s in p.skus)


async def test_a_shop_in_another_currency_says_so_instead_of_converting(sandbox: SandboxServer) -> None:
    face = _face(sandbox)
    face.currency = "USD"
    league = _shop(sandbox)
    try:
        p = _active(face)
        product = await league.product(legacy_id(p))
    finally:
        await league.aclose()
        face.currency = "CNY"
    assert product.price_fen == min(s.price_fen for s in p.skus) * 14 // 100, (
        "the shop's cents, not converted"
    )
    assert "标价为美元 (USD)，未换算" in product.badges


async def test_products_taken_off_the_shop_are_not_found(sandbox: SandboxServer, shop: ShopifyShop) -> None:
    face = _face(sandbox)
    archived = next(p for p in face.shop if status(p) != "ACTIVE")
    with pytest.raises(ProductNotFound, match="下架"):
        await shop.product(legacy_id(archived))
    with pytest.raises(ProductNotFound):
        await shop.product("123")
    with pytest.raises(NotPromotable):
        await shop.lookup_link("https://someone-else.myshopify.com/products/x")


def test_product_pages_are_recognised_and_the_shop_home_page_is_no_product() -> None:
    found = recognise_link("my-shop.myshopify.com", "/products/blue-mug", "")
    assert found is not None and (found.kind, found.ident) == ("item", "blue-mug")
    in_collection = recognise_link("my-shop.myshopify.com", "/collections/all/products/blue-mug", "")
    assert in_collection is not None and in_collection.ident == "blue-mug"
    home = recognise_link("my-shop.myshopify.com", "/", "")
    assert home is not None and home.not_product == "shop_home"


async def test_each_group_gets_its_own_code_and_campaign_and_orders_name_them(
    sandbox: SandboxServer, shop: ShopifyShop
) -> None:
    face = _face(sandbox)
    start = datetime.now(UTC) - timedelta(minutes=1)
    product = await shop.product(legacy_id(_active(face)))
    code_a, tag_a = await shop.choose_named_identity("room-a@chatroom", "宝妈群", set())
    code_b, tag_b = await shop.choose_identity("room-b@chatroom", {(code_a, tag_a)})
    assert code_a != code_b and tag_a != tag_b and set(face.discounts) == {code_a, code_b}
    assert face.discounts[code_a]["percent"] == 10
    link_a = await shop.promote(product, Spot("shopify", pid=code_a, tag=tag_a))
    link_b = await shop.promote(product, Spot("shopify", pid=code_b, tag=tag_b))
    assert link_a.code == code_a and link_a.best_url != link_b.best_url
    query = parse_qs(urlsplit(link_a.best_url).query)
    assert query["utm_source"] == ["tuike"] and query["utm_campaign"] == [tag_a]
    assert urlsplit(link_a.best_url).path == f"/discount/{code_a}"

    # the code survives a lost store: made again, the shop says it is taken, the group keeps it
    assert await shop.choose_identity("room-a@chatroom", set()) == (code_a, tag_a)

    plain = _shop(sandbox)  # no codes: the campaign alone
    try:
        no_code = await plain.promote(product, Spot("shopify", tag=tag_b))
    finally:
        await plain.aclose()
    assert (
        no_code.best_url
        == f"https://{DEFAULT_SHOP}/products/{handle(_active(face))}?utm_source=tuike&utm_campaign={tag_b}"
    )

    face.buy(link_a.best_url)
    face.buy(no_code.best_url, quantity=2)
    face.buy(f"https://{DEFAULT_SHOP}/products/{handle(_active(face))}")  # not through the bot
    orders = await shop.orders_since(start, datetime.now(UTC) + timedelta(minutes=1))
    assert [(o.pid, o.tag) for o in orders] == [(code_a, ""), ("", tag_b), ("", "")]
    price = min(s.price_fen for s in _active(face).skus)
    assert orders[0].paid_fen == price - price * 10 // 100, "the group's code took 10% off"
    assert orders[1].paid_fen == 2 * price and orders[1].status == "settled"


async def test_throttling_waits_for_the_bucket_then_gives_up_past_the_budget(sandbox: SandboxServer) -> None:
    face = _face(sandbox)
    sleeps = Sleeps()
    league = _shop(sandbox, sleeps=sleeps)
    try:
        face.clock = sleeps.clock
        face.faults.fail_next = ["throttle"]
        face.bucket.available, face.bucket.at = 0, sleeps.now
        face.bucket.restore_rate = 100.0
        found = await league.search(SearchQuery(keyword=_active(face).title.split()[0], limit=3))
        assert found and league.client.throttled >= 1
        assert sleeps.waits and all(0 < w < 1 for w in sleeps.waits), "waited for the bucket as it said"

        face.bucket.available, face.bucket.restore_rate = 0, 0.5  # refills far slower than a member waits
        league._cache.clock = lambda: sleeps.now + 3600  # what was said is old: asked again
        with budget(2.0):
            again = await league.search(SearchQuery(keyword=_active(face).title.split()[0], limit=3))
        assert again == found, "degraded: the last answer rather than nothing"
        with budget(2.0), pytest.raises(ShopifyThrottled):
            await league.search(SearchQuery(keyword="耳机", limit=3))  # nothing said before
    finally:
        face.bucket.available, face.bucket.restore_rate = face.bucket.maximum, 100.0
        face.clock = time.time
        await league.aclose()


async def test_graphql_errors_and_5xx(sandbox: SandboxServer) -> None:
    face = _face(sandbox)
    client = _client(sandbox)
    try:
        with pytest.raises(ShopifyApiError, match="doesn't exist"):
            await client.query("Collections", "query Collections { collections(first: 1) { nodes { id } } }")
        face.faults.fail_next = ["500", "malformed"]
        assert (await client.shop())["currencyCode"] == "CNY"
    finally:
        await client.aclose()


def test_the_settings_name_the_endpoint_and_refuse_what_cannot_work() -> None:
    from bot.config import ConfigError, parse_settings

    shop = parse_settings({"shops": {"shopify": {"shop": "My-Shop.myshopify.com"}}}).shops.shopify
    assert shop.endpoint == "https://my-shop.myshopify.com/admin/api/2025-07/graphql.json"
    assert shop.store_url == "https://my-shop.myshopify.com"
    with pytest.raises(ConfigError, match="TUIKE_SHOPIFY_TOKEN"):
        parse_settings({"shops": {"shopify": {"enabled": True, "sandbox": False, "shop": "a.myshopify.com"}}})
    with pytest.raises(ConfigError, match=r"shops\.shopify\.shop"):
        parse_settings({"shops": {"shopify": {"shop": "shop.example.com"}}})
    with pytest.raises(ConfigError, match=r"shops\.shopify\.api_version"):
        parse_settings({"shops": {"shopify": {"api_version": "2025-05"}}})


def test_the_shops_own_domain_is_read_as_the_shop_only_once_the_config_names_it() -> None:
    from bot.config import parse_settings
    from bot.handlers.links import find_product_refs, use_own_hosts

    text = "这个 https://shop.example.com/products/green-tea 还有吗"
    try:
        use_own_hosts(parse_settings({}))
        assert [r.platform for r in find_product_refs(text)] != ["shopify"]
        named = {"enabled": True, "storefront": "https://Shop.Example.com/"}
        use_own_hosts(parse_settings({"shops": {"shopify": named}}))
        [ref] = find_product_refs(text)
        assert (ref.platform, ref.kind, ref.id) == ("shopify", "item", "green-tea")
        [home] = find_product_refs("店铺在这 https://shop.example.com/ 逛逛")
        assert home.not_product == "shop_home"
        # a lookalike host or a subdomain of another shop is not the operator's
        assert not [
            r
            for r in find_product_refs("https://shop.example.com.evil.cn/products/x")
            if r.platform == "shopify"
        ]
        # the shop switched off: its domain is nobody's again
        use_own_hosts(parse_settings({"shops": {"shopify": {**named, "enabled": False}}}))
        assert [r.platform for r in find_product_refs(text)] != ["shopify"]
    finally:
        use_own_hosts(parse_settings({}))
