"""The JD client against the sandbox's JOS face over real HTTP on 127.0.0.1: signing, both response
layers, every method, paging, order windows and the error cases a member or operator would notice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.leagues.base import LeagueConfigError, ProductNotFound
from bot.leagues.jd import errors
from bot.leagues.jd.client import JdClient
from bot.leagues.jd.money import percent_to_ppm, yuan_to_fen
from bot.leagues.jd.signing import param_json, sign, timestamp
from tuike_sandbox.catalogue import build_catalogue
from tuike_sandbox.http import HttpServer
from tuike_sandbox.jd_face import (
    DEFAULT_APP_KEY,
    DEFAULT_APP_SECRET,
    OPEN_APIS,
    WEBSITE_SITE_ID,
    JdFace,
    jd_sku,
)


@pytest.fixture
async def jd_face() -> AsyncIterator[tuple[JdFace, str]]:
    face = JdFace(build_catalogue())
    server = HttpServer(face)
    await server.start()
    yield face, f"http://127.0.0.1:{server.port}/routerjson"
    await server.close()


@pytest.fixture
async def jd(jd_face: tuple[JdFace, str]) -> AsyncIterator[JdClient]:
    client = JdClient(jd_face[1], DEFAULT_APP_KEY, DEFAULT_APP_SECRET, backoff=0.001, timeout=2)
    yield client
    await client.aclose()


def _promotable(face: JdFace, *, coupon: bool | None = None):  # type: ignore[no-untyped-def]
    for p in face.catalogue.products:
        if face.promotable(p) and face.share_percent(p) > 0:
            has = bool(p.coupon_ids)
            if coupon is None or has == coupon:
                return p
    raise AssertionError("catalogue has no such product")


# -- signing and money ------------------------------------------------------------------------------


def test_signature_matches_the_reference_vector() -> None:
    business = param_json({"goodsReqDTO": {"keyword": "手机", "pageIndex": 1, "pageSize": 10}})
    assert business == '{"goodsReqDTO":{"keyword":"手机","pageIndex":1,"pageSize":10}}'
    params = {
        "app_key": "testappkey",
        "method": "jd.union.open.goods.query",
        "timestamp": "2024-01-01 12:00:00",
        "format": "json",
        "v": "1.0",
        "sign_method": "md5",
        "360buy_param_json": business,
    }
    assert sign(params, "testsecret") == "F9417CE442C77CA581B0F124E434A15B"
    assert sign({**params, "access_token": ""}, "testsecret") == "F9417CE442C77CA581B0F124E434A15B"


def test_timestamp_is_beijing_time() -> None:
    noon_utc = datetime(2024, 1, 1, 4, 0, tzinfo=UTC).timestamp()
    assert timestamp(noon_utc) == "2024-01-01 12:00:00"


@pytest.mark.parametrize(
    ("yuan", "fen"),
    [
        (Decimal("99.9"), 9990),
        (99.9, 9990),
        ("99.9", 9990),
        (19.99, 1999),  # float 19.99 * 100 is 1998.9999999999998
        (0.1 + 0.2, 30),  # 0.30000000000000004
        (1.1 + 2.2, 330),  # 3.3000000000000003
        (0.07, 7),  # 0.07 * 100 is 7.000000000000001
        (Decimal("0.005"), 1),
        (2999, 299900),
        (None, 0),
        ("", 0),
    ],
)
def test_yuan_becomes_exact_fen(yuan: object, fen: int) -> None:
    assert yuan_to_fen(yuan) == fen  # type: ignore[arg-type]


def test_percent_becomes_ppm() -> None:
    assert percent_to_ppm(Decimal("10.5")) == 105_000
    assert percent_to_ppm(0.1 + 0.2) == 3_000
    with pytest.raises(ValueError, match="not a"):
        yuan_to_fen("abc")


# -- transport and errors ---------------------------------------------------------------------------


async def test_wrong_secret_is_refused_like_the_gateway(jd_face: tuple[JdFace, str]) -> None:
    client = JdClient(jd_face[1], DEFAULT_APP_KEY, "not-the-secret", backoff=0.001)
    try:
        with pytest.raises(LeagueConfigError, match="app_secret"):
            await client.goods_query(keyword="蓝牙耳机")
    finally:
        await client.aclose()


async def test_unknown_app_key_tells_the_operator(jd_face: tuple[JdFace, str]) -> None:
    client = JdClient(jd_face[1], "nobody", DEFAULT_APP_SECRET, backoff=0.001)
    try:
        with pytest.raises(LeagueConfigError, match="TUIKE_JD_APP_KEY"):
            await client.goods_query(keyword="蓝牙耳机")
    finally:
        await client.aclose()


async def test_a_clock_off_by_a_quarter_hour_is_refused(jd_face: tuple[JdFace, str]) -> None:
    import time

    client = JdClient(
        jd_face[1], DEFAULT_APP_KEY, DEFAULT_APP_SECRET, backoff=0.001, clock=lambda: time.time() - 900
    )
    try:
        with pytest.raises(LeagueConfigError, match="时间"):
            await client.goods_query(keyword="蓝牙耳机")
    finally:
        await client.aclose()


async def test_inner_result_as_string_or_object(jd: JdClient, jd_face: tuple[JdFace, str]) -> None:
    as_string = await jd.goods_query(keyword="蓝牙耳机", page_size=5)
    jd_face[0].faults.inner_as_object = True
    as_object = await jd.goods_query(keyword="蓝牙耳机", page_size=5)
    assert as_string["data"]
    assert [(i["skuId"], i["priceInfo"]) for i in as_string["data"]] == [
        (i["skuId"], i["priceInfo"]) for i in as_object["data"]
    ]
    assert isinstance(as_string["data"][0]["priceInfo"]["price"], Decimal), "yuan arrive as exact decimals"


async def test_transient_faults_are_retried(jd: JdClient, jd_face: tuple[JdFace, str]) -> None:
    face = jd_face[0]
    face.faults.fail_next = ["500", "malformed", "throttle", "busy"]
    data = await jd.goods_query(keyword="蓝牙耳机")
    assert data["data"]
    assert face.calls["jd.union.open.goods.query"] == 5


async def test_rate_limit_that_lasts_makes_the_league_unavailable(
    jd: JdClient, jd_face: tuple[JdFace, str]
) -> None:
    jd_face[0].faults.fail_next = ["throttle"] * 10
    with pytest.raises(errors.JdRetriesExhausted):
        await jd.goods_query(keyword="蓝牙耳机")


async def test_an_api_not_applied_for_names_the_api(jd_face: tuple[JdFace, str]) -> None:
    face, url = jd_face
    face.register_app("fresh_app", "fresh_secret", apis=OPEN_APIS)
    client = JdClient(url, "fresh_app", "fresh_secret", backoff=0.001)
    p = _promotable(face)
    try:
        with pytest.raises(LeagueConfigError, match=r"jd\.union\.open\.promotion\.bysubunionid\.get"):
            await client.promotion_by_subunionid(f"https://item.jd.com/{jd_sku(p.product_id)}.html")
    finally:
        await client.aclose()


# -- goods ------------------------------------------------------------------------------------------


async def test_keyword_search_pages_without_repeats(jd: JdClient) -> None:
    first = await jd.goods_query(keyword="蓝牙耳机", page_size=4)
    total = first["totalCount"]
    assert total > 4
    seen = [i["skuId"] for i in first["data"]]
    page = 2
    while len(seen) < total:
        data = await jd.goods_query(keyword="蓝牙耳机", page_index=page, page_size=4)
        assert data["data"], "every page up to totalCount has items"
        seen += [i["skuId"] for i in data["data"]]
        page += 1
    assert len(seen) == len(set(seen)) == total
    assert all(len(str(s)) == 12 for s in seen), "JD skuIds"


async def test_page_size_over_thirty_is_refused(jd: JdClient) -> None:
    with pytest.raises(errors.JdApiError, match="400"):
        await jd.call(
            "jd.union.open.goods.query", {"goodsReqDTO": {"keyword": "耳机", "pageSize": 31}}, "queryResult"
        )


async def test_items_carry_yuan_prices_percent_commission_and_coupons(
    jd: JdClient, jd_face: tuple[JdFace, str]
) -> None:
    face = jd_face[0]
    p = _promotable(face, coupon=True)
    sku = jd_sku(p.product_id)
    data = await jd.goods_query(sku_ids=[sku])
    [item] = data["data"]
    assert item["skuName"] == p.title
    assert yuan_to_fen(item["priceInfo"]["price"]) == min(s.price_fen for s in p.skus)
    assert percent_to_ppm(item["commissionInfo"]["commissionShare"]) == p.commission_ratio_ppm
    assert item["couponInfo"]["couponList"], "the catalogue's coupon shows up as a JD coupon"
    assert item["owner"] in ("g", "p")


async def test_sort_by_price_and_coupon_filter(jd: JdClient) -> None:
    data = await jd.goods_query(keyword="耳机", sort_name="price", sort="asc", page_size=30)
    prices = [i["priceInfo"]["lowestCouponPrice"] for i in data["data"]]
    assert prices == sorted(prices)
    with_coupon = await jd.goods_query(keyword="耳机", is_coupon=True, page_size=30)
    assert with_coupon["totalCount"] < data["totalCount"]
    assert all(i["couponInfo"]["couponList"] for i in with_coupon["data"])


async def test_jingfen_selections(jd: JdClient) -> None:
    good_coupons = await jd.jingfen_query(1, page_size=10)
    assert len(good_coupons["data"]) == 10
    assert all(i["couponInfo"]["couponList"] for i in good_coupons["data"])
    cheap = await jd.jingfen_query(10, page_size=50)
    assert all(yuan_to_fen(i["priceInfo"]["lowestCouponPrice"]) <= 990 for i in cheap["data"])
    with pytest.raises(errors.JdApiError, match="eliteId"):
        await jd.jingfen_query(999)


# -- links ------------------------------------------------------------------------------------------


async def test_social_link_per_sub_union_id(jd: JdClient, jd_face: tuple[JdFace, str]) -> None:
    face = jd_face[0]
    p = _promotable(face)
    url = f"https://item.jd.com/{jd_sku(p.product_id)}.html"
    ours = await jd.promotion_by_subunionid(url, sub_union_id="g_abc123", position_id="3001")
    theirs = await jd.promotion_by_subunionid(url, sub_union_id="someone_else")
    assert ours["shortURL"].startswith("https://u.jd.com/")
    assert ours["clickURL"].startswith("https://union-click.jd.com/jdc?")
    assert "3.cn/" in ours["jCommand"]
    assert ours["shortURL"] != theirs["shortURL"], "each group gets its own link"
    again = await jd.promotion_by_subunionid(theirs["shortURL"], sub_union_id="g_abc123", position_id="3001")
    assert again["shortURL"] == ours["shortURL"], "someone else's link converts to ours"


async def test_bad_sub_union_id_and_non_union_items(jd: JdClient, jd_face: tuple[JdFace, str]) -> None:
    face = jd_face[0]
    p = _promotable(face)
    url = f"https://item.jd.com/{jd_sku(p.product_id)}.html"
    with pytest.raises(errors.JdApiError, match="subUnionId"):
        await jd.promotion_by_subunionid(url, sub_union_id="有中文")
    with pytest.raises(ProductNotFound):
        await jd.promotion_by_subunionid("https://item.jd.com/100000000001.html")
    with pytest.raises(ProductNotFound):
        await jd.promotion_by_subunionid("https://u.jd.com/NotOurs")
    no_commission = next(q for q in face.catalogue.products if face.promotable(q) and q.plan_type == 1)
    with pytest.raises(errors.JdNotPromotable, match="佣金"):
        await jd.promotion_by_subunionid(f"https://item.jd.com/{jd_sku(no_commission.product_id)}.html")


async def test_expired_coupon_link_is_refused(jd: JdClient, jd_face: tuple[JdFace, str]) -> None:
    face = jd_face[0]
    for p in face.catalogue.products:
        if not (face.promotable(p) and face.share_percent(p) > 0):
            continue
        coupons = [c for c in (face.catalogue.coupon(cid) for cid in p.coupon_ids) if c]
        expired = [c for c in coupons if face.coupon_expired(c)]
        if expired:
            break
    else:
        raise AssertionError("no expired coupon in the catalogue")
    data = await jd.goods_query(sku_ids=[jd_sku(p.product_id)])
    links = [c["link"] for c in data["data"][0]["couponInfo"]["couponList"]]
    link = next(lk for lk in links if expired[0].coupon_id in lk)
    with pytest.raises(errors.JdCouponRefused):
        await jd.promotion_by_subunionid(
            f"https://item.jd.com/{jd_sku(p.product_id)}.html", sub_union_id="g1", coupon_url=link
        )


async def test_common_get_needs_a_website_site(jd: JdClient, jd_face: tuple[JdFace, str]) -> None:
    p = _promotable(jd_face[0])
    url = f"https://item.jd.com/{jd_sku(p.product_id)}.html"
    data = await jd.promotion_common(url, site_id=WEBSITE_SITE_ID, position_id="3001", sub_union_id="g1")
    assert data["clickURL"].startswith("https://union-click.jd.com/")
    with pytest.raises(LeagueConfigError, match="site_id"):
        await jd.promotion_common(url, site_id="4000123456")


# -- orders -----------------------------------------------------------------------------------------


async def test_orders_for_issued_links_by_hour_windows(jd_face: tuple[JdFace, str]) -> None:
    face, url = jd_face
    now = [datetime(2026, 3, 1, 10, 0, tzinfo=UTC).timestamp()]
    face.clock = lambda: now[0]
    client = JdClient(url, DEFAULT_APP_KEY, DEFAULT_APP_SECRET, backoff=0.001, clock=lambda: now[0])
    try:
        products = [p for p in face.catalogue.products if face.promotable(p) and face.share_percent(p) > 0]
        for n, p in enumerate(products[:12]):
            now[0] += 600 * n  # links spread over several hours
            await client.promotion_by_subunionid(
                f"https://item.jd.com/{jd_sku(p.product_id)}.html", sub_union_id=f"g{n % 3}", position_id="77"
            )
        now[0] += 7200
        start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
        rows = [row async for row in client.orders(start, datetime.fromtimestamp(now[0], UTC), page_size=2)]
        expected = face.orders()
        assert len(rows) == len(expected) > 12
        assert {r["id"] for r in rows} == {o["id"] for o in expected}
        assert {r["subUnionId"] for r in rows} == {"g0", "g1", "g2"}, "orders carry the group's subUnionId"
        assert all(r["positionId"] == 77 for r in rows)
        assert face.calls["jd.union.open.order.row.query"] > 10, "hour windows and pages"
        with pytest.raises(errors.JdApiError, match="1 小时"):
            await client.order_rows(start, start + timedelta(hours=2))
    finally:
        await client.aclose()


async def test_items_map_to_products_in_exact_fen(jd: JdClient, jd_face: tuple[JdFace, str]) -> None:
    from bot.leagues.jd.mapping import product_from_item

    face = jd_face[0]
    checked = 0
    for p in face.catalogue.products[:120]:
        if not face.promotable(p):
            continue
        [item] = (await jd.goods_query(sku_ids=[jd_sku(p.product_id)]))["data"]
        product = product_from_item(item, datetime.now(UTC))
        assert product.platform == "jd" and product.product_id == str(jd_sku(p.product_id))
        assert product.price_fen == min(s.price_fen for s in p.skus), "yuan floats become exact fen"
        assert product.commission is not None
        assert product.commission.ratio_ppm == (0 if p.plan_type == 1 else p.commission_ratio_ppm)
        expired = [
            c for c in (face.catalogue.coupon(i) for i in p.coupon_ids) if c and face.coupon_expired(c)
        ]
        assert len(product.coupons) == len(p.coupon_ids) - len(expired), "expired coupons are dropped"
        checked += 1
    assert checked > 100


async def test_a_slow_gateway_is_given_up_within_the_callers_budget(
    jd: JdClient, jd_face: tuple[JdFace, str]
) -> None:
    from bot.leagues.budget import budget

    jd_face[0].faults.latency_s = 1.0
    with budget(0.3), pytest.raises(errors.JdRetriesExhausted, match=r"budget|no time"):
        await jd.goods_query(keyword="蓝牙耳机")
    assert jd_face[0].calls["jd.union.open.goods.query"] == 1, "no retry started past the deadline"
