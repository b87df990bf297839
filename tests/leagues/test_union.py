"""The mini-program union league against its sandbox face over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.handlers.parse import find_product_refs
from bot.leagues.base import LeagueConfigError, ProductNotFound, QuotaExhausted, SearchQuery, Spot
from bot.leagues.union.client import AmountFormatError, UnionClient, display_fen
from bot.leagues.union.league import UnionLeague
from bot.leagues.union.spots import UnionSpots, group_tag
from bot.leagues.wechat.errors import WechatApiError
from tuike_sandbox.server import SandboxServer
from tuike_sandbox.union_face import PREFIX, UnionFace, union_product_id

APPID = "wx_union_promoter"


class Union:
    """The sandbox server and its union face (reached through the server's dispatch table)."""

    def __init__(self, server: SandboxServer, face: UnionFace) -> None:
        self.server = server
        self.face = face

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def calls(self, path: str) -> int:
        return self.server.state.calls[PREFIX + path]


@contextlib.asynccontextmanager
async def union_server() -> AsyncIterator[tuple[SandboxServer, UnionFace]]:
    async with SandboxServer() as server:
        yield server, server.face(PREFIX + "product/list")


@pytest.fixture
async def union() -> AsyncIterator[Union]:
    async with union_server() as (server, face):
        yield Union(server, face)


def make_client(union: Union, engine: Engine | None = None, appid: str = APPID) -> UnionClient:
    return UnionClient(union.base_url, appid, "sandbox", engine=engine, backoff=0.001, timeout=2)


@pytest.fixture
async def league(union: Union, engine: Engine) -> AsyncIterator[UnionLeague]:
    lg = UnionLeague(make_client(union, engine))
    yield lg
    await lg.aclose()


def catalogue_price(union: Union, union_id: str) -> int:
    product = union.face.in_union(union_id)
    assert product is not None
    return min(s.price_fen for s in product.skus)


# ---- amounts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shown", "fen"),
    [
        ("¥0.20", 20),
        ("¥0", 0),
        ("¥12.9", 1290),
        ("￥1,299.00", 129_900),
        ("12.50元", 1250),
        (" ¥3 ", 300),
        (35, 35),
        ("-", None),
        ("", None),
    ],
)
def test_display_amounts_become_fen(shown: Any, fen: int | None) -> None:
    assert display_fen(shown) == fen


@pytest.mark.parametrize("shown", ["约¥3", "¥1.234", "1e3", "¥", 2.5, True, "¥12,34", "-¥0.50"])
def test_unknown_amount_formats_are_refused_not_guessed(shown: Any) -> None:
    with pytest.raises(AmountFormatError):
        display_fen(shown)


# ---- products ----------------------------------------------------------------------------------------


async def test_search_returns_union_products_with_prices_commission_and_shop_appid(
    union: Union, league: UnionLeague
) -> None:
    products = await league.search(SearchQuery(keyword="蓝牙耳机", limit=8))
    assert len(products) >= 3
    for p in products:
        assert p.platform == "union"
        assert "耳机" in p.title
        assert p.shop_id.startswith("wx")
        assert p.price_fen == catalogue_price(union, p.product_id)
        assert p.commission is not None and p.commission.ratio_ppm % 100 == 0
        assert p.commission.amount_fen == p.price_fen * p.commission.ratio_ppm // 1_000_000
        assert p.image.startswith("https://")


async def test_search_pages_past_fifty_without_repeats(union: Union, league: UnionLeague) -> None:
    products = await league.search(SearchQuery(min_price_fen=0, limit=120))  # a filter: the full list
    ids = [p.product_id for p in products]
    assert len(ids) == 120 == len(set(ids))
    assert union.calls("product/list") == 3  # 50 + 50 + 20


async def test_categories_and_selections_per_category(league: UnionLeague) -> None:
    cats = await league.categories()
    names = {c.name: c.category_id for c in cats}
    assert "食品生鲜" in names and "个护美妆" in names
    food = await league.featured(names["食品生鲜"], 10)
    assert food and all(p.category == names["食品生鲜"] for p in food)
    everything = {
        p.product_id
        for p in await league.search(SearchQuery(category_id=names["食品生鲜"], min_price_fen=0, limit=200))
    }
    assert {p.product_id for p in food} <= everything
    assert len(everything) > len(await league.featured(names["食品生鲜"], 200))  # 精选 is a selection


async def test_a_product_removed_from_the_union_is_not_found(union: Union, league: UnionLeague) -> None:
    product = (await league.search(SearchQuery(keyword="纸巾", limit=1)))[0]
    spot = await league.spots.for_group("room-1@chatroom", "宝妈省钱群")
    union.face.remove(product.product_id)
    with pytest.raises(ProductNotFound):
        await league.promote(product, spot)
    league._details.items.clear()
    with pytest.raises(ProductNotFound):
        await league.product(product.product_id)


