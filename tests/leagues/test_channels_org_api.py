"""The §1.12 endpoints (funds, windows, feeds, live previews) and clues: the client against the
sandbox over real HTTP on 127.0.0.1 — paging, errors, the wire's own quirks."""

from __future__ import annotations

import pytest

from bot.leagues.base import LeagueConfigError
from bot.leagues.metering import LEDGER
from bot.leagues.wechat.client import HEADSUPPLIER, PROMOTER, ChannelsClient
from tuike_sandbox.server import SandboxServer


async def test_balance_takes_an_empty_object_and_answers_fen(
    channels_client: ChannelsClient, sandbox: SandboxServer
) -> None:
    data = await channels_client.funds_balance()
    assert isinstance(data["available_amount"], int) and isinstance(data["pending_amount"], int)
    assert data["available_amount"] == sandbox.state.flows()[-1]["balance"]


async def test_flow_ids_come_over_numbered_pages(
    channels_client: ChannelsClient, sandbox: SandboxServer
) -> None:
    state = sandbox.state
    added = [state.add_flow(100 + n, order_id=f"x{n}") for n in range(23)]
    ids = [flow_id async for flow_id in channels_client.funds_flow_ids(page_size=5)]
    assert ids == [f["flow_id"] for f in state.flows()]
    assert set(added) <= set(ids) and len(ids) == len(set(ids)) == 24  # the opening withdrawal too
    assert state.calls[HEADSUPPLIER + "funds/flowlist/get"] == 5


async def test_deep_flow_pages_need_the_next_key(
    channels_client: ChannelsClient, sandbox: SandboxServer
) -> None:
    """Past page × page_size = 5,000 the league wants the previous page's next_key: the client
    passes it on, so it reads on; a page asked without it is refused."""
    state = sandbox.state
    for n in range(5_050):
        state.add_flow(1, order_id=f"deep{n}", at=state.started - 86400 + n)
    ids = [flow_id async for flow_id in channels_client.funds_flow_ids(page_size=100)]
    assert len(ids) == 5_051
    with pytest.raises(Exception, match="10024000"):
        await channels_client.call(HEADSUPPLIER + "funds/flowlist/get", {"page": 51, "page_size": 100})


async def test_flow_time_window_and_detail(channels_client: ChannelsClient, sandbox: SandboxServer) -> None:
    state = sandbox.state
    inside = state.add_flow(4, order_id="123455678", at=state.started - 3600)
    state.add_flow(9, order_id="older", at=state.started - 10 * 86400)
    start = int(state.started) - 7200
    ids = [i async for i in channels_client.funds_flow_ids(start=start, end=int(state.started))]
    assert ids == [inside]
    detail = (await channels_client.funds_flow_detail(inside))["funds_flow"]
    assert detail["amount"] == 4 and detail["funds_type"] == 2 and detail["order_id"] == "123455678"
    assert len(detail["bookkeeping_time"]) == 19  # "YYYY-MM-DD HH:MM:SS"
    with pytest.raises(Exception, match="10024008"):
        await channels_client.funds_flow_detail("404")


async def test_no_funds_permission_is_48001_and_not_the_league_failing(
    channels_client: ChannelsClient, sandbox: SandboxServer
) -> None:
    sandbox.state.funds_permitted = False
    with pytest.raises(LeagueConfigError, match="48001"):
        await channels_client.funds_balance()
    assert LEDGER.health("channels").failing == 0, "an answer, not the league failing"


async def test_window_offsets_and_detail(channels_client: ChannelsClient, sandbox: SandboxServer) -> None:
    catalogue = sandbox.state.catalogue
    talent = catalogue.talents[0]
    items = [item async for item in channels_client.window_products(talent.openfinderid)]
    expected = [w.product_id for w in catalogue.windows if w.openfinderid == talent.openfinderid]
    assert [i["product_id"] for i in items] == expected and len(expected) > 100
    assert sandbox.state.calls[HEADSUPPLIER + "window/getall"] == 2
    detail = await channels_client.window_product(talent.openfinderid, expected[0])
    assert "sale_price" not in str(detail), "the window detail carries no price"
    assert detail["product_detail"]["product_info"]["title"]
    other = next(p for p in catalogue.products if p.product_id not in set(expected))
    with pytest.raises(Exception, match="10024020"):
        await channels_client.window_product(talent.openfinderid, other.product_id)


