"""The Taobao league against the sandbox's TOP gateway over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import parse_settings
from bot.handlers.parse import find_product_refs
from bot.leagues.base import (
    LeagueConfigError,
    LeagueUnavailable,
    NotPromotable,
    ProductNotFound,
    SearchQuery,
    Spot,
)
from bot.leagues.taobao.build import build_taobao
from bot.leagues.taobao.client import TopClient
from bot.leagues.taobao.errors import Throttled
from bot.leagues.taobao.league import TaobaoLeague
from tuike_sandbox.server import SandboxServer
from tuike_sandbox.top_face import (
    SANDBOX_APP_KEY,
    SANDBOX_APP_SECRET,
    SANDBOX_MEMBER,
    SANDBOX_SITE,
    TopFace,
    item_id_of,
    num_iid_of,
)

PID = f"mm_{SANDBOX_MEMBER}_{SANDBOX_SITE}_110000000001"
GROUP_A = Spot("taobao", pid=f"mm_{SANDBOX_MEMBER}_{SANDBOX_SITE}_110000000002")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Sleeps:
    """Backoff without waiting: records each pause."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
async def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def clock() -> Clock:
    return Clock()


def _client(
    sandbox: SandboxServer, sleeps: Sleeps, secret: str = SANDBOX_APP_SECRET, **kw: object
) -> TopClient:
    return TopClient(
        sandbox.base_url + "/router/rest",
        SANDBOX_APP_KEY,
        secret,
        max_retries=2,
        backoff=0.2,
        sleep=sleeps,
        timeout=5,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
async def league(sandbox: SandboxServer, sleeps: Sleeps, clock: Clock) -> AsyncIterator[TaobaoLeague]:
    lg = TaobaoLeague(_client(sandbox, sleeps), pid=PID, adzones=["110000000002"], clock=clock)
    yield lg
    await lg.aclose()


def face(sandbox: SandboxServer) -> TopFace:
    top: TopFace = sandbox.face("/router/rest")
    return top


# -- search and details ----------------------------------------------------------------------------


async def test_search_reads_the_upgrade_shape_with_alphanumeric_ids(
    league: TaobaoLeague, sandbox: SandboxServer
) -> None:
    products = await league.search(SearchQuery(keyword="蓝牙耳机", limit=5))
    assert len(products) == 5
    assert all(p.platform == "taobao" and "蓝牙耳机" in p.title for p in products)
    assert any(not p.product_id.isdigit() for p in products)  # new-style ids
    with_coupon = [p for p in products if p.best_coupon()]
    assert with_coupon and all(p.final_price_fen < p.price_fen for p in with_coupon)
    assert all(p.commission and p.commission.amount_fen > 0 for p in products)
    assert face(sandbox).calls["taobao.tbk.dg.material.optional.upgrade"] == 1


async def test_the_legacy_search_shape_gives_the_same_products(
    league: TaobaoLeague, sandbox: SandboxServer, sleeps: Sleeps
) -> None:
    upgraded = await league.search(SearchQuery(keyword="纸巾", limit=4))
    legacy_client = _client(sandbox, sleeps)
    try:
        data = await legacy_client.material_search(
            adzone_id="110000000001", q="纸巾", page_size=4, legacy=True
        )
    finally:
        await legacy_client.aclose()
    from bot.leagues.taobao.mapping import items, product_of

    legacy = [product_of(raw) for raw in items(data["result_list"], "map_data")]
    assert [p.title for p in legacy] == [p.title for p in upgraded]
    assert [p.final_price_fen for p in legacy] == [p.final_price_fen for p in upgraded]
    assert [p.commission for p in legacy] == [p.commission for p in upgraded]
    assert all(p.product_id.isdigit() for p in legacy)


async def test_an_app_without_the_upgrade_methods_falls_back_to_the_legacy_ones(
    league: TaobaoLeague, sandbox: SandboxServer
) -> None:
    top = face(sandbox)
    top.disabled_methods = {"taobao.tbk.dg.material.optional.upgrade", "taobao.tbk.item.info.upgrade.get"}
    products = await league.search(SearchQuery(keyword="洗衣液", limit=3))
    assert products and all(p.product_id.isdigit() for p in products)
    league._details.items.clear()
    detail = await league.product(products[0].product_id)
    assert detail.title == products[0].title
    await league.search(SearchQuery(keyword="牙膏", limit=3))
    assert top.calls["taobao.tbk.dg.material.optional.upgrade"] == 1  # asked once, then legacy for good
    assert top.calls["taobao.tbk.dg.material.optional"] == 2
    assert top.calls["taobao.tbk.item.info.get"] == 1


async def test_item_detail_takes_either_id_form(league: TaobaoLeague, sandbox: SandboxServer) -> None:
    p = next(p for p in sandbox.state.catalogue.products if p.status == 1)
    by_new = await league.product(item_id_of(p))
    league._details.items.clear()
    by_num = await league.product(num_iid_of(p))
    assert by_new.title == by_num.title == p.title
    assert by_new.price_fen == min(s.price_fen for s in p.skus)


async def test_an_item_that_is_gone_is_not_found(league: TaobaoLeague) -> None:
    with pytest.raises(ProductNotFound):
        await league.product("999999999999")


async def test_an_item_outside_the_alliance_says_so(league: TaobaoLeague, sandbox: SandboxServer) -> None:
    p = next(p for p in sandbox.state.catalogue.products if p.status != 1)
    with pytest.raises(NotPromotable) as caught:
        await league.lookup_link(f"https://detail.tmall.com/item.htm?id={num_iid_of(p)}")
    assert caught.value.reason == "not_alliance"


# -- conversion ------------------------------------------------------------------------------------


async def test_someone_elses_share_text_becomes_this_groups_tpwd(
    league: TaobaoLeague, sandbox: SandboxServer
) -> None:
    top = face(sandbox)
    p = next(p for p in sandbox.state.catalogue.products if p.status == 1 and p.coupon_ids)
    text = top.foreign_share_text(p)
    ref = find_product_refs(text)[0]
    product = await league.lookup_link(ref.url or "")
    assert product.title == p.title
    link = await league.promote(product, GROUP_A)
    assert link.code.startswith("￥") and link.code.endswith("￥") and len(link.code) == 13
    assert link.http_short_link.startswith("https://s.click.taobao.com/")
    assert link.short_link.startswith("https://m.tb.cn/h.")
    # the bot's own parser recognises what it hands out
    assert find_product_refs(f"{link.code} 复制这条消息，打开淘宝")[0].code == link.code[1:-1]
    assert find_product_refs(link.http_short_link)[0].kind == "short_link"
    assert find_product_refs(link.short_link)[0].platform == "taobao"
    convert = [f for f in top.forms if f["method"] == "taobao.tbk.dg.general.link.convert"]
    assert convert[-1]["adzone_id"] == "110000000002" and convert[-1]["site_id"] == SANDBOX_SITE
    # the new 口令 resolves back to the same product
    again = await league.lookup_link(link.code[1:-1])
    assert again.product_id == product.product_id


async def test_an_unknown_tpwd_and_an_expired_coupon_get_their_reasons(
    league: TaobaoLeague, sandbox: SandboxServer
) -> None:
    with pytest.raises(NotPromotable) as caught:
        await league.lookup_link("AbCd1234567")
    assert caught.value.reason == "code_unresolved"
    top = face(sandbox)
    p = next(p for p in sandbox.state.catalogue.products if p.status == 1 and p.coupon_ids)
    coupon_link = top._mint("uland", p, "110000000009", p.coupon_ids[0])
    top.expired_coupons.add(p.coupon_ids[0])
    with pytest.raises(NotPromotable) as caught:
        await league.lookup_link(coupon_link)
    assert caught.value.reason == "coupon_expired"


# -- the gateway's rules ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["md5", "hmac", "hmac-sha256"])
async def test_every_sign_method_is_accepted(sandbox: SandboxServer, sleeps: Sleeps, method: str) -> None:
    client = _client(sandbox, sleeps, sign_method=method)
    try:
        data = await client.material_search(adzone_id="110000000001", q="纸巾", page_size=1)
    finally:
        await client.aclose()
    assert data["result_list"]["map_data"]
    assert face(sandbox).forms[-1]["sign_method"] == method


async def test_a_wrong_signature_is_refused_and_the_operator_told_what_to_fix(
    sandbox: SandboxServer, sleeps: Sleeps
) -> None:
    client = _client(sandbox, sleeps, secret="not-the-secret")
    try:
        with pytest.raises(LeagueConfigError) as caught:
            await client.material_search(adzone_id="110000000001", q="纸巾")
    finally:
        await client.aclose()
    assert "app_secret" in str(caught.value) and "not-the-secret" not in str(caught.value)
    assert face(sandbox).log == [("taobao.tbk.dg.material.optional.upgrade", 25)]
    assert sleeps.delays == []  # not retried


async def test_a_clock_off_by_more_than_ten_minutes_is_refused(
    sandbox: SandboxServer, sleeps: Sleeps
) -> None:
    real = datetime.now(UTC).timestamp()
    client = _client(sandbox, sleeps, clock=lambda: real - 11 * 60)
    try:
        with pytest.raises(LeagueConfigError, match="clock"):
            await client.material_search(adzone_id="110000000001", q="纸巾")
    finally:
        await client.aclose()


async def test_the_timestamp_is_gmt8(sandbox: SandboxServer, sleeps: Sleeps) -> None:
    at = datetime(2026, 1, 1, 20, 30, tzinfo=UTC).timestamp()
    client = _client(sandbox, sleeps, clock=lambda: at)
    form = client.signed_form("taobao.tbk.tpwd.create", {"url": "https://s.click.taobao.com/x", "text": ""})
    await client.aclose()
    assert form["timestamp"] == "2026-01-02 04:30:00"
    assert "text" not in form and form["v"] == "2.0" and form["format"] == "json"


async def test_throttling_is_retried_with_backoff(
    league: TaobaoLeague, sandbox: SandboxServer, sleeps: Sleeps
) -> None:
    top = face(sandbox)
    top.faults.throttle_next = 2
    products = await league.search(SearchQuery(keyword="纸巾", limit=3))
    assert products
    assert top.log[:3] == [("taobao.tbk.dg.material.optional.upgrade", 7)] * 2 + [
        ("taobao.tbk.dg.material.optional.upgrade", 0)
    ]
    assert len(sleeps.delays) == 2 and sleeps.delays[1] > sleeps.delays[0] * 0.6


async def test_throttling_that_outlasts_the_retries_turns_on_degraded_mode(
    league: TaobaoLeague, sandbox: SandboxServer, clock: Clock
) -> None:
    top = face(sandbox)
    cached = await league.search(SearchQuery(keyword="纸巾", limit=3))
    clock.now += 10_000  # the cache is old now, but kept
    top.faults.throttle_all = True
    # a cached keyword is still answered, from the old results
    assert await league.search(SearchQuery(keyword="纸巾", limit=3)) == cached
    assert league.degraded
    calls = sum(top.calls.values())
    # a new keyword is refused at once: no calls while cooling down
    with pytest.raises(LeagueUnavailable):
        await league.search(SearchQuery(keyword="洗衣液", limit=3))
    assert sum(top.calls.values()) == calls
    # after the cool-down the league asks again
    top.faults.throttle_all = False
    clock.now += league.cooldown + 1
    assert await league.search(SearchQuery(keyword="洗衣液", limit=3))
    assert not league.degraded


async def test_throttled_with_nothing_cached_is_unavailable(
    league: TaobaoLeague, sandbox: SandboxServer
) -> None:
    face(sandbox).faults.throttle_all = True
    with pytest.raises(Throttled):
        await league.search(SearchQuery(keyword="纸巾", limit=3))
    assert face(sandbox).calls["taobao.tbk.dg.material.optional.upgrade"] == 3  # 1 + 2 retries


async def test_server_trouble_is_retried(league: TaobaoLeague, sandbox: SandboxServer) -> None:
    face(sandbox).faults.fail_next = [500, "isp", "malformed"]
    client = _client(sandbox, Sleeps())
    client.max_retries = 3
    try:
        data = await client.material_search(adzone_id="110000000001", q="纸巾", page_size=1)
    finally:
        await client.aclose()
    assert data["result_list"]


# -- orders ----------------------------------------------------------------------------------------


async def test_orders_are_read_window_by_window_and_page_by_page(
    league: TaobaoLeague, sandbox: SandboxServer
) -> None:
    top = face(sandbox)
    products = [p for p in sandbox.state.catalogue.products if p.status == 1][:5]
    start = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    # 130 orders in the first hour (two pages), then some over the next 8 hours
    for i in range(130):
        top.add_order(products[i % 5], "110000000002", start + timedelta(seconds=20 * i))
    for h in range(1, 9):
        top.add_order(products[h % 5], "110000000003", start + timedelta(hours=h, minutes=7))
    orders = await league.orders_since(start, until=start + timedelta(hours=9))
    assert len(orders) == 138 and len({o.order_id for o in orders}) == 138
    forms = [f for f in top.forms if f["method"] == "taobao.tbk.order.details.get"]
    assert len(forms) == 4  # windows 0-3 h (two pages), 3-6 h, 6-9 h
    assert forms[1]["position_index"] and forms[1]["page_no"] == "2"
    assert all(f["end_time"] > f["start_time"] for f in forms)
    assert {o.pid for o in orders} == {
        f"mm_{SANDBOX_MEMBER}_{SANDBOX_SITE}_110000000002",
        f"mm_{SANDBOX_MEMBER}_{SANDBOX_SITE}_110000000003",
    }
    first = orders[0]
    assert first.paid_fen == min(s.price_fen for s in products[0].skus)
    assert first.commission_fen == first.paid_fen * products[0].commission_ratio_ppm // 1_000_000
    assert first.created_at == start


async def test_a_window_longer_than_three_hours_is_refused_by_the_gateway(sandbox: SandboxServer) -> None:
    client = _client(sandbox, Sleeps())
    start = datetime(2026, 11, 20, tzinfo=UTC)
    try:
        with pytest.raises(Exception, match="3小时"):
            await client.order_details(start, start + timedelta(hours=4))
    finally:
        await client.aclose()


# -- configuration ---------------------------------------------------------------------------------


async def test_with_sandbox_false_every_call_goes_to_base_url(sandbox: SandboxServer) -> None:
    settings = parse_settings(
        {
            "leagues": {
                "taobao": {
                    "enabled": True,
                    "sandbox": False,
                    "base_url": sandbox.base_url + "/router/rest",
                    "app_key": SANDBOX_APP_KEY,
                    "app_secret": SANDBOX_APP_SECRET,
                    "sign_method": "md5",
                    "pid": PID,
                    "adzones": ["110000000005"],
                }
            }
        }
    )
    league = build_taobao(settings, None, None)
    try:
        assert league.client.url == sandbox.base_url + "/router/rest"
        assert await league.search(SearchQuery(keyword="纸巾", limit=2))
        assert await league.choose_identity("g1", set()) == (
            f"mm_{SANDBOX_MEMBER}_{SANDBOX_SITE}_110000000005",
            "",
        )
    finally:
        await league.aclose()
    assert face(sandbox).forms[-1]["sign_method"] == "md5"
    assert "app_secret" not in repr(league.client) and SANDBOX_APP_SECRET not in repr(league.client)


async def test_each_group_takes_its_own_adzone_and_its_orders_come_back_to_it(
    sandbox: SandboxServer,
    engine,
    sleeps: Sleeps,  # type: ignore[no-untyped-def]
) -> None:
    from bot.services.attribution import GroupSpots
    from bot.store.groups import ensure_group
    from bot.store.spots import group_of_identity

    lg = TaobaoLeague(_client(sandbox, sleeps), pid=PID, adzones=["130000000001", "130000000002"])
    spots = GroupSpots(engine, {"taobao": Spot("taobao", pid=PID)}, issuers={"taobao": lg})
    groups = [ensure_group(engine, f"g{i}@chatroom", f"群{i}") for i in range(3)]
    held = [await spots.for_group(g, "taobao") for g in groups]
    assert [s.pid.rsplit("_", 1)[1] for s in held] == ["130000000001", "130000000002", "110000000001"]
    assert held[2].tag == "g2@chatroom", "pool used up: the PID's own adzone, tagged so links cache apart"
    product = (await lg.search(SearchQuery(keyword="纸巾", limit=1)))[0]
    for spot in held[:2]:
        await lg.promote(product, spot)  # the face records an order a minute after each link
    start = datetime.now(UTC) - timedelta(hours=1)
    orders = await lg.orders_since(start, until=datetime.now(UTC) + timedelta(hours=1))
    assert len(orders) == 2
    owners = {group_of_identity(engine, "taobao", o.pid, o.tag) for o in orders}
    assert owners == {groups[0].id, groups[1].id}
    await lg.aclose()