# ---- spots ---------------------------------------------------------------------------------------------


async def test_each_group_gets_one_spot_exactly_once_under_concurrency(
    union: Union, league: UnionLeague
) -> None:
    groups = [(f"room-{i}@chatroom", f"群{i} 好物分享") for i in range(5)]
    asks = [league.spots.for_group(key, name) for key, name in groups for _ in range(8)]
    spots = await asyncio.gather(*asks)
    by_group = {s.tag: s.pid for s in spots}
    assert len(by_group) == 5 and len(set(by_group.values())) == 5
    assert all(s.pid == by_group[s.tag] for s in spots)
    names = set(union.face.union.spots.values())
    assert len(names) == 6  # one per group, plus the shared default made first
    assert union.calls("promotion/add") == 6
    assert f"群0 好物分享#{group_tag('room-0@chatroom')}" in names


async def test_a_restart_finds_the_groups_spot_instead_of_making_another(
    union: Union, league: UnionLeague
) -> None:
    first = await league.spots.for_group("room-a@chatroom", "老友记")
    again = UnionSpots(make_client(union))
    try:
        second = await again.for_group("room-a@chatroom", "老友记 (改名了)")
    finally:
        await again.client.aclose()
    assert second == first
    assert again.created == 0


async def test_when_spots_run_out_the_operator_is_told_and_groups_share_the_default(union: Union) -> None:
    union.face.union.max_spots = 4
    told: list[str] = []
    client = make_client(union)
    spots = UnionSpots(client, notify=told.append)
    try:
        made = [await spots.for_group(f"room-{i}@chatroom", f"群{i}") for i in range(7)]
        usage = await spots.usage()
    finally:
        await client.aclose()
    default = usage.default_pid
    assert default
    own = [s for s in made if s.pid != default]
    shared = [s for s in made if s.pid == default]
    assert len(own) == 3 and len(shared) == 4
    assert len({s.tag for s in shared}) == 4  # still told apart in orders by customizeInfo
    assert len(told) == 1 and "推广位已用完" in told[0] and "4/4" in told[0]
    assert usage.full and usage.used == 4 and usage.limit == 4


async def test_another_process_creating_the_same_spot_first_is_not_an_error(union: Union) -> None:
    one, two = make_client(union), make_client(union)
    a, b = UnionSpots(one), UnionSpots(two)
    try:
        await a.default()
        await b.default()  # b has read the list: it knows the default but not the group yet
        first = await a.for_group("room-x@chatroom", "同一个群")
        second = await b.for_group("room-x@chatroom", "同一个群")  # 14007 name taken → found
    finally:
        await one.aclose()
        await two.aclose()
    assert first == second
    assert len(union.face.union.spots) == 2


# ---- promotion material ---------------------------------------------------------------------------------


async def test_promotion_material_carries_the_groups_spot_and_a_mini_program_code(
    union: Union, league: UnionLeague
) -> None:
    product = (await league.search(SearchQuery(keyword="洗衣液", limit=1)))[0]
    a = await league.spots.for_group("room-a@chatroom", "A 群")
    b = await league.spots.for_group("room-b@chatroom", "B 群")
    link_a = await league.promote(product, a)
    link_b = await league.promote(product, b)
    assert link_a.best_url != link_b.best_url
    assert link_a.best_url.startswith("https://mmbizurl.cn/s/")
    refs = find_product_refs(f"看看这个 {link_a.best_url} ")
    assert [(r.platform, r.kind) for r in refs] == [("union", "short_link")]
    assert link_a.shop_id == product.shop_id
    assert f"productId={product.product_id}" in link_a.mini_path and a.pid in link_a.mini_path
    head, _, data = link_a.qrcode_url.partition(",")
    assert head == "data:image/png;base64"
    assert base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n")
    assert (await league.lookup_link(link_a.best_url)).product_id == product.product_id


async def test_unknown_promotion_links_are_not_resolved(league: UnionLeague) -> None:
    with pytest.raises(ProductNotFound):
        await league.lookup_link("https://mmbizurl.cn/s/someoneelse")


# ---- orders --------------------------------------------------------------------------------------------------


