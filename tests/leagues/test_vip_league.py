"""VipLeague (the `League` protocol) against the sandbox's vop face over real HTTP: search in fen, pasted
links (anyone's) made the group's own, a PID per group, orders mapped back by the identity they carry,
short answers for goods that cannot be promoted, and degraded mode under throttling; then `[leagues.vip]`
and the one sandbox serving it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import ConfigError, parse_settings
from bot.leagues.base import LeagueUnavailable, NotPromotable, ProductNotFound, SearchQuery, Spot
from bot.leagues.capabilities import IssuesSpots, SyncsOrders
from bot.leagues.registry import BY_NAME
from bot.leagues.setup import default_spots, open_leagues, spot_issuers
from bot.leagues.vip.build import build_vip
from bot.leagues.vip.client import VipClient
from bot.leagues.vip.errors import VipThrottled
from bot.leagues.vip.league import VipLeague, goods_id_of_links, goods_id_of_url, group_tag
from bot.leagues.vip.mapping import orders_from_row, percent_to_ppm, yuan_to_fen
from tuike_sandbox.catalogue import build_catalogue
from tuike_sandbox.http import HttpServer
from tuike_sandbox.server import SandboxServer
from tuike_sandbox.vip_face import DEFAULT_APP_KEY, DEFAULT_APP_SECRET, VipFace, brand_id, goods_id


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def vip_setup() -> AsyncIterator[tuple[VipFace, VipLeague, Clock]]:
    face = VipFace(build_catalogue())
    server = HttpServer(face)
    await server.start()
    client = VipClient(
        f"http://127.0.0.1:{server.port}/vop",
        DEFAULT_APP_KEY,
        DEFAULT_APP_SECRET,
        backoff=0.001,
        max_retries=1,
    )
    clock = Clock()
    league = VipLeague(client, clock=clock, cooldown=60)
    yield face, league, clock
    await league.aclose()
    await server.close()


def _goods(face: VipFace, *, coupon: bool = False):  # type: ignore[no-untyped-def]
    return next(
        p
        for p in face.catalogue.products
        if face.on_union(p)
        and face.on_shelf(p)
        and not face.sold_out(p)
        and (not coupon or face.best_coupon(p))
    )


def _page(face: VipFace, p) -> str:  # type: ignore[no-untyped-def]
    return f"https://detail.vip.com/detail-{brand_id(p)}-{goods_id(p.product_id)}.html"


# -- money ------------------------------------------------------------------------------------------


def test_money_strings_become_fen_exactly() -> None:
    assert [yuan_to_fen(v) for v in ("139.70", "20", "4.10", "0.1", "", None, "x")] == [
        13970,
        2000,
        410,
        10,
        0,
        0,
        0,
    ]
    assert percent_to_ppm("6.5") == 65_000 and percent_to_ppm("3") == 30_000


# -- products ---------------------------------------------------------------------------------------


async def test_search_gives_fen_products_with_coupons(vip_setup: tuple[VipFace, VipLeague, Clock]) -> None:
    face, league, _ = vip_setup
    found = await league.search(SearchQuery(keyword="连衣裙", limit=5))
    assert found and all(p.platform == "vip" and p.commission and p.commission.ratio_ppm > 0 for p in found)
    for p in found:
        sandbox = face.product(p.product_id)
        assert sandbox is not None and not face.sold_out(sandbox)
        assert p.price_fen == face.vip_price(sandbox)
        coupon = face.best_coupon(sandbox)
        assert p.final_price_fen == p.price_fen - (coupon[1] if coupon else 0)
        assert p.list_price_fen == face.market_price(sandbox)
    bounded = await league.search(SearchQuery(keyword="运动鞋", limit=10, max_price_fen=40_000))
    assert bounded and all(p.final_price_fen <= 40_000 for p in bounded)


async def test_a_goods_by_id_off_the_union_sold_out_or_off_the_shelf(
    vip_setup: tuple[VipFace, VipLeague, Clock],
) -> None:
    face, league, _ = vip_setup
    p = _goods(face, coupon=True)
    product = await league.product(goods_id(p.product_id))
    assert product.title == p.title and product.best_coupon() is not None
    directed = next(x for x in face.catalogue.products if not face.on_union(x))
    with pytest.raises(NotPromotable) as outside:
        await league.product(goods_id(directed.product_id))
    assert outside.value.reason == "not_alliance"
    sold = next(
        x for x in face.catalogue.products if face.on_union(x) and face.on_shelf(x) and face.sold_out(x)
    )
    off = next(x for x in face.catalogue.products if face.on_union(x) and not face.on_shelf(x))
    for gone in (sold, off):
        with pytest.raises(ProductNotFound) as caught:
            await league.product(goods_id(gone.product_id))
        assert not isinstance(caught.value, NotPromotable)
    with pytest.raises(ProductNotFound):
        await league.product("brand-page")


# -- links and identities ---------------------------------------------------------------------------


async def test_each_group_gets_its_own_pid_and_link(vip_setup: tuple[VipFace, VipLeague, Clock]) -> None:
    face, league, _ = vip_setup
    assert isinstance(league, IssuesSpots) and isinstance(league, SyncsOrders)
    one = await league.choose_named_identity("room-1@chatroom", "宝妈好物群", set())
    two = await league.choose_identity("room-2@chatroom", set())
    assert one[0] != two[0] and one[1] == group_tag("room-1@chatroom") != two[1]
    names = face.apps[DEFAULT_APP_KEY].pids
    assert names[one[0]].startswith("宝妈好物群") and len(names[one[0]]) <= 50
    [product] = await league.search(SearchQuery(keyword="连衣裙", limit=1))
    first = await league.promote(product, Spot("vip", pid=one[0], tag=one[1]))
    second = await league.promote(product, Spot("vip", pid=two[0], tag=two[1]))
    assert first.best_url != second.best_url
    issued = face.links[first.best_url.rsplit("/", 1)[-1]]
    assert (issued.chan_tag, issued.stat_param) == one
    assert face.calls["UnionUrlService.genByGoodsId"] == 2


async def test_someone_elses_links_become_the_groups(vip_setup: tuple[VipFace, VipLeague, Clock]) -> None:
    face, league, _ = vip_setup
    p = _goods(face)
    pid, tag = await league.choose_identity("room-1@chatroom", set())
    spot = Spot("vip", pid=pid, tag=tag)
    theirs = face.issue_link(p, "", "stranger")
    for pasted in (
        _page(face, p),
        f"https://m.vip.com/product-{brand_id(p)}-{goods_id(p.product_id)}.html?msns=iphone",
        f"https://t.vip.com/{theirs.token}",
    ):
        product = await league.lookup_link(pasted)
        assert product.product_id == goods_id(p.product_id)
        link = await league.promote(product, spot)
        issued = face.links[link.best_url.rsplit("/", 1)[-1]]
        assert (issued.chan_tag, issued.stat_param) == (pid, tag) and issued.token != theirs.token
    assert face.calls["UnionUrlService.genByVIPUrl"] == 4, "the short link once to read it, each paste once"
    again = await league.promote(product, spot)  # found again, not pasted: by goods id
    assert again.best_url == link.best_url and face.calls["UnionUrlService.genByGoodsId"] == 1


async def test_expired_short_links_and_pages_that_are_not_goods(
    vip_setup: tuple[VipFace, VipLeague, Clock],
) -> None:
    _, league, _ = vip_setup
    for url in ("https://t.vip.com/Expired1", "https://www.vip.com/brand-1710613245.html"):
        with pytest.raises(NotPromotable) as caught:
            await league.lookup_link(url)
        assert caught.value.reason == "code_unresolved"


def test_goods_ids_from_urls_and_union_links() -> None:
    gid = "6918901004295698011"
    assert goods_id_of_url(f"detail.vip.com/detail-1710613245-{gid}.html") == gid
    assert goods_id_of_url(f"https://www.vip.com/detail-1710613245-{gid}.html#x") == gid
    assert goods_id_of_url(f"https://m.vip.com/product-0-{gid}.html") == gid
    assert goods_id_of_url(f"https://evil.example/product-0-{gid}.html") == ""
    assert goods_id_of_links({"deeplinkUrl": f"vipshop://showGoodsDetail?pid={gid}&goodsType=1"}) == gid
    wrapped = (
        "https://t.vip.com/redirect.php?url=https%253A%252F%252Fm.vip.com%252Fproduct-1-" + gid + ".html"
    )
    assert goods_id_of_links({"longUrl": wrapped}) == gid
    assert goods_id_of_links({"url": "https://t.vip.com/abc"}) == ""


# -- orders -----------------------------------------------------------------------------------------


async def test_orders_map_back_by_pid_and_stat_param(vip_setup: tuple[VipFace, VipLeague, Clock]) -> None:
    face, league, _ = vip_setup
    pid, tag = "100001_1", group_tag("room-1@chatroom")  # a fixed identity: the same orders every run
    face.apps[DEFAULT_APP_KEY].pids[pid] = "订单群"
    for p in [p for p in face.catalogue.products if face.on_union(p) and face.on_shelf(p)][:20]:
        face.issue_link(p, pid, tag)
    now = datetime.now(UTC)
    orders = await league.orders_since(now - timedelta(hours=1), now + timedelta(hours=1))
    assert orders and {(o.pid, o.tag) for o in orders} == {(pid, tag)}
    assert {o.status for o in orders} >= {"pending", "settled", "cancelled"}
    assert all(o.commission_fen == 0 for o in orders if o.status == "cancelled")
    assert all(len(o.product_id) == 19 and o.paid_fen > 0 for o in orders)


def test_a_refund_takes_its_commission_off_and_a_full_one_voids_the_line() -> None:
    row = {
        "orderSn": "1",
        "status": 1,
        "orderTime": 1_700_000_000_000,
        "lastUpdateTime": 1_700_000_100_000,
        "channelTag": "P1",
        "statParam": "tk1",
        "detailList": [
            {
                "goodsId": "69",
                "goodsCount": 2,
                "commissionTotalCost": "200.00",
                "commission": "20.00",
                "status": 1,
                "afterSaleInfo": [{"afterSaleChangeCommission": "-10.00", "afterSaleChangeGoodsCount": 1}],
            },
            {
                "goodsId": "70",
                "goodsCount": 1,
                "commissionTotalCost": "50.00",
                "commission": "5.00",
                "status": 1,
                "afterSaleInfo": [{"afterSaleChangeCommission": "5.00", "afterSaleChangeGoodsCount": 1}],
            },
        ],
    }
    half, whole = orders_from_row(row)
    assert (half.commission_fen, half.status, half.paid_fen, half.pid, half.tag) == (
        1000,
        "pending",
        20000,
        "P1",
        "tk1",
    )
    assert (whole.commission_fen, whole.status) == (0, "cancelled")


# -- degraded mode ----------------------------------------------------------------------------------


async def test_throttling_after_retries_means_answers_from_cache_then_back(
    vip_setup: tuple[VipFace, VipLeague, Clock],
) -> None:
    face, league, clock = vip_setup
    query = SearchQuery(keyword="连衣裙", limit=3)
    before = await league.search(query)
    clock.now += 400  # the cached answer is old now
    face.faults.fail_next = ["throttle"] * 2
    assert await league.search(query) == before, "stale, but an answer"
    assert league.degraded
    calls = face.calls["UnionGoodsService.query"]
    assert await league.search(query) == before and face.calls["UnionGoodsService.query"] == calls
    with pytest.raises(LeagueUnavailable):
        await league.search(SearchQuery(keyword="空气炸锅", limit=3))
    clock.now += 61
    assert not league.degraded
    assert await league.search(SearchQuery(keyword="空气炸锅", limit=3))
    face.faults.fail_next = ["throttle"] * 2
    with pytest.raises(VipThrottled):
        await league.search(SearchQuery(keyword="运动鞋", limit=3))


# -- config and setup -------------------------------------------------------------------------------


def test_keys_as_the_issue_spells_them_and_secrets_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TUIKE_VIP_APP_KEY", "vip-key-env")
    monkeypatch.setenv("TUIKE_VIP_APP_SECRET", "vip-secret-env")
    settings = parse_settings(
        {
            "leagues": {
                "vip": {
                    "enabled": True,
                    "sandbox": False,
                    "base_url": "https://vop.vipapis.com",
                    "access_token": "tok-secret",
                    "timeout_seconds": 5,
                    "max_retries": 2,
                }
            }
        }
    )
    vip = settings.leagues.vip
    assert (vip.app_key, vip.app_secret.get_secret_value()) == ("vip-key-env", "vip-secret-env")
    assert vip.access_token.get_secret_value() == "tok-secret"
    assert "secret-env" not in repr(settings) and "tok-secret" not in repr(settings)
    defaults = parse_settings({}).leagues.vip
    assert (defaults.enabled, defaults.sandbox, defaults.base_url) == (False, True, "https://vop.vipapis.com")
    assert BY_NAME["vip"].display_name == "唯品会"


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ({"enabled": True, "sandbox": False}, "TUIKE_VIP_APP_KEY"),
        ({"base_url": "vop.vipapis.com"}, "https://vop.vipapis.com"),
        ({"appkey": "x"}, "appkey"),
    ],
)
def test_bad_config_says_what_to_fix(
    raw: dict[str, object], needle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("TUIKE_VIP_APP_KEY", "TUIKE_VIP_APP_SECRET"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ConfigError, match=needle):
        parse_settings({"leagues": {"vip": raw}})


async def test_the_sandbox_serves_vip_when_enabled() -> None:
    settings = parse_settings({"leagues": {"vip": {"enabled": True}, "channels": {"enabled": True}}})
    assert default_spots(settings)["vip"] == Spot("vip")
    async with AsyncExitStack() as stack:
        leagues = await open_leagues(settings, None, stack)
        assert "vip" in leagues and "vip" in spot_issuers(leagues)
        [found] = await leagues["vip"].search(SearchQuery(keyword="连衣裙", limit=1))
        link = await leagues["vip"].promote(found, default_spots(settings)["vip"])
        assert link.best_url.startswith("https://t.vip.com/")


async def test_with_sandbox_false_calls_go_to_base_url_only() -> None:
    async with SandboxServer() as sandbox:
        face = sandbox.face("/vop")
        assert isinstance(face, VipFace)
        face.register_app("operator_key", "operator_secret")
        settings = parse_settings(
            {
                "leagues": {
                    "vip": {
                        "enabled": True,
                        "sandbox": False,
                        "base_url": sandbox.base_url + "/vop",
                        "app_key": "operator_key",
                        "app_secret": "operator_secret",
                    }
                }
            }
        )
        built = build_vip(settings, None, None)
        try:
            [product] = await built.search(SearchQuery(keyword="连衣裙", limit=1))
            pid, tag = await built.choose_identity("room", set())
            link = await built.promote(product, Spot("vip", pid=pid, tag=tag))
            assert link.best_url and face.apps["operator_key"].pids
            assert sum(face.calls.values()) == 3, "the configured base_url got every call"
        finally:
            await built.aclose()
