"""The PDD client against the sandbox's router face over real HTTP on 127.0.0.1: signing, JSON-string
lists, every method, paging, order windows, the 备案 flow and the errors an operator or member notices."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.leagues.base import LeagueConfigError, ProductNotFound
from bot.leagues.pdd import errors
from bot.leagues.pdd.client import PddClient
from bot.leagues.pdd.signing import encode, sign
from tuike_sandbox.catalogue import build_catalogue
from tuike_sandbox.http import HttpServer
from tuike_sandbox.pdd_face import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    PddFace,
    goods_id,
    goods_sign,
)


@pytest.fixture
async def pdd_face() -> AsyncIterator[tuple[PddFace, str]]:
    face = PddFace(build_catalogue())
    server = HttpServer(face)
    await server.start()
    yield face, f"http://127.0.0.1:{server.port}/api/router"
    await server.close()


@pytest.fixture
async def pdd(pdd_face: tuple[PddFace, str]) -> AsyncIterator[PddClient]:
    client = PddClient(pdd_face[1], DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, backoff=0.001, timeout=2)
    yield client
    await client.aclose()


async def _bound_pid(pdd: PddClient, face: PddFace) -> str:
    [made] = await pdd.generate_pids(["测试群"])
    face.members[DEFAULT_CLIENT_ID].bound.add(made["p_id"])
    return str(made["p_id"])


def _on_jinbao(face: PddFace, *, coupon: bool = False):  # type: ignore[no-untyped-def]
    return next(
        p for p in face.catalogue.products if face.on_jinbao(p) and (not coupon or face.best_coupon(p))
    )


# -- signing ----------------------------------------------------------------------------------------


def test_signature_matches_the_reference_vector() -> None:
    params = encode(
        {
            "type": "pdd.ddk.goods.search",
            "client_id": "testclientid",
            "timestamp": "1704081600",
            "data_type": "JSON",
            "keyword": "手机",
            "page": 1,
            "page_size": 10,
            "list_id": "",
            "pid": None,
        }
    )
    assert "list_id" not in params and "pid" not in params, "empty values are not sent"
    assert sign(params, "testsecret") == "A9BF5AF45397D1AF1513AB93AA527487"


def test_lists_are_json_strings_and_booleans_words() -> None:
    wire = encode({"goods_sign_list": ["c9r2_X"], "with_coupon": True, "x": False, "empty": []})
    assert wire == {"goods_sign_list": '["c9r2_X"]', "with_coupon": "true", "x": "false"}


async def test_wrong_secret_and_client_id_tell_the_operator(pdd_face: tuple[PddFace, str]) -> None:
    for client_id, secret, hint in (
        (DEFAULT_CLIENT_ID, "wrong", "TUIKE_PDD_CLIENT_SECRET"),
        ("nobody", DEFAULT_CLIENT_SECRET, "TUIKE_PDD_CLIENT_ID"),
    ):
        client = PddClient(pdd_face[1], client_id, secret, backoff=0.001)
        try:
            with pytest.raises(LeagueConfigError, match=hint):
                await client.goods_search(keyword="空气炸锅")
        finally:
            await client.aclose()


async def test_the_face_refuses_a_tampered_list(pdd: PddClient, pdd_face: tuple[PddFace, str]) -> None:
    """The signature covers the JSON string exactly as sent: change one byte and it is refused."""
    params = pdd.signed_params("pdd.ddk.goods.search", {"goods_sign_list": ["a_b"], "page_size": 10})
    params["goods_sign_list"] = '["a_b" ]'
    async with httpx.AsyncClient() as http:
        answer = (await http.post(pdd_face[1], data=params)).json()
    assert answer["error_response"]["error_code"] == 10016


async def test_transient_faults_are_retried(pdd: PddClient, pdd_face: tuple[PddFace, str]) -> None:
    face = pdd_face[0]
    face.faults.fail_next = ["500", "malformed", "throttle"]
    data = await pdd.goods_search(keyword="空气炸锅")
    assert data["goods_list"]
    assert face.calls["pdd.ddk.goods.search"] == 4
    face.faults.fail_next = ["throttle"] * 10
    with pytest.raises(errors.PddRetriesExhausted):
        await pdd.goods_search(keyword="空气炸锅")


# -- goods ------------------------------------------------------------------------------------------


async def test_search_pages_with_list_id(pdd: PddClient) -> None:
    first = await pdd.goods_search(keyword="耳机", page_size=10)
    total = first["total_count"]
    assert total > 10 and first["list_id"]
    seen = [g["goods_sign"] for g in first["goods_list"]]
    page = 2
    while len(seen) < total:
        data = await pdd.goods_search(keyword="耳机", page=page, page_size=10, list_id=first["list_id"])
        assert data["list_id"] == first["list_id"], "the list id is echoed"
        seen += [g["goods_sign"] for g in data["goods_list"]]
        page += 1
    assert len(seen) == len(set(seen)) == total


async def test_goods_carry_fen_prices_per_mille_rate_and_coupon(
    pdd: PddClient, pdd_face: tuple[PddFace, str]
) -> None:
    face = pdd_face[0]
    p = _on_jinbao(face, coupon=True)
    data = await pdd.goods_search(goods_sign_list=[goods_sign(p.product_id)], page_size=10)
    [g] = data["goods_list"]
    assert g["goods_name"] == p.title
    assert g["min_group_price"] == face.group_price(p) < min(s.price_fen for s in p.skus), "拼团价 in fen"
    assert g["min_normal_price"] > g["min_group_price"], "单买价 is higher"
    assert g["promotion_rate"] * 1000 == p.commission_ratio_ppm, "per mille"
    assert g["has_coupon"] and g["coupon_discount"] > 0
    assert isinstance(g["coupon_discount"], int)


async def test_sort_by_final_price_and_with_coupon(pdd: PddClient, pdd_face: tuple[PddFace, str]) -> None:
    data = await pdd.goods_search(keyword="耳机", sort_type=9, page_size=100)
    finals = [g["min_group_price"] - g["coupon_discount"] for g in data["goods_list"]]
    assert finals == sorted(finals)
    coupons = await pdd.goods_search(keyword="耳机", with_coupon=True, page_size=100)
    assert 0 < coupons["total_count"] < data["total_count"]


async def test_detail_and_goods_that_left_jinbao(pdd: PddClient, pdd_face: tuple[PddFace, str]) -> None:
    face = pdd_face[0]
    p = _on_jinbao(face)
    [detail] = (await pdd.goods_detail(goods_sign(p.product_id)))["goods_details"]
    assert detail["goods_id"] == goods_id(p.product_id)
    gone = next(q for q in face.catalogue.products if not face.on_jinbao(q))
    assert (await pdd.goods_detail(goods_sign(gone.product_id)))["goods_details"] == []
    pid = await _bound_pid(pdd, face)
    with pytest.raises(errors.PddGoodsGone):
        await pdd.promotion_url(pid, goods_sign(gone.product_id))
    assert issubclass(errors.PddGoodsGone, ProductNotFound)


# -- PIDs, 备案 and links ---------------------------------------------------------------------------


async def test_registration_flow(pdd_face: tuple[PddFace, str]) -> None:
    face, url = pdd_face
    face.register_client("fresh_member", "fresh_secret")
    pdd = PddClient(url, "fresh_member", "fresh_secret", backoff=0.001)
    [made] = await pdd.generate_pids(["宝妈群"])
    pid = made["p_id"]
    assert made["pid_name"] == "宝妈群"
    sign_ = goods_sign(_on_jinbao(face).product_id)
    with pytest.raises(errors.PddNotRegistered, match="tuike pdd register") as refused:
        await pdd.promotion_url(pid, sign_)
    assert pid in str(refused.value)
    assert await pdd.is_registered(pid) is False
    link = await pdd.registration_link(pid)
    async with httpx.AsyncClient() as http:  # the member opens the link and agrees
        opened = await http.get(link["url"])
    assert opened.status_code == 200
    assert await pdd.is_registered(pid) is True
    urls = await pdd.promotion_url(pid, sign_, custom_parameters='{"uid":"g1"}')
    assert urls["short_url"].startswith("https://p.pinduoduo.com/")
    assert urls["we_app_info"]["page_path"]
    await pdd.aclose()


async def test_the_sandbox_member_is_registered_already(pdd: PddClient) -> None:
    [made] = await pdd.generate_pids(["测试群"])
    assert await pdd.is_registered(made["p_id"]) is True


async def test_unknown_pid_is_an_operator_error(pdd: PddClient, pdd_face: tuple[PddFace, str]) -> None:
    with pytest.raises(LeagueConfigError, match="推广位"):
        await pdd.promotion_url("1_2", goods_sign(_on_jinbao(pdd_face[0]).product_id))


async def test_someone_elses_link_converts_to_ours(pdd: PddClient, pdd_face: tuple[PddFace, str]) -> None:
    face = pdd_face[0]
    p = _on_jinbao(face)
    ours, theirs = await _bound_pid(pdd, face), await _bound_pid(pdd, face)
    their_link = await pdd.promotion_url(theirs, goods_sign(p.product_id))
    converted = await pdd.convert_url(their_link["short_url"], ours, custom_parameters='{"uid":"g1"}')
    direct = await pdd.promotion_url(ours, goods_sign(p.product_id), custom_parameters='{"uid":"g1"}')
    assert converted["short_url"] == direct["short_url"] != their_link["short_url"]
    by_id = await pdd.convert_url(
        f"https://mobile.yangkeduo.com/goods.html?goods_id={goods_id(p.product_id)}", ours
    )
    assert by_id["short_url"].startswith("https://p.pinduoduo.com/")
    with pytest.raises(errors.PddApiError, match="链接解析失败"):
        await pdd.convert_url("https://mobile.yangkeduo.com/goods.html?goods_id=1", ours)


# -- orders -----------------------------------------------------------------------------------------


async def test_orders_by_update_time_in_day_windows_read_backwards(pdd_face: tuple[PddFace, str]) -> None:
    face, url = pdd_face
    now = [datetime(2026, 3, 1, 10, 0, tzinfo=UTC).timestamp()]
    face.clock = lambda: now[0]
    client = PddClient(url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, backoff=0.001, clock=lambda: now[0])
    try:
        pids = [await _bound_pid(client, face) for _ in range(3)]
        products = [p for p in face.catalogue.products if face.on_jinbao(p)][:30]
        for n, p in enumerate(products):
            now[0] += 3 * 3600  # links over four days
            custom = json.dumps({"uid": f"g{n % 3}"})
            await client.promotion_url(pids[n % 3], goods_sign(p.product_id), custom_parameters=custom)
        now[0] += 3600
        start = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
        orders = [o async for o in client.orders(start, datetime.fromtimestamp(now[0], UTC), page_size=10)]
        expected = face.orders()
        assert len(orders) == len(expected) > 30
        assert {o["order_sn"] for o in orders} == {o["order_sn"] for o in expected}
        assert {o["p_id"] for o in orders} == set(pids), "orders carry the group's PID"
        assert all(json.loads(o["custom_parameters"])["uid"].startswith("g") for o in orders)
        with pytest.raises(errors.PddApiError, match="24"):
            await client.order_page(start, start + timedelta(hours=25))
    finally:
        await client.aclose()


async def test_a_stale_timestamp_is_refused(pdd_face: tuple[PddFace, str]) -> None:
    client = PddClient(
        pdd_face[1], DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, backoff=0.001, clock=lambda: time.time() - 3600
    )
    try:
        with pytest.raises(errors.PddApiError, match="timestamp"):
            await client.goods_search(keyword="耳机")
    finally:
        await client.aclose()


async def test_a_link_as_keyword_finds_its_goods(pdd: PddClient, pdd_face: tuple[PddFace, str]) -> None:
    face = pdd_face[0]
    p = _on_jinbao(face)
    url = f"https://mobile.yangkeduo.com/goods.html?goods_id={goods_id(p.product_id)}"
    [g] = (await pdd.goods_search(keyword=url, page_size=10))["goods_list"]
    assert g["goods_sign"] == goods_sign(p.product_id)


async def test_goods_map_to_products_in_fen(pdd: PddClient, pdd_face: tuple[PddFace, str]) -> None:
    from bot.leagues.pdd.mapping import normal_price_fen, product_from_goods

    face = pdd_face[0]
    p = _on_jinbao(face, coupon=True)
    [g] = (await pdd.goods_search(goods_sign_list=[goods_sign(p.product_id)], page_size=10))["goods_list"]
    product = product_from_goods(g)
    coupon = face.best_coupon(p)
    assert coupon is not None
    assert product.platform == "pdd" and product.product_id == goods_sign(p.product_id)
    assert product.price_fen == face.group_price(p)
    assert normal_price_fen(g) == face.normal_price(p)
    assert product.final_price_fen == face.group_price(p) - coupon[1]
    assert product.commission is not None
    assert product.commission.ratio_ppm == p.commission_ratio_ppm
    assert product.commission.amount_fen == product.final_price_fen * (p.commission_ratio_ppm // 1000) // 1000