async def test_orders_page_by_window_and_map_back_to_groups(union: Union, league: UnionLeague) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    products = await league.search(SearchQuery(keyword="零食", limit=6))
    groups = {}
    for i in range(2):
        spot = await league.spots.for_group(f"room-{i}@chatroom", f"群{i}")
        groups[spot.pid] = spot.tag
        for p in products:
            await league.promote(p, spot)
    league.clock = lambda: datetime.now(UTC) + timedelta(hours=2)  # orders are paid minutes after the link
    orders = await league.orders_since(since)
    expected = union.face.orders()
    assert len(orders) == len(expected) > 10  # more than one page of 10
    assert union.calls("order/search") >= 2
    assert {(o.order_id, o.sku_id) for o in orders} == {
        (e["orderId"], e["productList"][0]["skuId"]) for e in expected
    }
    for o in orders:
        assert groups[o.pid] == o.tag  # the spot and customizeInfo both name the group
        assert o.paid_fen > 0
        assert o.status in ("pending", "settled", "cancelled")
        if o.status == "cancelled":
            assert o.commission_fen == 0
    line = {e["orderId"]: e["productList"][0] for e in expected}
    for o in orders:
        raw = line[o.order_id]
        assert o.paid_fen == display_fen(raw["price"])
        if raw["commission"] == "-":
            assert o.status == "pending" and o.commission_fen == raw["estimatedCommission"]
        else:
            assert o.commission_fen == display_fen(raw["commission"])
    assert any(line[o.order_id]["commission"] == "-" for o in orders)  # the pending case was exercised


async def test_an_odd_amount_keeps_the_order_and_tells_the_operator(
    union: Union, league: UnionLeague, caplog: pytest.LogCaptureFixture
) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    product = (await league.search(SearchQuery(keyword="牛奶", limit=1)))[0]
    await league.promote(product, await league.spots.for_group("room-1@chatroom", "群1"))
    first = union.face.orders()[0]
    union.face.union.amount_quirks[first["orderId"]] = "约¥3"
    league.clock = lambda: datetime.now(UTC) + timedelta(hours=2)
    orders = await league.orders_since(since)
    odd = next(o for o in orders if o.order_id == first["orderId"])
    assert odd.commission_fen == first["productList"][0]["estimatedCommission"]
    assert league.unparsed_amounts == 1
    assert any("约¥3" in r.getMessage() and first["orderId"] in r.getMessage() for r in caplog.records)


async def test_order_info_refreshes_known_orders(union: Union, league: UnionLeague) -> None:
    product = (await league.search(SearchQuery(keyword="口红", limit=1)))[0]
    await league.promote(product, await league.spots.for_group("room-1@chatroom", "群1"))
    ids = [o["orderId"] for o in union.face.orders()]
    refreshed = await league.refresh_orders(ids + ids[:1])
    assert sorted(o.order_id for o in refreshed) == sorted(ids)


# ---- faults ----------------------------------------------------------------------------------------------------


async def test_the_wrong_mini_programs_token_is_an_operator_error_naming_the_credential(union: Union) -> None:
    client = make_client(union, appid="wx_sandbox_org")  # the Channels org account, not a promoter
    lg = UnionLeague(client)
    try:
        with pytest.raises(LeagueConfigError) as caught:
            await lg.search(SearchQuery(keyword="纸巾"))
    finally:
        await lg.aclose()
    text = str(caught.value)
    assert "[leagues.union] appid wx_sandbox_org" in text
    assert "TUIKE_UNION_APPID" in text and "48001" in text
    assert "sandbox" not in text.replace("wx_sandbox_org", "")  # the secret is never shown


async def test_transient_faults_are_retried_and_a_stale_token_refreshed_once(
    union: Union, league: UnionLeague
) -> None:
    await league.categories()
    union.server.state.expire_all_tokens()
    union.server.state.faults.fail_next = [-1, 500, -2]
    products = await league.search(SearchQuery(keyword="猫粮", limit=3))
    assert products
    assert union.calls("product/list") == 5  # expired token, -1, 500, malformed, then the answer


async def test_quota_used_up_serves_cached_results(union: Union, league: UnionLeague) -> None:
    fresh = await league.search(SearchQuery(keyword="充电宝", limit=5))
    league._searches.ttl = 0  # everything is stale now
    union.server.state.reset_faults(quota_exhausted=True)
    assert await league.search(SearchQuery(keyword="充电宝", limit=5)) == fresh
    assert league.degraded
    with pytest.raises(QuotaExhausted):
        await league.search(SearchQuery(keyword="茶叶", limit=5))


def test_union_ids_are_derived_and_distinct_from_channels_ids(union: Union) -> None:
    products = union.server.state.catalogue.products
    ids = {union_product_id(p.product_id) for p in products}
    assert len(ids) == len(products)
    assert not ids & {str(p.product_id) for p in products}


async def test_choose_identity_names_the_spot_after_the_group_and_is_stable(
    union: Union, league: UnionLeague
) -> None:
    pid, tag = await league.choose_named_identity("room-9@chatroom", "周末遛娃群", set())
    assert union.face.union.spots[pid] == f"周末遛娃群#{tag}"
    assert await league.choose_identity("room-9@chatroom", set()) == (pid, tag)
    other = await league.choose_named_identity("room-9@chatroom", "周末遛娃群", {(pid, tag)})
    assert other != (pid, tag)  # a (vanishingly rare) tag clash gets a fresh identity, never a shared one


