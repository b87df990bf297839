"""The Vipshop union client against the sandbox's vop face over real HTTP on 127.0.0.1: signing (the
reference's vectors and what goes on the wire), every method, paging, order windows, and the errors an
operator or member notices."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import httpx
import pytest

from bot.leagues.base import LeagueConfigError, LeagueUnavailable
from bot.leagues.vip import errors
from bot.leagues.vip.client import VipClient
from bot.leagues.vip.signing import body_json, sign, sign_base
from tuike_sandbox.catalogue import build_catalogue
from tuike_sandbox.http import HttpServer
from tuike_sandbox.vip_face import DEFAULT_APP_KEY, DEFAULT_APP_SECRET, VipFace, goods_id

REFERENCE_SECRET = "0123456789ABCDEF0123456789ABCDEF"
REFERENCE_SYSTEM = {
    "appKey": "testkey1",
    "format": "json",
    "method": "query",
    "service": "com.vip.adp.api.open.service.UnionGoodsService",
    "timestamp": "1700000000",
    "version": "1.0.0",
}
REFERENCE_BODY = {"request": {"keyword": "运动鞋", "page": 1, "pageSize": 20, "requestId": "req-0001"}}


@pytest.fixture
async def vip_face() -> AsyncIterator[tuple[VipFace, str]]:
    face = VipFace(build_catalogue())
    server = HttpServer(face)
    await server.start()
    yield face, f"http://127.0.0.1:{server.port}/vop"
    await server.close()


@pytest.fixture
async def vip(vip_face: tuple[VipFace, str]) -> AsyncIterator[VipClient]:
    client = VipClient(vip_face[1], DEFAULT_APP_KEY, DEFAULT_APP_SECRET, backoff=0.001, timeout=2)
    yield client
    await client.aclose()


def _union_goods(face: VipFace, *, coupon: bool = False):  # type: ignore[no-untyped-def]
    return next(
        p
        for p in face.catalogue.products
        if face.on_union(p)
        and face.on_shelf(p)
        and not face.sold_out(p)
        and (not coupon or face.best_coupon(p))
    )


# -- signing ----------------------------------------------------------------------------------------


def test_signature_matches_the_reference_vectors() -> None:
    body = body_json(REFERENCE_BODY)
    assert body == '{"request":{"keyword":"运动鞋","page":1,"pageSize":20,"requestId":"req-0001"}}'
    assert sign_base(REFERENCE_SYSTEM, body).startswith(
        "appKeytestkey1formatjsonmethodqueryservicecom.vip.adp.api.open.service.UnionGoodsService"
        "timestamp1700000000version1.0.0{"
    )
    assert sign(REFERENCE_SYSTEM, body, REFERENCE_SECRET) == "7314F27A68B0223B8D4C113262E260D3"
    with_token = {**REFERENCE_SYSTEM, "accessToken": "TOKEN123", "method": "queryWithOauth"}
    assert sign(with_token, body, REFERENCE_SECRET) == "C80849CE97CDD032C4854589CA85C466"


def test_our_own_vector_sign_and_empty_values_are_left_out() -> None:
    system = {"appKey": "k", "format": "json", "method": "genPid", "timestamp": "1", "version": "1.0.0"}
    body = '{"pidGenRequest":{"pidNameList":["群"],"requestId":"r"}}'
    expected = hmac.new(
        b"s", ("appKeykformatjsonmethodgenPidtimestamp1version1.0.0" + body).encode(), hashlib.md5
    )
    assert sign(system, body, "s") == expected.hexdigest().upper() == "92C3D1CDD31462727A4E5E075BDA0FA3"
    assert sign({**system, "accessToken": "", "sign": "X"}, body, "s") == sign(system, body, "s")


async def test_system_parameters_in_the_query_and_the_signed_body_as_sent(
    vip_face: tuple[VipFace, str],
) -> None:
    seen: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        seen.append(request)

    client = VipClient(vip_face[1], DEFAULT_APP_KEY, DEFAULT_APP_SECRET, access_token="", backoff=0.001)
    client.http.event_hooks["request"] = [record]
    try:
        await client.goods_query("连衣裙")
    finally:
        await client.aclose()
    [request] = seen
    query = dict(parse_qsl(request.url.query.decode()))
    assert set(query) == {"service", "method", "version", "timestamp", "format", "appKey", "sign"}
    assert query["service"] == "com.vip.adp.api.open.service.UnionGoodsService" and query["method"] == "query"
    assert query["timestamp"].isdigit() and len(query["timestamp"]) == 10, "Unix seconds"
    assert request.headers["content-type"].startswith("application/json")
    body = request.content.decode()
    assert json.loads(body)["request"]["keyword"] == "连衣裙"
    unsigned = {k: v for k, v in query.items() if k != "sign"}
    recomputed = hmac.new(
        DEFAULT_APP_SECRET.encode(),
        ("".join(k + v for k, v in sorted(unsigned.items())) + body).encode(),
        hashlib.md5,
    )
    assert query["sign"] == recomputed.hexdigest().upper()
    assert vip_face[0].bodies[-1] == request.content, "the signed bytes are the sent bytes"


async def test_the_face_refuses_a_tampered_body(vip: VipClient, vip_face: tuple[VipFace, str]) -> None:
    body = body_json({"request": {"keyword": "连衣裙", "page": 1, "pageSize": 10, "requestId": "r1"}})
    query = vip.system_params("com.vip.adp.api.open.service.UnionGoodsService", "query", body)
    async with httpx.AsyncClient() as http:
        good = (await http.post(vip_face[1], params=query, content=body.encode())).json()
        bad = (await http.post(vip_face[1], params=query, content=body.replace("10", "11").encode())).json()
    assert good["returnCode"] == "0"
    assert bad["returnCode"] == errors.CODES["sign"] and "签名" in bad["returnMessage"]


async def test_wrong_secret_key_or_token_tell_the_operator(vip_face: tuple[VipFace, str]) -> None:
    for key, secret, token, hint in (
        (DEFAULT_APP_KEY, "wrong", "", "TUIKE_VIP_APP_SECRET"),
        ("nobody", DEFAULT_APP_SECRET, "", "TUIKE_VIP_APP_KEY"),
        (DEFAULT_APP_KEY, DEFAULT_APP_SECRET, "expired", "access_token"),
    ):
        client = VipClient(vip_face[1], key, secret, access_token=token, backoff=0.001)
        try:
            with pytest.raises(LeagueConfigError, match=hint):
                await client.goods_query("连衣裙")
        finally:
            await client.aclose()
    assert "expired" not in repr(client) and DEFAULT_APP_SECRET not in repr(client)


async def test_a_stale_timestamp_is_refused(vip_face: tuple[VipFace, str]) -> None:
    client = VipClient(
        vip_face[1], DEFAULT_APP_KEY, DEFAULT_APP_SECRET, backoff=0.001, clock=lambda: 1_700_000_000.0
    )
    try:
        with pytest.raises(LeagueConfigError, match="时间"):
            await client.goods_query("连衣裙")
    finally:
        await client.aclose()


async def test_transient_faults_are_retried_and_throttling_outlasting_them_is_throttled(
    vip: VipClient, vip_face: tuple[VipFace, str]
) -> None:
    face = vip_face[0]
    face.faults.fail_next = ["500", "malformed", "throttle", "busy"]
    vip.max_retries = 4
    data = await vip.goods_query("连衣裙")
    assert data["goodsInfoList"]
    assert face.calls["UnionGoodsService.query"] == 5
    face.faults.fail_next = ["throttle"] * 10
    with pytest.raises(errors.VipThrottled) as caught:
        await vip.goods_query("连衣裙")
    assert isinstance(caught.value, LeagueUnavailable)
    face.faults.fail_next = ["busy"] * 10
    with pytest.raises(errors.VipRetriesExhausted) as busy:
        await vip.goods_query("连衣裙")
    assert not isinstance(busy.value, errors.VipThrottled)


async def test_each_call_has_its_own_request_id(vip: VipClient, vip_face: tuple[VipFace, str]) -> None:
    await vip.goods_query("连衣裙")
    await vip.goods_query("连衣裙")
    ids = [json.loads(b)["request"]["requestId"] for b in vip_face[0].bodies]
    assert len(set(ids)) == 2


# -- goods ------------------------------------------------------------------------------------------


async def test_search_pages_and_money_stays_yuan_strings(vip: VipClient) -> None:
    first = await vip.goods_query("运动鞋", page=1, page_size=5)
    second = await vip.goods_query("运动鞋", page=2, page_size=5)
    assert first["total"] > 5 and len(first["goodsInfoList"]) == 5
    ids = {g["goodsId"] for g in first["goodsInfoList"]} | {g["goodsId"] for g in second["goodsInfoList"]}
    assert len(ids) == 5 + len(second["goodsInfoList"])
    goods = first["goodsInfoList"][0]
    assert isinstance(goods["vipPrice"], str) and "." in goods["vipPrice"]
    assert goods["destUrl"] == f"https://m.vip.com/product-{goods['brandId']}-{goods['goodsId']}.html"
    assert len(goods["goodsId"]) == 19


async def test_search_sorts_and_price_bounds(vip: VipClient) -> None:
    data = await vip.goods_query("运动鞋", field_name="PRICE", order=0, price_start="100", price_end="800.00")
    prices = [float(g["vipPrice"]) for g in data["goodsInfoList"]]
    assert prices == sorted(prices) and all(100 <= p <= 800 for p in prices)


async def test_curated_lists(vip: VipClient) -> None:
    hot = await vip.goods_list(1, page_size=10)
    rich = await vip.goods_list(0, page_size=10)
    assert len(hot["goodsInfoList"]) == 10
    rates = [float(g["commissionRate"]) for g in rich["goodsInfoList"]]
    assert rates == sorted(rates, reverse=True)


async def test_goods_by_ids_is_a_list_without_goods_off_the_union(
    vip: VipClient, vip_face: tuple[VipFace, str]
) -> None:
    face = vip_face[0]
    ours = _union_goods(face, coupon=True)
    directed = next(p for p in face.catalogue.products if not face.on_union(p))
    found = await vip.goods_by_ids([goods_id(ours.product_id), goods_id(directed.product_id), "123456789"])
    assert [g["goodsId"] for g in found] == [goods_id(ours.product_id)]
    assert found[0]["goodsCarouselPictures"], "details carry the carousel"
    coupon = found[0]["couponInfo"]
    assert set(coupon) >= {"couponNo", "buy", "fav"} and isinstance(coupon["fav"], str)


# -- links and PIDs ---------------------------------------------------------------------------------


async def test_links_by_goods_id_and_by_url_carry_the_chan_tag_and_stat_param(
    vip: VipClient, vip_face: tuple[VipFace, str]
) -> None:
    face = vip_face[0]
    [made] = await vip.gen_pids(["宝妈好物群"])
    assert made["status"] == 1 and made["pidName"] == "宝妈好物群"
    gid = goods_id(_union_goods(face).product_id)
    [by_id] = await vip.links_by_goods_ids([gid], chan_tag=made["pid"], stat_param="tkgroup1")
    assert by_id["source"] == gid and by_id["url"].startswith("https://t.vip.com/")
    link = face.links[by_id["url"].rsplit("/", 1)[-1]]
    assert (link.chan_tag, link.stat_param) == (made["pid"], "tkgroup1")
    [by_url] = await vip.links_by_urls([by_id["url"]], chan_tag=made["pid"], stat_param="tkgroup2")
    assert by_url["source"] == by_id["url"] and by_url["url"] != by_id["url"]
    assert gid in by_url["deeplinkUrl"]


async def test_a_chan_tag_that_is_not_our_pid_is_an_operator_error(
    vip: VipClient, vip_face: tuple[VipFace, str]
) -> None:
    gid = goods_id(_union_goods(vip_face[0]).product_id)
    with pytest.raises(LeagueConfigError, match="genPid"):
        await vip.links_by_goods_ids([gid], chan_tag="999_1")


async def test_goods_gone_and_an_expired_short_link_are_not_found(
    vip: VipClient, vip_face: tuple[VipFace, str]
) -> None:
    face = vip_face[0]
    off = next(p for p in face.catalogue.products if face.on_union(p) and not face.on_shelf(p))
    with pytest.raises(errors.VipGoodsGone):
        await vip.links_by_goods_ids([goods_id(off.product_id)])
    with pytest.raises(errors.VipGoodsGone):
        await vip.links_by_urls(["https://t.vip.com/Zz"])
    with pytest.raises(errors.VipGoodsGone):
        await vip.links_by_urls(["https://list.vip.com/brand-1710613245.html"])


# -- orders -----------------------------------------------------------------------------------------


async def test_orders_by_update_time_in_day_windows_and_pages(vip_face: tuple[VipFace, str]) -> None:
    face = vip_face[0]
    start = datetime.now(UTC) - timedelta(days=3)
    clock_at = start.timestamp()
    client = VipClient(vip_face[1], DEFAULT_APP_KEY, DEFAULT_APP_SECRET, backoff=0.001)
    try:
        [made] = await client.gen_pids(["订单群"])
        products = [p for p in face.catalogue.products if face.on_union(p) and face.on_shelf(p)][:12]
        for n, p in enumerate(products):  # links over two and a half days
            face.clock = lambda n=n: clock_at + n * 5 * 3600
            face.issue_link(p, made["pid"], f"tk{n}")
        face.clock = lambda: datetime.now(UTC).timestamp()
        rows = [o async for o in client.orders(start, datetime.now(UTC), page_size=3)]
    finally:
        await client.aclose()
    expected = face.orders(face.apps[DEFAULT_APP_KEY])
    assert sorted(r["orderSn"] for r in rows) == sorted(o["orderSn"] for o in expected)
    assert face.calls["UnionOrderService.orderList"] > 3, "several day windows, several pages"
    assert {r["channelTag"] for r in rows} == {made["pid"]}
    bodies = [json.loads(b)["queryModel"] for b in face.bodies if b"queryModel" in b]
    assert all(m["updateTimeEnd"] - m["updateTimeStart"] <= 86_400_000 for m in bodies)


async def test_a_window_over_ten_days_is_refused(vip: VipClient) -> None:
    now = datetime.now(UTC)
    with pytest.raises(errors.VipApiError):
        await vip.order_page(now - timedelta(days=11), now)
