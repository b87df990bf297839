"""JdLeague and PddLeague (the `League` protocol) against the sandbox faces over real HTTP: search,
someone else's link made ours, per-group identities, orders mapped back by the identity they carry."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.leagues.base import NotPromotable, ProductNotFound, SearchQuery, Spot
from bot.leagues.jd.client import JdClient
from bot.leagues.jd.league import JdLeague, sub_union_id
from bot.leagues.pdd.client import PddClient
from bot.leagues.pdd.errors import PddNotRegistered
from bot.leagues.pdd.league import PddLeague
from tuike_sandbox.catalogue import build_catalogue
from tuike_sandbox.http import HttpServer
from tuike_sandbox.jd_face import DEFAULT_APP_KEY, DEFAULT_APP_SECRET, JdFace, jd_sku
from tuike_sandbox.pdd_face import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PID,
    PddFace,
    goods_id,
    goods_sign,
)


@pytest.fixture
async def jd_setup() -> AsyncIterator[tuple[JdFace, JdLeague]]:
    face = JdFace(build_catalogue())
    server = HttpServer(face)
    await server.start()
    client = JdClient(
        f"http://127.0.0.1:{server.port}/routerjson", DEFAULT_APP_KEY, DEFAULT_APP_SECRET, backoff=0.001
    )
    league = JdLeague(client, position_id="3003")
    yield face, league
    await league.aclose()
    await server.close()


@pytest.fixture
async def pdd_setup() -> AsyncIterator[tuple[PddFace, PddLeague]]:
    face = PddFace(build_catalogue())
    server = HttpServer(face)
    await server.start()
    client = PddClient(
        f"http://127.0.0.1:{server.port}/api/router", DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, backoff=0.001
    )
    league = PddLeague(client, pid=DEFAULT_PID)
    yield face, league
    await league.aclose()
    await server.close()


# -- JD ---------------------------------------------------------------------------------------------


async def test_jd_search_gives_fen_products_with_coupons(jd_setup: tuple[JdFace, JdLeague]) -> None:
    face, league = jd_setup
    products = await league.search(SearchQuery(keyword="空气炸锅", limit=8))
    assert products and all(p.platform == "jd" for p in products)
    for p in products:
        sandbox = face.product(p.product_id)
        assert sandbox is not None and p.price_fen == min(s.price_fen for s in sandbox.skus)
    cheap = await league.search(SearchQuery(keyword="空气炸锅", limit=30, max_price_fen=30000))
    assert all(p.final_price_fen <= 30000 for p in cheap)


async def test_jd_someone_elses_link_becomes_the_groups(jd_setup: tuple[JdFace, JdLeague]) -> None:
    face, league = jd_setup
    p = next(q for q in face.catalogue.products if face.promotable(q) and face.share_percent(q) > 0)
    sku = jd_sku(p.product_id)
    theirs = face.issue_link(sku, "stranger_7", "999", "4000999999", "")
    pid, tag = await league.choose_identity("room1@chatroom", set())
    ours = Spot("jd", pid=pid, tag=tag)
    assert ours == Spot("jd", pid="3003", tag=sub_union_id("room1@chatroom"))
    product = await league.lookup_link(f"https://u.jd.com/{theirs.token}")
    assert product.product_id == str(sku)
    link = await league.promote(product, ours)
    assert link.best_url.startswith("https://u.jd.com/") and theirs.token not in link.best_url
    assert link.code, "a 京口令 to copy"
    issued = face.links[link.best_url.rsplit("/", 1)[-1]]
    assert (issued.sub_union_id, issued.position_id) == (ours.tag, "3003")


async def test_jd_identity_is_stable_and_distinct(jd_setup: tuple[JdFace, JdLeague]) -> None:
    _, league = jd_setup
    a = await league.choose_identity("a@chatroom", set())
    assert a == await league.choose_identity("a@chatroom", set())
    assert a != await league.choose_identity("b@chatroom", set())
    assert await league.choose_identity("a@chatroom", {a}) != a


async def test_jd_not_promotable_items(jd_setup: tuple[JdFace, JdLeague]) -> None:
    face, league = jd_setup
    no_commission = next(q for q in face.catalogue.products if face.promotable(q) and q.plan_type == 1)
    with pytest.raises(NotPromotable) as refused:
        await league.product(str(jd_sku(no_commission.product_id)))
    assert refused.value.reason == "not_alliance"
    with pytest.raises(ProductNotFound):
        await league.product("100000000001")
    with pytest.raises(ProductNotFound):
        await league.lookup_link("https://u.jd.com/NoSuch1")


async def test_jd_expired_coupon_falls_back_to_a_plain_link(jd_setup: tuple[JdFace, JdLeague]) -> None:
    face, league = jd_setup
    p = next(q for q in face.catalogue.products if face.promotable(q) and face.share_percent(q) > 0)
    product = await league.product(str(jd_sku(p.product_id)))
    from dataclasses import replace

    from bot.leagues.base import Coupon

    stale = Coupon("https://coupon.m.jd.com/coupons/show.action?key=x&roleId=1", amount_fen=500)
    link = await league.promote(replace(product, coupons=(stale,)), Spot("jd", pid="3003", tag="tk_1"))
    assert link.best_url.startswith("https://u.jd.com/")


async def test_jd_orders_carry_the_groups_sub_union_id(jd_setup: tuple[JdFace, JdLeague]) -> None:
    face, league = jd_setup
    start = datetime.now(UTC) - timedelta(minutes=5)
    face.clock = lambda: (datetime.now(UTC) - timedelta(minutes=4)).timestamp()
    products = await league.search(SearchQuery(keyword="耳机", limit=6))
    for i, product in enumerate(products):
        await league.promote(product, Spot("jd", pid="3003", tag=f"tk_group{i % 2}"))
    orders = await league.orders_since(start)
    assert len(orders) >= len(products)
    assert {o.tag for o in orders} == {"tk_group0", "tk_group1"}
    assert all(o.pid == "3003" and o.paid_fen > 0 for o in orders)
    assert {o.status for o in orders} <= {"pending", "settled", "cancelled"}


async def test_jd_featured_for_pushes(jd_setup: tuple[JdFace, JdLeague]) -> None:
    _, league = jd_setup
    picks = await league.featured("", 10)
    assert len(picks) == 10 and len({p.product_id for p in picks}) == 10


# -- PDD --------------------------------------------------------------------------------------------


async def test_pdd_search_and_pasted_links(pdd_setup: tuple[PddFace, PddLeague]) -> None:
    face, league = pdd_setup
    products = await league.search(SearchQuery(keyword="空气炸锅", limit=5))
    assert products and all(p.platform == "pdd" for p in products)
    p = next(q for q in face.catalogue.products if face.on_jinbao(q))
    by_id = await league.product(str(goods_id(p.product_id)))
    by_sign = await league.product(goods_sign(p.product_id))
    assert by_id.product_id == by_sign.product_id == goods_sign(p.product_id)


async def test_pdd_each_group_gets_a_pid_and_someone_elses_link_becomes_ours(
    pdd_setup: tuple[PddFace, PddLeague],
) -> None:
    face, league = pdd_setup
    pid, tag = await league.choose_identity("room1@chatroom", set())
    assert pid != DEFAULT_PID and json.loads(tag)["uid"]
    spot = Spot("pdd", pid=pid, tag=tag)
    p = next(q for q in face.catalogue.products if face.on_jinbao(q))
    theirs = face.issue_link(p, DEFAULT_PID, '{"uid":"someone"}')
    pasted = f"https://p.pinduoduo.com/{theirs.token}"
    product = await league.lookup_link(pasted)
    link = await league.promote(product, spot)
    assert link.best_url.startswith("https://p.pinduoduo.com/") and theirs.token not in link.best_url
    issued = face.links[link.best_url.rsplit("/", 1)[-1]]
    assert (issued.pid, issued.custom_parameters) == (pid, tag)
    assert face.calls["pdd.ddk.goods.zs.unit.url.gen"] == 1, "a pasted 进宝 link is converted as such"
    plain = await league.promote(await league.product(goods_sign(p.product_id)), spot)
    assert plain.mini_path, "the mini-program path where PDD gives one"


async def test_pdd_goods_that_left_jinbao(pdd_setup: tuple[PddFace, PddLeague]) -> None:
    face, league = pdd_setup
    gone = next(q for q in face.catalogue.products if not face.on_jinbao(q))
    with pytest.raises(NotPromotable):
        await league.product(goods_sign(gone.product_id))
    with pytest.raises(ProductNotFound):
        await league.lookup_link("https://p.pinduoduo.com/NoSuchOne")


async def test_pdd_unregistered_pid_is_an_operator_error(pdd_setup: tuple[PddFace, PddLeague]) -> None:
    face, league = pdd_setup
    face.members[DEFAULT_CLIENT_ID].bind_new_pids = False
    pid, tag = await league.choose_identity("new@chatroom", set())
    p = await league.product(
        goods_sign(next(q for q in face.catalogue.products if face.on_jinbao(q)).product_id)
    )
    with pytest.raises(PddNotRegistered, match="tuike pdd register"):
        await league.promote(p, Spot("pdd", pid=pid, tag=tag))
    assert not await league.is_registered(pid)
    link = await league.registration_link(pid)
    face.open_registration(link.rsplit("=", 1)[-1])
    assert await league.is_registered(pid)
    assert (await league.promote(p, Spot("pdd", pid=pid, tag=tag))).best_url


async def test_pdd_orders_map_back_by_pid_and_custom_parameters(pdd_setup: tuple[PddFace, PddLeague]) -> None:
    face, league = pdd_setup
    start = datetime.now(UTC) - timedelta(minutes=5)
    face.clock = lambda: (datetime.now(UTC) - timedelta(minutes=4)).timestamp()
    spots = []
    for i in range(2):
        pid, tag = await league.choose_identity(f"g{i}@chatroom", set())
        spots.append(Spot("pdd", pid=pid, tag=tag))
    for i, product in enumerate(await league.search(SearchQuery(keyword="耳机", limit=6))):
        await league.promote(product, spots[i % 2])
    orders = await league.orders_since(start)
    assert {(o.pid, o.tag) for o in orders} == {(s.pid, s.tag) for s in spots}
    assert all(isinstance(o.paid_fen, int) and o.paid_fen > 0 for o in orders)


async def test_jd_self_operated_and_pdd_prices_for_the_copy(
    jd_setup: tuple[JdFace, JdLeague], pdd_setup: tuple[PddFace, PddLeague]
) -> None:
    jd_face, jd = jd_setup
    items = await jd.search(SearchQuery(keyword="耳机", limit=30))
    for p in items:
        sandbox = jd_face.product(p.product_id)
        assert sandbox is not None
        assert ("京东自营" in p.badges) == jd_face.self_operated(sandbox)
    assert any(p.badges for p in items) and not all(p.badges for p in items)
    _, pdd = pdd_setup
    for p in await pdd.search(SearchQuery(keyword="耳机", limit=10)):
        assert p.list_price_fen > p.price_fen, "单买价 above the 拼团价"


async def test_links_from_an_earlier_sandbox_run_still_resolve(
    jd_setup: tuple[JdFace, JdLeague], pdd_setup: tuple[PddFace, PddLeague]
) -> None:
    jd_face, jd = jd_setup
    p = next(q for q in jd_face.catalogue.products if jd_face.promotable(q) and jd_face.share_percent(q) > 0)
    old = JdFace(jd_face.catalogue).issue_link(jd_sku(p.product_id), "old_run", "1", "2", "")
    assert (await jd.lookup_link(f"https://u.jd.com/{old.token}")).product_id == str(jd_sku(p.product_id))
    pdd_face, pdd = pdd_setup
    q = next(g for g in pdd_face.catalogue.products if pdd_face.on_jinbao(g))
    earlier = PddFace(pdd_face.catalogue).issue_link(q, DEFAULT_PID, "")
    found = await pdd.lookup_link(f"https://p.pinduoduo.com/{earlier.token}")
    assert found.product_id == goods_sign(q.product_id)


async def test_jd_jingfen_item_links_resolve(jd_setup: tuple[JdFace, JdLeague]) -> None:
    face, league = jd_setup
    p = next(q for q in face.catalogue.products if face.promotable(q) and face.share_percent(q) > 0)
    found = await league.lookup_link(f"https://jingfen.jd.com/detail/{face.item_id(p)}.html")
    assert found.product_id == str(jd_sku(p.product_id))