async def test_selections_by_category_name_for_pushes_planned_in_words(league: UnionLeague) -> None:
    by_name = await league.featured("个护美妆", 5)
    cats = {c.name: c.category_id for c in await league.categories()}
    assert by_name == await league.featured(cats["个护美妆"], 5)
    assert by_name and all(p.category == cats["个护美妆"] for p in by_name)


async def test_an_account_already_full_at_start_still_serves_every_group(union: Union) -> None:
    union.face.union.max_spots = 2
    client = make_client(union)
    await client.spot_add("别的工具建的 1")
    await client.spot_add("别的工具建的 2")
    told: list[str] = []
    spots = UnionSpots(client, notify=told.append)
    try:
        a = await spots.for_group("room-a@chatroom", "A 群")
        b = await spots.for_group("room-b@chatroom", "B 群")
    finally:
        await client.aclose()
    assert a.pid == b.pid and a.pid in union.face.union.spots  # borrowed, never failed
    assert a.tag != b.tag
    assert len(told) == 2 and "已用完" in told[0] and "暂用" in told[1]


async def test_a_spot_deleted_from_the_account_is_replaced_not_fatal(
    union: Union, league: UnionLeague, caplog: pytest.LogCaptureFixture
) -> None:
    product = (await league.search(SearchQuery(keyword="猫粮", limit=1)))[0]
    spot = await league.spots.for_group("room-1@chatroom", "猫奴群")
    client = make_client(union)
    await client.spot_delete(spot.pid, union.face.union.spots[spot.pid])  # the operator deleted it
    await client.aclose()
    link = await league.promote(product, spot)
    assert link.spot.tag == spot.tag and link.spot.pid != spot.pid
    assert union.face.union.spots[link.spot.pid].endswith("#" + spot.tag)
    assert any("已不在账号里" in r.getMessage() for r in caplog.records)
    again = await league.promote(product, spot)  # remembered: no second failed call
    assert again.spot.pid == link.spot.pid
    assert union.calls("product/generate") == 3


async def test_spot_rename_and_delete_and_the_faces_refusals(union: Union) -> None:
    client = make_client(union)
    try:
        pid = (await client.spot_add("旧名字"))["pid"]
        await client.spot_rename(pid, "旧名字", "新名字")
        listed = await client.spot_list()
        assert {"promotionSourcePid": pid, "promotionSourceName": "新名字"} in listed["promotionSourceList"]
        assert listed["total"] == 1 and listed["promotionMaxCnt"] == 100
        with pytest.raises(WechatApiError) as taken:
            await client.spot_add("新名字")
        assert taken.value.errcode == 14007
        with pytest.raises(WechatApiError) as too_long:
            await client.spot_add("名" * 21)
        assert too_long.value.errcode == 40097
        await client.spot_delete(pid, "新名字")
        assert (await client.spot_list())["total"] == 0
        with pytest.raises(WechatApiError) as wrong_method:
            await client.call(PREFIX + "product/list", {"query": "纸巾"})  # POST where GET is wanted
        assert wrong_method.value.errcode == 43001
        with pytest.raises(WechatApiError) as bad_limit:
            await client.call(PREFIX + "product/list", method="GET", query={"limit": "500"})
        assert bad_limit.value.errcode == 40097
    finally:
        await client.aclose()


async def test_a_spot_from_an_earlier_sandbox_run_is_known_again(union: Union) -> None:
    """The real account keeps its spots; the sandbox forgets them with the process but knows its own pids."""
    from tuike_sandbox.union_face import spot_name_of, spot_pid

    old = spot_pid("上次的群#0a1b2c3d")
    assert spot_name_of(old) == "上次的群#0a1b2c3d"
    assert (
        spot_name_of(old[:-1] + "0") is None
        and spot_name_of("oUkIc71zinc2mtlfC7K-NfGJxxNE_328751529") is None
    )
    client = make_client(union)
    lg = UnionLeague(client)
    try:
        product = (await lg.search(SearchQuery(keyword="纸巾", limit=1)))[0]
        link = await lg.promote(product, Spot("union", pid=old, tag="0a1b2c3d"))
    finally:
        await lg.aclose()
    assert link.spot.pid == old
    assert union.face.union.spots[old] == "上次的群#0a1b2c3d"


async def test_a_search_with_no_keyword_shows_the_unions_picks(union: Union, league: UnionLeague) -> None:
    picks = await league.search(SearchQuery(limit=10))
    assert picks == await league.featured("", 10)
    assert union.calls("product/list") == 0 and union.calls("product/select") == 1
