"""The Channels client against the sandbox over real HTTP on 127.0.0.1: every endpoint, pages, faults."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.leagues.base import LeagueConfigError, ProductNotFound
from bot.leagues.wechat.client import ChannelsClient
from bot.leagues.wechat.errors import QuotaExhausted, RetriesExhausted
from tests.helpers import tuike
from tuike_sandbox.server import SandboxServer

PROMOTER = "/channels/ec/promoter/"


async def test_product_list_pages_with_next_key(
    channels_client: ChannelsClient, sandbox: SandboxServer
) -> None:
    first = await channels_client.product_list(keyword="蓝牙耳机", page_size=5)
    assert first["errcode"] == 0
    assert len(first["product_list"]) == 5
    assert first["next_key"]
    seen = [
        p["product_id"]
        async for p in channels_client.pages(
            PROMOTER + "get_promote_product_list", {"plan_type": 2, "keyword": "蓝牙耳机"}, "product_list", 7
        )
    ]
    assert len(seen) == len(set(seen)) >= 15, "all pages, no repeats"
    assert all(isinstance(pid, int) for pid in seen), "product ids are numbers on the wire"
    assert sandbox.state.calls[PROMOTER + "get_promote_product_list"] >= 4


async def test_page_size_over_twenty_is_refused_by_the_league(channels_client: ChannelsClient) -> None:
    with pytest.raises(Exception, match="10024000"):
        await channels_client.call(
            PROMOTER + "get_promote_product_list", {"plan_type": 2, "next_key": "", "page_size": 21}
        )


async def test_detail_links_and_coupons(channels_client: ChannelsClient, sandbox: SandboxServer) -> None:
    product = next(p for p in sandbox.state.catalogue.products if p.coupon_ids and p.status == 1)
    detail = await channels_client.product_detail(product.shop_appid, product.product_id)
    info = detail["product"]["product_info"]
    assert info["title"] == product.title
    assert [s["sale_price"] for s in info["skus"]] == [s.price_fen for s in product.skus]
    coupon_ids = [
        c["coupon_id"] for c in detail.get("publish_coupons", []) + detail.get("cooperative_coupons", [])
    ]
    assert coupon_ids == list(product.coupon_ids)
    coupon = await channels_client.coupon_detail(coupon_ids[0])
    assert coupon["coupon"]["coupon_info"]["discount_info"]["discount_condition"]["product_ids"] == [
        str(product.product_id)
    ]
    link = await channels_client.promotion_link(product.shop_appid, product.product_id, "wx_sharer_demo01")
    assert link["http_short_link"].startswith("https://store.weixin.qq.com/shop/a/")
    again = await channels_client.promotion_link(
        "", None, "wx_sharer_demo01", short_link=link["http_short_link"]
    )
    assert again["http_short_link"] == link["http_short_link"], "the same product and sharer keep their link"
    qr = await channels_client.promotion_qrcode(product.shop_appid, product.product_id, "wx_sharer_demo01")
    assert qr["qrcode_url"].startswith("https://")
    card = await channels_client.single_product_info(
        product.shop_appid, product.product_id, "wx_sharer_demo01"
    )
    assert card["product_promotion_link"]
    short = await channels_client.coupon_short_link(coupon_ids[0], "wx_sharer_demo01")
    assert short["short_link"]
    with pytest.raises(ProductNotFound):
        await channels_client.product_detail(product.shop_appid, 1)


async def test_coupon_lists_sharers_lives_categories_orders_quota(
    channels_client: ChannelsClient, sandbox: SandboxServer
) -> None:
    cooperative = [c async for c in channels_client.coupons(cooperative=True, page_size=50)]
    public = [c async for c in channels_client.coupons(cooperative=False, page_size=50)]
    assert len(cooperative) + len(public) == len(sandbox.state.catalogue.coupons)
    sharers = [s async for s in channels_client.sharers(page_size=2)]
    assert {s["sharer_appid"] for s in sharers} >= {
        "wx_sharer_demo01",
        "wx_sharer_demo02",
        "wx_sharer_demo03",
    }
    await channels_client.set_sharer_commission("wx_sharer_demo02", 0, 250_000)
    updated = [s async for s in channels_client.sharers()]
    assert next(s for s in updated if s["sharer_appid"] == "wx_sharer_demo02")["commission_ratio"] == 250_000
    with pytest.raises(Exception, match="10024000"):
        await channels_client.set_sharer_commission("wx_sharer_demo02", 0, 950_000)
    status = await channels_client.register_and_bind_status("wx_sharer_demo01")
    assert status["bind_status"] == 1
    talent = sandbox.state.catalogue.talents[0].talent_appid
    notices = await channels_client.live_notices(talent, "wx_sandbox_mp")
    assert notices["live_notice_record_list"]
    notice = notices["live_notice_record_list"][0]
    assert (await channels_client.live_notice_qrcode(talent, notice["notice_id"]))["qrcode_url"]
    records = await channels_client.live_records(talent, "wx_sandbox_mp", "wx_sharer_demo01")
    assert isinstance(records["live_record_list"], list)
    tree = await channels_client.category_tree()
    assert {"食品生鲜", "家清日用"} <= {c["name"] for c in tree["cats_v2"]}
    assert any(c["cat_id"] == "11099070301657575487" for c in tree["cats_v2"]), "big ids stay strings"
    product = sandbox.state.catalogue.products[0]
    await channels_client.promotion_link(product.shop_appid, product.product_id, "wx_sharer_demo01")
    orders = [o async for o in channels_client.orders(update_since=0)]
    assert orders, "links the sandbox issued bring orders"
    detail = await channels_client.order_detail(orders[0]["order_id"], orders[0]["sku_id"])
    sharer = detail["commssion_order"]["order_detail"]["commission_info"]["sharer_info"]
    assert sharer["sharer_appid"] == "wx_sharer_demo01"
    assert [c async for c in channels_client.clues(since=0)], "the sandbox's clues are in the past days"
    assert [c async for c in channels_client.clues(since=int(sandbox.state.started))] == []
    quota = await channels_client.quota(PROMOTER + "get_promote_product_list")
    assert quota["quota"]["daily_limit"] > 0


async def test_token_expiring_mid_run_is_refreshed_once_without_error(
    channels_client: ChannelsClient, sandbox: SandboxServer
) -> None:
    await channels_client.product_list(keyword="纸巾")
    assert channels_client.tokens.requests == 1
    sandbox.state.expire_all_tokens()
    data = await channels_client.product_list(keyword="纸巾")
    assert data["product_list"]
    assert channels_client.tokens.requests == 2


async def test_concurrent_callers_during_a_refresh_make_one_token_request(
    channels_client: ChannelsClient, sandbox: SandboxServer
) -> None:
    sandbox.state.reset_faults(latency_s=0.02)
    results = await asyncio.gather(
        *(channels_client.product_list(keyword="牛奶", page_size=2) for _ in range(16))
    )
    assert all(r["product_list"] for r in results)
    assert channels_client.tokens.requests == 1
    sandbox.state.expire_all_tokens()
    await asyncio.gather(*(channels_client.product_list(keyword="牛奶", page_size=2) for _ in range(16)))
    assert channels_client.tokens.requests == 2


async def test_token_survives_a_restart_through_the_store(sandbox: SandboxServer, engine) -> None:  # type: ignore[no-untyped-def]
    first = ChannelsClient(sandbox.base_url, "wx_restart", "s", engine=engine)
    await first.product_list(keyword="口红")
    await first.aclose()
    second = ChannelsClient(sandbox.base_url, "wx_restart", "s", engine=engine)
    await second.product_list(keyword="口红")
    await second.aclose()
    assert second.tokens.requests == 0, "a restart reuses the stored token"
    assert sandbox.state.calls["/cgi-bin/stable_token"] == 1


@pytest.mark.parametrize("fault", [[-1], [45011], [500], [-2], [-1, 500]])
async def test_transient_faults_are_retried(
    channels_client: ChannelsClient, sandbox: SandboxServer, fault: list[int]
) -> None:
    await channels_client.tokens.token()
    sandbox.state.reset_faults(fail_next=list(fault))
    data = await channels_client.product_list(keyword="充电宝")
    assert data["product_list"]


async def test_retries_exhausted_is_a_clean_error(
    channels_client: ChannelsClient, sandbox: SandboxServer
) -> None:
    await channels_client.tokens.token()
    sandbox.state.reset_faults(error_rate=1.0)
    with pytest.raises(RetriesExhausted):
        await channels_client.product_list(keyword="充电宝")
    assert sandbox.state.calls[PROMOTER + "get_promote_product_list"] == channels_client.max_retries + 1


async def test_timeouts_are_retried_then_exhausted(sandbox: SandboxServer, engine) -> None:  # type: ignore[no-untyped-def]
    # the token first, in the store, with time to spare: the 50 ms tries are for the slow answers
    # below, not for a busy machine's first request
    earlier = ChannelsClient(sandbox.base_url, "wx_slow", "s", engine=engine)
    await earlier.tokens.token()
    await earlier.aclose()
    client = ChannelsClient(
        sandbox.base_url, "wx_slow", "s", engine=engine, timeout=0.05, max_retries=1, backoff=0.001
    )
    sandbox.state.reset_faults(latency_s=0.2)
    with pytest.raises(RetriesExhausted, match="get_promote_product_list: gave up after 2 tries"):
        await client.product_list(keyword="充电宝")
    assert client.tokens.requests == 0, "the stored token was used"
    await client.aclose()


async def test_quota_exhausted(channels_client: ChannelsClient, sandbox: SandboxServer) -> None:
    await channels_client.tokens.token()
    sandbox.state.reset_faults(quota_exhausted=True)
    with pytest.raises(QuotaExhausted):
        await channels_client.product_list(keyword="充电宝")
    assert (await channels_client.quota(PROMOTER + "get_promote_product_list"))["quota"]["remain"] == 0


@pytest.mark.parametrize(
    ("appid", "secret", "words"),
    [("wx_bad", "topsecret-1", "appid"), ("wx_ok", "wrong", "secret"), ("wx_noip", "topsecret-2", "IP")],
)
async def test_credential_problems_tell_the_operator_what_to_fix(
    sandbox: SandboxServer, appid: str, secret: str, words: str
) -> None:
    client = ChannelsClient(sandbox.base_url, appid, secret)
    with pytest.raises(LeagueConfigError, match=words):
        await client.product_list(keyword="x")
    await client.aclose()
    assert secret not in repr(client.tokens)


async def test_classic_token_mode(sandbox: SandboxServer) -> None:
    client = ChannelsClient(sandbox.base_url, "wx_classic", "s", token_mode="classic")
    assert (await client.product_list(keyword="茶叶"))["product_list"]
    await client.aclose()
    assert sandbox.state.calls["/cgi-bin/token"] == 1


async def test_wrong_verb_and_bad_json_get_the_wechat_errcodes(
    sandbox: SandboxServer, channels_client: ChannelsClient
) -> None:
    token = await channels_client.tokens.token()
    http = channels_client.http
    wrong_verb = await http.get(PROMOTER + "get_promote_product_list", params={"access_token": token})
    assert wrong_verb.json()["errcode"] == 43002
    bad_json = await http.post(
        PROMOTER + "get_promote_product_list", params={"access_token": token}, content=b"{not json"
    )
    assert bad_json.json()["errcode"] == 47001
    no_token = await http.post(PROMOTER + "get_promote_product_list", content=b"{}")
    assert no_token.json()["errcode"] == 41001


def test_search_and_promote_cli_on_the_embedded_sandbox(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    found = tuike("search", "蓝牙耳机", "--league", "channels", "--limit", "3", "--json", cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    rows = [json.loads(line) for line in found.stdout.splitlines()]
    assert len(rows) == 3
    for row in rows:
        assert {"platform", "id", "title", "price_fen", "coupon_fen", "commission_fen"} <= set(row)
        assert row["final_price_fen"] == row["price_fen"] - row["coupon_fen"]
    promoted = tuike("promote", rows[0]["id"], "--json", cwd=tmp_path)
    assert promoted.returncode == 0, promoted.stderr
    link = json.loads(promoted.stdout)
    assert link["http_short_link"].startswith("https://store.weixin.qq.com/shop/a/")
    assert link["sharer_appid"] == "wx_sharer_demo01"
    missing = tuike("promote", rows[0]["id"], "--group", "没有的群", cwd=tmp_path)
    assert missing.returncode == 2
    assert "没有这个群" in missing.stderr
    nonsense = tuike("promote", "hello", cwd=tmp_path)
    assert nonsense.returncode == 2


def test_real_api_without_credentials_is_a_config_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "c.toml"
    config.write_text("[leagues.channels]\nsandbox = false\n", encoding="utf-8")
    result = tuike("--config", str(config), "search", "x", cwd=tmp_path)
    assert result.returncode == 2
    assert "leagues.channels" in result.stderr
    assert "appid and secret" in result.stderr


def test_quota_cli_reports_use_per_api(tmp_path: Path) -> None:
    result = tuike("quota", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "get_promote_product_list" in result.stdout
    assert "/ 100000" in result.stdout
    assert "订单列表 league/headsupplier/order/list/get" in result.stdout  # no row named just "get"
    assert not any(line.split()[0] == "get" for line in result.stdout.splitlines() if line.strip())
    assert "沙盒模式" in result.stdout and "联盟" in result.stdout  # says it cannot see the running bot


async def test_a_retry_says_why_even_when_the_error_has_no_text(
    sandbox: SandboxServer,
    engine,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
) -> None:
    """httpx's timeouts carry no text: the log named no reason at all (`failed (), retry`)."""
    client = ChannelsClient(
        sandbox.base_url, "wx_slow2", "s", engine=engine, timeout=0.05, max_retries=1, backoff=0.001
    )
    await client.tokens.token()
    sandbox.state.reset_faults(latency_s=0.2)
    with caplog.at_level(logging.INFO), pytest.raises(RetriesExhausted) as raised:
        await client.product_list(keyword="充电宝")
    await client.aclose()
    assert "failed (ReadTimeout), retry 1" in caplog.text
    assert "()" not in caplog.text
    assert str(raised.value).endswith("2 tries: ReadTimeout")