async def test_window_of_an_unauthorised_or_unknown_talent(
    channels_client: ChannelsClient, sandbox: SandboxServer
) -> None:
    refused = next(t for t in sandbox.state.catalogue.talents if not t.window_authorised)
    with pytest.raises(Exception, match="10024011"):
        [i async for i in channels_client.window_products(refused.openfinderid)]
    with pytest.raises(Exception, match="10024001"):
        [i async for i in channels_client.window_products("nobody")]


async def test_feeds_page_by_ten_and_shares_are_per_sharer(
    channels_client: ChannelsClient, sandbox: SandboxServer
) -> None:
    catalogue = sandbox.state.catalogue
    talent = next(
        t for t in catalogue.talents if sum(f.talent_appid == t.talent_appid for f in catalogue.feeds) > 10
    )
    feeds = [f async for f in channels_client.feeds(talent.talent_appid)]
    assert [f["export_id"] for f in feeds] == [
        f.export_id for f in catalogue.feeds if f.talent_appid == talent.talent_appid
    ]
    assert isinstance(feeds[0]["product_info"], dict), "one product per feed, not a list"
    with pytest.raises(Exception, match="10024000"):
        await channels_client.call(
            PROMOTER + "get_feed_list", {"talent_appid": talent.talent_appid, "next_key": "", "page_size": 11}
        )
    ids = [f["export_id"] for f in feeds[:3]]
    mine = await channels_client.feed_promotion(talent.talent_appid, "wx_sandbox_mp", ids, "wx_sharer_demo02")
    org = await channels_client.feed_promotion(talent.talent_appid, "wx_sandbox_mp", ids)
    assert [f["export_id"] for f in mine["feed_list"]] == ids
    assert mine["feed_list"][0]["promoter_share_link"] != org["feed_list"][0]["promoter_share_link"]
    sandbox.state.removed_feeds.add(ids[1])
    after = await channels_client.feed_promotion(talent.talent_appid, "wx_sandbox_mp", ids)
    assert [f["export_id"] for f in after["feed_list"]] == [ids[0], ids[2]]
    with pytest.raises(Exception, match="10024000"):  # bare strings, not {export_id} objects
        await channels_client.call(
            PROMOTER + "get_feed_promotion_info",
            {"talent_appid": talent.talent_appid, "mini_program_appid": "wx_sandbox_mp", "feed_list": ids},
        )


async def test_live_preview_share_link_needs_all_four(
    channels_client: ChannelsClient, sandbox: SandboxServer
) -> None:
    talent = sandbox.state.catalogue.lives[1].talent_appid
    notices = await channels_client.live_notices(talent, "wx_sandbox_mp")
    notice = notices["live_notice_record_list"][0]["notice_id"]
    link = await channels_client.live_notice_share_link(talent, "wx_sandbox_mp", notice, "wx_sharer_demo01")
    assert link["promoter_share_link"].endswith("wx_sharer_demo01")
    with pytest.raises(Exception, match="10024000"):
        await channels_client.live_notice_share_link(talent, "wx_sandbox_mp", notice, "")


async def test_clues_list_and_detail(channels_client: ChannelsClient, sandbox: SandboxServer) -> None:
    listed = [c async for c in channels_client.clues()]
    assert len(listed) == len(sandbox.state.clues()) > 0
    detail = await channels_client.clue_detail(listed[0]["order_id"], listed[0]["sku_id"])
    clue = detail["commssion_clue"]
    assert clue["clue_detail"]["product_info"]["title"]
    assert clue["clue_detail"]["sharer_info"]["sharer_appid"].startswith("wx_sharer_demo")
