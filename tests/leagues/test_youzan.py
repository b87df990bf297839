"""The operator's Youzan shop against the sandbox's Youzan face over real HTTP on 127.0.0.1: the token's
life (kept, refreshed once when refused, then an operator error that says what to do), the shop's items
beside nothing else, a salesman and a link per group, their orders, and faults (5xx, throttling, a
hang, an item taken off sale, a pasted shop home page)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.leagues.base import LeagueConfigError, LeagueUnavailable, ProductNotFound, SearchQuery, Spot
from bot.leagues.budget import budget
from bot.leagues.youzan.client import YouzanClient
from bot.leagues.youzan.league import YouzanShop
from bot.leagues.youzan.links import recognise_link
from bot.leagues.youzan.sandbox_account import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_KDT_ID
from tuike_sandbox.server import SandboxServer
from tuike_sandbox.youzan_face import YouzanFace, alias, item_id, listed


def _face(sandbox: SandboxServer) -> YouzanFace:
    face = sandbox.face("/youzan")
    assert isinstance(face, YouzanFace)
    return face


def _client(sandbox: SandboxServer, secret: str = DEFAULT_CLIENT_SECRET, **kw: object) -> YouzanClient:
    return YouzanClient(
        sandbox.base_url + "/youzan",
        DEFAULT_CLIENT_ID,
        secret,
        DEFAULT_KDT_ID,
        backoff=0.001,
        timeout=kw.pop("timeout", 2),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
async def shop(sandbox: SandboxServer) -> AsyncIterator[YouzanShop]:
    league = YouzanShop(_client(sandbox), margin_ppm=100_000)
    yield league
    await league.aclose()


def _on_sale(face: YouzanFace):  # type: ignore[no-untyped-def]
    return next(p for p in face.shop if listed(p))


# -- the token ---------------------------------------------------------------------------------------


async def test_the_token_is_kept_and_asked_again_once_when_refused(
    sandbox: SandboxServer, shop: YouzanShop
) -> None:
    face = _face(sandbox)
    p = _on_sale(face)
    await shop.product(str(item_id(p)))
    await shop.search(SearchQuery(keyword=p.title.split()[0], limit=3))
    assert shop.client.tokens_fetched == 1 and face.calls["auth/token"] == 1

    face.expire_all_tokens()  # refused for an expired token (4003): a new one, once, and the call goes on
    shop._cache.items.clear()
    assert (await shop.product(alias(p))).product_id == str(item_id(p))
    assert shop.client.tokens_fetched == 2


async def test_a_revoked_authorisation_is_an_operator_error_after_one_refresh(
    sandbox: SandboxServer, shop: YouzanShop
) -> None:
    face = _face(sandbox)
    face.faults.refuse_tokens = True
    with pytest.raises(LeagueConfigError) as caught:
        await shop.search(SearchQuery(keyword="耳机", limit=3))
    assert "授权" in str(caught.value) and "[shops.youzan]" in str(caught.value)
    assert shop.client.tokens_fetched == 2, "refreshed exactly once"


async def test_a_wrong_secret_says_which_keys_to_check_and_never_shows_it(sandbox: SandboxServer) -> None:
    client = _client(sandbox, secret="wrong-secret-value")
    try:
        with pytest.raises(LeagueConfigError) as caught:
            await client.search_items("耳机")
    finally:
        await client.aclose()
    text = str(caught.value)
    assert "client_secret" in text and "TUIKE_YOUZAN_CLIENT_SECRET" in text
    assert "wrong-secret-value" not in text and "wrong-secret-value" not in repr(client)


# -- items ------------------------------------------------------------------------------------------


async def test_search_shows_the_shops_own_items_on_sale_marked_as_its_own(
    sandbox: SandboxServer, shop: YouzanShop
) -> None:
    face = _face(sandbox)
    keyword = _on_sale(face).title.split()[0]
    found = await shop.search(SearchQuery(keyword=keyword, limit=10))
    assert found
    ours = {str(item_id(p)): p for p in face.shop}
    for product in found:
        assert product.platform == "youzan" and product.badges == ("自营",)
        p = ours[product.product_id]
        assert listed(p)
        assert product.price_fen == min(s.price_fen for s in p.skus)
        assert product.commission is not None and product.commission.amount_fen == product.price_fen // 10


async def test_an_item_taken_off_sale_is_not_found(sandbox: SandboxServer, shop: YouzanShop) -> None:
    face = _face(sandbox)
    off = next(p for p in face.shop if not listed(p))
    with pytest.raises(ProductNotFound, match="下架"):
        await shop.product(str(item_id(off)))
    with pytest.raises(ProductNotFound):
        await shop.product("999")


def test_item_pages_are_recognised_and_a_shop_home_page_is_no_product() -> None:
    item = recognise_link("h5.youzan.com", "/v2/goods/2xabc123def", "")
    assert item is not None and (item.kind, item.ident) == ("item", "2xabc123def")
    shop123 = recognise_link("shop123.m.youzan.com", "/v2/goods/2fxyz98765", "")
    assert shop123 is not None and shop123.ident == "2fxyz98765"
    home = recognise_link("h5.youzan.com", "/v2/showcase/homepage", "kdt_id=91234567")
    assert home is not None and home.not_product == "shop_home"
    assert recognise_link("www.youzan.com", "/", "") is None


# -- a salesman and a link per group; orders -----------------------------------------------------


async def test_each_group_gets_its_own_salesman_link_and_its_orders_come_back(
    sandbox: SandboxServer, shop: YouzanShop
) -> None:
    face = _face(sandbox)
    start = datetime.now(UTC) - timedelta(minutes=1)
    product = await shop.product(str(item_id(_on_sale(face))))
    a_pid, a_tag = await shop.choose_identity("room-a@chatroom", set())
    a = Spot("youzan", pid=a_pid, tag=a_tag)
    b_pid, b_tag = await shop.choose_identity("room-b@chatroom", {(a.pid, a.tag)})
    b = Spot("youzan", pid=b_pid, tag=b_tag)
    assert a.pid != b.pid and {int(a.pid), int(b.pid)} <= face.salesmen
    link_a, link_b = await shop.promote(product, a), await shop.promote(product, b)
    assert link_a.best_url != link_b.best_url and "sls=" in link_a.best_url
    assert face.calls["youzan.salesman.promotion.create"] == 2

    # made again after a restart of the bot (the platform already knows the salesman): still fine
    again = YouzanShop(_client(sandbox))
    try:
        assert await again.choose_identity("room-a@chatroom", set()) == (a.pid, a.tag)
    finally:
        await again.aclose()

    face.salesmen.discard(int(b.pid))  # removed in the shop's back office: made again when needed
    shop._cache.items.clear()
    assert "sls=" in (await shop.promote(product, b)).best_url and int(b.pid) in face.salesmen

    face.clock = lambda: datetime.now(UTC).timestamp() + 600  # the buyers come a few minutes later
    orders = await shop.orders_since(start, datetime.now(UTC) + timedelta(minutes=15))
    assert orders
    assert {(o.pid, o.tag) for o in orders} == {(a.pid, a.tag), (b.pid, b.tag)}
    for o in orders:
        assert o.product_id == product.product_id and o.paid_fen > 0
        assert o.status in ("pending", "settled", "cancelled")
        assert o.commission_fen == (0 if o.status == "cancelled" else o.paid_fen * 8 // 100)


async def test_the_operators_default_link_is_the_items_own_page(
    sandbox: SandboxServer, shop: YouzanShop
) -> None:
    face = _face(sandbox)
    p = _on_sale(face)
    link = await shop.promote(await shop.product(str(item_id(p))), Spot("youzan"))
    assert link.best_url == f"https://h5.youzan.com/v2/goods/{alias(p)}"


# -- faults ----------------------------------------------------------------------------------------


async def test_5xx_malformed_and_throttling_are_retried(sandbox: SandboxServer, shop: YouzanShop) -> None:
    face = _face(sandbox)
    face.faults.fail_next = ["500", "malformed", "throttle"]
    found = await shop.search(SearchQuery(keyword=_on_sale(face).title.split()[0], limit=3))
    assert found and not face.faults.fail_next


async def test_a_shop_that_keeps_throttling_answers_from_what_it_said_last(sandbox: SandboxServer) -> None:
    face = _face(sandbox)
    now = [0.0]
    league = YouzanShop(_client(sandbox, max_retries=1), cache_seconds=60, clock=lambda: now[0])
    try:
        query = SearchQuery(keyword=_on_sale(face).title.split()[0], limit=3)
        found = await league.search(query)
        now[0] += 3600  # what was said is old: asked again, and the platform keeps refusing
        face.faults.fail_next = ["throttle"] * 4
        assert await league.search(query) == found
        face.faults.fail_next = ["throttle"] * 4
        with pytest.raises(LeagueUnavailable):
            await league.search(SearchQuery(keyword="洗衣液", limit=3))  # nothing said before
    finally:
        face.faults.fail_next = []
        await league.aclose()


async def test_a_hanging_platform_ends_within_the_budget(sandbox: SandboxServer) -> None:
    face = _face(sandbox)
    client = _client(sandbox, timeout=0.3, max_retries=5)
    try:
        await client.token()  # the token itself is quick
        face.faults.latency_s = 5
        with budget(0.8), pytest.raises(LeagueUnavailable) as caught:
            await client.search_items("耳机")
        token = await client.token()
        assert token not in str(caught.value) and DEFAULT_CLIENT_SECRET not in str(caught.value)
    finally:
        face.faults.latency_s = 0
        await client.aclose()


def test_the_real_platform_needs_the_app_and_the_shop() -> None:
    from bot.config import ConfigError, parse_settings

    with pytest.raises(ConfigError, match="TUIKE_YOUZAN_CLIENT_SECRET"):
        parse_settings({"shops": {"youzan": {"enabled": True, "sandbox": False, "client_id": "x"}}})
    with pytest.raises(ConfigError, match=r"shops\.youzan\.kdt_id"):
        parse_settings({"shops": {"youzan": {"kdt_id": "my-shop"}}})
    shop = parse_settings({"shops": {"youzan": {}}}).shops.youzan
    assert shop.base_url == "https://open.youzanyun.com" and not shop.enabled
