"""ChannelsLeague: wire → domain types over real HTTP, and degraded mode when the quota runs out."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from bot.leagues.answers import StoredAnswers
from bot.leagues.base import LeagueUnavailable, ProductNotFound, SearchQuery, Spot, ratio_of
from bot.leagues.ranking import rank_products
from bot.leagues.wechat.league import ChannelsLeague
from tuike_sandbox.server import SandboxServer

SPOT = Spot("channels", sharer_appid="wx_sharer_demo01")


async def test_search_maps_prices_coupons_and_commission(
    channels_league: ChannelsLeague, sandbox: SandboxServer
) -> None:
    products = await channels_league.search(SearchQuery(keyword="蓝牙耳机", limit=12))
    assert len(products) == 6, "a keyword search looks at six candidates in detail (KEYWORD_CANDIDATES)"
    for p in products:
        wire = sandbox.state.catalogue.product(int(p.product_id))
        assert wire is not None
        assert "蓝牙耳机" in p.title
        assert p.price_fen == min(s.price_fen for s in wire.skus)
        assert isinstance(p.price_fen, int)
        assert p.commission is not None
        assert p.commission.amount_fen == ratio_of(p.price_fen, wire.commission_ratio_ppm)
        assert p.shop_id == wire.shop_appid
        assert len(p.coupons) == len(wire.coupon_ids)
    with_coupon = [p for p in products if p.coupons]
    assert with_coupon
    coupon = with_coupon[0].coupons[0]
    wire_coupon = sandbox.state.catalogue.coupon(coupon.coupon_id)
    assert wire_coupon is not None
    assert coupon.remaining == wire_coupon.total_num - wire_coupon.receive_num
    assert coupon.threshold_fen == wire_coupon.threshold_fen


async def test_exhausted_coupons_are_not_used(
    channels_league: ChannelsLeague, sandbox: SandboxServer
) -> None:
    wire = next(
        c for c in sandbox.state.catalogue.coupons if c.receive_num == c.total_num and c.discount_fee_fen
    )
    product = await channels_league.product(str(wire.product_ids[0]))
    assert product.coupons[0].remaining == 0
    assert product.best_coupon() is None
    assert product.final_price_fen == product.price_fen


async def test_promote_gives_a_link_per_spot(channels_league: ChannelsLeague) -> None:
    (product,) = await channels_league.search(SearchQuery(keyword="洗衣液", limit=1))
    mine = await channels_league.promote(product, SPOT)
    theirs = await channels_league.promote(product, Spot("channels", sharer_appid="wx_sharer_demo02"))
    assert mine.http_short_link.startswith("https://store.weixin.qq.com/shop/a/")
    assert mine.http_short_link != theirs.http_short_link
    assert mine.shop_id == product.shop_id


async def test_unknown_product_and_unknown_link(channels_league: ChannelsLeague) -> None:
    with pytest.raises(ProductNotFound):
        await channels_league.product("12345")
    with pytest.raises(ProductNotFound):
        await channels_league.lookup_link("https://store.weixin.qq.com/shop/a/Unknown123")


async def test_quota_exhausted_serves_from_cache_then_says_unavailable(
    channels_league: ChannelsLeague, sandbox: SandboxServer
) -> None:
    before = await channels_league.search(SearchQuery(keyword="零食", limit=3))
    sandbox.state.reset_faults(quota_exhausted=True)
    channels_league._searches.ttl = 0  # everything is stale now
    channels_league._details.ttl = 0
    after = await channels_league.search(SearchQuery(keyword="零食", limit=3))
    assert [p.product_id for p in after] == [p.product_id for p in before]
    assert channels_league.degraded
    with pytest.raises(LeagueUnavailable):
        await channels_league.search(SearchQuery(keyword="白酒", limit=3))


async def test_categories_lives_and_orders(channels_league: ChannelsLeague, sandbox: SandboxServer) -> None:
    categories = await channels_league.categories()
    tops = {c.name for c in categories if c.level == 1}
    assert len(tops) >= 10
    assert any(c.parent_id == "11099070301657575487" for c in categories)
    featured = await channels_league.featured("11099070301657575487", 5)
    assert len(featured) == 5
    talents = [t.talent_appid for t in sandbox.state.catalogue.talents]
    lives = await channels_league.lives(talents, SPOT)
    now = datetime.now(UTC)
    upcoming = [lv for lv in lives if not lv.is_live and lv.start_time and lv.start_time > now]
    assert any((lv.start_time - now).total_seconds() < 90 * 60 for lv in upcoming if lv.start_time)
    assert any(lv.is_live and lv.share_link for lv in lives)
    product = featured[0]
    await channels_league.promote(product, SPOT)
    orders = await channels_league.orders_since(datetime(2020, 1, 1, tzinfo=UTC))
    assert orders
    assert all(o.sharer_appid == "wx_sharer_demo01" for o in orders)
    assert all(o.product_id == product.product_id for o in orders)
    assert orders[0].commission_fen == ratio_of(
        orders[0].paid_fen, sandbox.state.catalogue.product(int(product.product_id)).commission_ratio_ppm
    )  # type: ignore[union-attr]


async def test_a_keyword_search_fetches_details_for_six_candidates_a_category_for_all(
    channels_league: ChannelsLeague, sandbox: SandboxServer
) -> None:
    detail = "/channels/ec/promoter/get_promote_product_detail"
    before = sandbox.state.calls[detail]
    await channels_league.search(SearchQuery(keyword="纸巾", limit=12))
    assert sandbox.state.calls[detail] - before == 6
    sizes = Counter(p.category_id for p in sandbox.state.catalogue.products)
    category, size = sizes.most_common(1)[0]
    assert size >= 12
    before = sandbox.state.calls[detail]
    featured = await channels_league.featured(category, 12)
    assert len(featured) == 12 and sandbox.state.calls[detail] - before == 12, (
        "the push ranks all it asks for"
    )


async def test_a_ranked_search_fetches_coupons_only_for_the_products_it_will_show(
    channels_league: ChannelsLeague, sandbox: SandboxServer
) -> None:
    """`tuike search 蓝牙耳机 --limit 3` made 9.4 league calls where 5.6 would do: details and coupons of
    five candidates to show three. Now one spare detail, and coupons only for the three shown."""
    detail, coupon = (
        "/channels/ec/promoter/get_promote_product_detail",
        "/channels/ec/promoter/get_coupon_detail",
    )
    catalogue = sandbox.state.catalogue
    for keyword in ("洗衣液", "牛奶", "口红"):
        details, coupons = sandbox.state.calls[detail], sandbox.state.calls[coupon]
        found = await channels_league.search(
            SearchQuery(keyword=keyword, limit=12, shown=3, rank_by="weighted")
        )
        shown = rank_products(found, "weighted", keyword)[:3]
        assert {p.product_id for p in shown} == {p.product_id for p in found[:3]}, "the shown come first"
        wires = [catalogue.product(int(p.product_id)) for p in shown]
        assert all(
            w is not None and len(p.coupons) == len(w.coupon_ids) for p, w in zip(shown, wires, strict=True)
        )
        assert sandbox.state.calls[detail] - details == 4, "three shown and one spare"
        assert sandbox.state.calls[coupon] - coupons == sum(len(w.coupon_ids) for w in wires if w)


async def test_details_are_kept_in_the_store_across_a_restart(
    channels_league: ChannelsLeague, sandbox: SandboxServer, engine: Engine
) -> None:
    """A fresh league on the same store asks the league for nothing it fetched an hour ago."""
    first = ChannelsLeague(channels_league.client, answers=StoredAnswers(engine, "channels"))
    found = await first.search(SearchQuery(keyword="牛奶", limit=12))
    calls = sum(sandbox.state.calls.values())
    again = ChannelsLeague(channels_league.client, answers=StoredAnswers(engine, "channels"))
    for p in found:
        assert await again.product(p.product_id, p.shop_id) == p
    assert sum(sandbox.state.calls.values()) == calls, "no detail or coupon asked again"
