"""`ChannelsLeague.sharer_status` against the sandbox over loopback HTTP: the register-and-bind status
call as the reference describes it (§1.8), a catalogue sharer bound from the start, a new one bound
after the bind step, a malformed appid refused with the league's errcode."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.leagues.base import LeagueError, QuotaExhausted
from bot.leagues.wechat.errors import WechatApiError
from bot.leagues.wechat.league import ChannelsLeague
from tuike_sandbox.http import Request
from tuike_sandbox.server import PROMOTER, SandboxServer

STATUS = PROMOTER + "get_promoter_register_and_bind_status"


async def test_a_catalogue_sharer_is_bound_with_its_nickname_and_bind_time(
    channels_league: ChannelsLeague, sandbox: SandboxServer
) -> None:
    sharer = sandbox.state.catalogue.sharers[2]
    status = await channels_league.sharer_status(sharer.sharer_appid)
    assert status.bound and status.register_status == 2
    assert status.sharer_appid == sharer.sharer_appid
    assert status.nickname == sharer.nickname
    assert status.bound_at is not None and status.bound_at < datetime.now(UTC)


async def test_the_call_carries_the_appid_and_the_simple_register_flag(
    channels_league: ChannelsLeague, sandbox: SandboxServer
) -> None:
    seen: list[dict[str, object]] = []
    api = sandbox.api
    original = api.routes[STATUS]

    def spy(request: Request, body: dict[str, object]) -> dict[str, object]:
        assert request.method == "POST" and request.query.get("access_token")
        seen.append(json.loads(request.body))
        return original(request, body)

    api.routes[STATUS] = spy
    await channels_league.sharer_status("wx_sharer_demo01")
    assert seen == [{"sharer_appid": "wx_sharer_demo01", "is_simple_register": True}]


async def test_a_new_sharer_is_registered_not_bound_until_the_bind_step(
    channels_league: ChannelsLeague, sandbox: SandboxServer
) -> None:
    appid = "wx3f9a1c2b7d5e8f60"
    first = await channels_league.sharer_status(appid)
    assert not first.bound and first.register_status == 2
    assert appid in first.bind_query_string and first.bind_business_type
    assert first.nickname == "" and first.bound_at is None

    sandbox.state.complete_binding(appid)
    after = await channels_league.sharer_status(appid)
    assert after.bound and after.bind_query_string == ""
    assert after.nickname, "a sharer bound in the sandbox is listed with a nickname"
    assert after.bound_at is not None
    listed = [s async for s in channels_league.client.sharers()]
    assert appid in {s["sharer_appid"] for s in listed}


async def test_the_second_status_query_completes_the_binding_by_itself(
    channels_league: ChannelsLeague,
) -> None:
    appid = "wx0011223344556677"
    assert not (await channels_league.sharer_status(appid)).bound
    assert (await channels_league.sharer_status(appid)).bound
    assert (await channels_league.sharer_status(appid)).bound, "and it stays bound"


@pytest.mark.parametrize("appid", ["abc", "wx", "wx 1234567", "wx12345678901234567890123456789012345"])
async def test_a_malformed_appid_gets_the_leagues_errcode(
    channels_league: ChannelsLeague, appid: str
) -> None:
    with pytest.raises(WechatApiError) as caught:
        await channels_league.sharer_status(appid)
    assert caught.value.errcode == 10024003


async def test_league_trouble_is_a_league_error(
    channels_league: ChannelsLeague, sandbox: SandboxServer
) -> None:
    sandbox.state.reset_faults(quota_exhausted=True)
    with pytest.raises(QuotaExhausted):
        await channels_league.sharer_status("wx_sharer_demo01")
    sandbox.state.reset_faults(fail_next=[10024000])
    with pytest.raises(LeagueError):
        await channels_league.sharer_status("wx_sharer_demo01")
