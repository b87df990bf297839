"""The Ele.me and Meituan clients against the sandbox over real HTTP on 127.0.0.1: signing (the
reference's vectors, and the gateways refusing a wrong one), a link made per group's sid, an ended
activity, a refused sid, orders attributed by sid, and one league down."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bot.config import ConfigError, parse_settings
from bot.leagues.base import LeagueConfigError, LeagueUnavailable, SearchQuery, Spot
from bot.leagues.capabilities import HasTakeout, IssuesSpots, SyncsOrders
from bot.leagues.eleme.client import OFFICIAL_ACTIVITY, ElemeClient
from bot.leagues.eleme.league import ElemeLeague
from bot.leagues.eleme.sandbox_account import SANDBOX_APP_KEY as ELEME_KEY
from bot.leagues.eleme.sandbox_account import SANDBOX_APP_SECRET as ELEME_SECRET
from bot.leagues.eleme.sandbox_account import SANDBOX_PID
from bot.leagues.meituan.client import MeituanClient
from bot.leagues.meituan.league import MeituanLeague
from bot.leagues.meituan.sandbox_account import SANDBOX_APP_KEY as MEITUAN_KEY
from bot.leagues.meituan.sandbox_account import SANDBOX_APP_SECRET as MEITUAN_SECRET
from bot.leagues.meituan.signing import content_md5, signature, string_to_sign
from bot.leagues.registry import BY_NAME
from bot.leagues.setup import open_leagues
from bot.leagues.takeout import group_sid
from bot.leagues.taobao.errors import TopApiError
from tuike_sandbox.eleme_face import ElemeFace
from tuike_sandbox.meituan_face import MeituanFace
from tuike_sandbox.server import SandboxServer

TAKEOUT, WECHAT, SUPERMARKET = "20150318019998877", "20150318020002192", "1585018034441"
GROUP_A, GROUP_B = (
    Spot("eleme", tag=group_sid("room-a@chatroom")),
    Spot("eleme", tag=group_sid("room-b@chatroom")),
)


@pytest.fixture
async def server() -> AsyncIterator[SandboxServer]:
    async with SandboxServer() as sandbox:
        yield sandbox


def eleme_face(server: SandboxServer) -> ElemeFace:
    face: ElemeFace = server.face("/router/rest").extensions["eleme"]
    return face


def meituan_face(server: SandboxServer) -> MeituanFace:
    face: MeituanFace = server.face("/cps_open/common/api/v1/get_referral_link")
    return face


def eleme(
    server: SandboxServer, *, secret: str = ELEME_SECRET, activities: tuple[str, ...] = (TAKEOUT,)
) -> ElemeLeague:
    client = ElemeClient(
        server.base_url + "/router/rest", ELEME_KEY, secret, backoff=0.001, timeout=10, max_retries=1
    )
    return ElemeLeague(client, pid=SANDBOX_PID, activity_ids=activities)


def meituan(
    server: SandboxServer, *, secret: str = MEITUAN_SECRET, acts: tuple[str, ...] = ("33",), clock: Any = None
) -> MeituanLeague:
    extra = {"clock": clock} if clock is not None else {}
    client = MeituanClient(
        server.base_url + "/cps_open/common/api/v1",
        MEITUAN_KEY,
        secret,
        backoff=0.001,
        timeout=10,
        max_retries=1,
        **extra,
    )
    return MeituanLeague(client, act_ids=acts)


# -- signing ----------------------------------------------------------------------------------------


def test_meituan_signature_matches_the_reference_vectors() -> None:
    body = b'{"actId":33,"linkType":2,"sid":"tk_group01"}'
    md5 = content_md5(body)
    assert md5 == "oFmsc0VsfHUIecyX38AbTg=="
    text = string_to_sign(
        "POST",
        md5,
        {"S-Ca-App": "test-app", "S-Ca-Timestamp": "1790496000000"},
        "/cps_open/common/api/v1/get_referral_link",
    )
    assert signature("test-secret", text) == "GGYjNiCUBu8eZJWdkvDcxgfG8aukclvNhc1TMTG7Ong="
    pinned = (
        b'{"endTime":1790496000,"limit":100,"page":1,"queryTimeType":2,"searchType":2,"startTime":1790494200}'
    )
    assert content_md5(pinned) == "fZoSpUUECIApXyXOe+dCoA=="


async def test_meituan_refuses_a_wrong_secret_a_stale_clock_and_a_timestamp_in_seconds(
    server: SandboxServer,
) -> None:
    wrong = meituan(server, secret="not-the-secret")
    with pytest.raises(LeagueConfigError, match="鉴权不通过"):
        await wrong.takeout_links(Spot("meituan", tag="tk_a"))
    await wrong.aclose()
    stale = meituan(server, clock=lambda: datetime.now(UTC).timestamp() - 300)
    with pytest.raises(LeagueConfigError, match="时间戳"):
        await stale.takeout_links(Spot("meituan", tag="tk_a"))
    await stale.aclose()
    # the right signature over a timestamp in seconds is still refused
    client = MeituanClient(server.base_url + "/cps_open/common/api/v1", MEITUAN_KEY, MEITUAN_SECRET)
    body = b'{"actId":33,"linkType":2}'
    headers = client.headers("get_referral_link", body)
    seconds = str(int(datetime.now(UTC).timestamp()))
    headers["S-Ca-Timestamp"] = seconds
    headers["S-Ca-Signature"] = signature(
        MEITUAN_SECRET,
        string_to_sign(
            "POST",
            content_md5(body),
            {"S-Ca-App": MEITUAN_KEY, "S-Ca-Timestamp": seconds},
            "/cps_open/common/api/v1/get_referral_link",
        ),
    )
    async with httpx.AsyncClient() as http:
        answer = (
            await http.post(
                server.base_url + "/cps_open/common/api/v1/get_referral_link", content=body, headers=headers
            )
        ).json()
        assert answer["code"] == 400 and "毫秒" in answer["message"]
        # a body changed after signing: Content-MD5 no longer matches
        good = client.headers("get_referral_link", body)
        answer = (
            await http.post(
                server.base_url + "/cps_open/common/api/v1/get_referral_link",
                content=b'{"actId":34,"linkType":2}',
                headers=good,
            )
        ).json()
        assert answer["code"] == 400 and "Content-MD5" in answer["message"]
    await client.aclose()


async def test_eleme_is_signed_like_taobao_and_a_wrong_secret_names_the_eleme_table(
    server: SandboxServer,
) -> None:
    league = eleme(server, secret="wrong-secret")
    with pytest.raises(LeagueConfigError) as refused:
        await league.takeout_links(GROUP_A)
    assert "[leagues.eleme]" in str(refused.value) and "taobao" not in str(refused.value)
    assert "wrong-secret" not in str(refused.value)
    await league.aclose()


async def test_eleme_query_request_goes_as_one_json_string(server: SandboxServer) -> None:
    client = ElemeClient(server.base_url + "/router/rest", ELEME_KEY, ELEME_SECRET, backoff=0.001, timeout=10)
    # the same fields sent flat are not the request: the gateway sees no query_request
    with pytest.raises(TopApiError, match="40"):
        await client.call(OFFICIAL_ACTIVITY, {"pid": SANDBOX_PID, "activity_id": TAKEOUT})
    data = await client.official_activity(pid=SANDBOX_PID, activity_id=TAKEOUT, sid="tk_x")
    assert data["link"]["h5_short_link"].startswith("https://s.click.ele.me/")
    top = server.face("/router/rest")
    sent = top.forms[-1]["query_request"]
    assert json.loads(sent) == {
        "pid": SANDBOX_PID,
        "activity_id": TAKEOUT,
        "sid": "tk_x",
        "include_wx_img": False,
    }
    await client.aclose()


# -- links per group ----------------------------------------------------------------------------------


async def test_each_group_gets_its_own_eleme_link_with_a_mini_program(server: SandboxServer) -> None:
    league = eleme(server, activities=(TAKEOUT, WECHAT))
    a, b = await league.takeout_links(GROUP_A), await league.takeout_links(GROUP_B)
    assert [link.activity_id for link in a] == [TAKEOUT, WECHAT]
    assert {link.url for link in a}.isdisjoint({link.url for link in b})
    first = a[0]
    assert first.url.startswith("https://s.click.ele.me/") and first.title
    assert first.mini_program == {
        "appid": "wxece3a9a4c82f58c9",
        "path": f"pages/sharePid/web/index?scene={first.url}",
    }
    assert [q["sid"] for q in eleme_face(server).queries] == [GROUP_A.tag] * 2 + [GROUP_B.tag] * 2
    assert first.as_json() == {
        "platform": "eleme",
        "title": first.title,
        "url": first.url,
        "mini_program": first.mini_program,
    }
    await league.aclose()


async def test_each_group_gets_its_own_meituan_link(server: SandboxServer) -> None:
    league = meituan(server)
    [a] = await league.takeout_links(Spot("meituan", tag=GROUP_A.tag))
    [b] = await league.takeout_links(Spot("meituan", tag=GROUP_B.tag))
    assert a.url != b.url and a.url.startswith("https://dpurl.cn/")
    assert a.title == "美团外卖红包"
    assert a.mini_appid == "wxde8ac0a21135c07d" and a.mini_path.startswith("/index/pages/h5/h5?")
    bodies = meituan_face(server).bodies
    assert [body["sid"] for body in bodies] == [GROUP_A.tag, GROUP_B.tag]
    assert bodies[0]["actId"] == 33 and bodies[0]["linkTypeList"] == [2, 4]
    await league.aclose()


async def test_an_ended_activity_is_left_out_and_the_others_still_answer(server: SandboxServer) -> None:
    eleme_face(server).ended.add(WECHAT)
    league = eleme(server, activities=(WECHAT, TAKEOUT))
    assert [link.activity_id for link in await league.takeout_links(GROUP_A)] == [TAKEOUT]
    await league.aclose()
    meituan_face(server).ended.add("34")
    mt = meituan(server, acts=("34", "33"))
    assert [link.activity_id for link in await mt.takeout_links(Spot("meituan", tag="tk_a"))] == ["33"]
    await mt.aclose()


async def test_a_refused_sid_still_gets_the_member_a_link(server: SandboxServer) -> None:
    eleme_face(server).refused_sids.add(GROUP_A.tag)
    meituan_face(server).refused_sids.add(GROUP_A.tag)
    league, mt = eleme(server), meituan(server)
    [link] = await league.takeout_links(GROUP_A)
    assert link.sid == "" and link.url.startswith("https://s.click.ele.me/")
    [made] = await mt.takeout_links(Spot("meituan", tag=GROUP_A.tag))
    assert made.sid == "" and made.url.startswith("https://dpurl.cn/")
    await league.aclose()
    await mt.aclose()


async def test_meituan_refusing_the_account_is_said_plainly(server: SandboxServer) -> None:
    meituan_face(server).refuse_account = True
    league = meituan(server)
    with pytest.raises(LeagueConfigError, match="个人账号"):
        await league.takeout_links(Spot("meituan", tag="tk_a"))
    await league.aclose()


async def test_one_league_down_leaves_the_other_answering(server: SandboxServer) -> None:
    meituan_face(server).faults.down = True
    mt, league = meituan(server), eleme(server)
    with pytest.raises(LeagueUnavailable):
        await mt.takeout_links(Spot("meituan", tag="tk_a"))
    assert await league.takeout_links(GROUP_A)
    meituan_face(server).faults.down = False
    meituan_face(server).faults.fail_next = [500, "malformed"]
    client = MeituanClient(
        server.base_url + "/cps_open/common/api/v1",
        MEITUAN_KEY,
        MEITUAN_SECRET,
        backoff=0.001,
        timeout=10,
        max_retries=2,
    )
    assert await MeituanLeague(client, act_ids=("33",)).takeout_links(
        Spot("meituan", tag="tk_a")
    )  # retried through
    await client.aclose()
    await mt.aclose()
    await league.aclose()


# -- orders -------------------------------------------------------------------------------------------


async def test_orders_come_back_with_the_groups_sid(server: SandboxServer) -> None:
    league, mt = eleme(server), meituan(server)
    since = datetime.now(UTC) - timedelta(minutes=5)
    await league.takeout_links(GROUP_A)
    await mt.takeout_links(Spot("meituan", tag=GROUP_B.tag))
    eleme_face(server).add_order(GROUP_B.tag, pay_fen=4590, order_state=0)
    until = datetime.now(UTC) + timedelta(minutes=5)
    orders = await league.orders_since(since, until)
    by_tag = {o.tag: o for o in orders}
    assert set(by_tag) == {GROUP_A.tag, GROUP_B.tag}
    assert by_tag[GROUP_A.tag].status == "pending" and by_tag[GROUP_A.tag].paid_fen > 0
    assert by_tag[GROUP_A.tag].commission_fen == by_tag[GROUP_A.tag].paid_fen * 6 // 100
    assert by_tag[GROUP_B.tag].status == "cancelled" and by_tag[GROUP_B.tag].commission_fen == 0
    [bought] = await mt.orders_since(since, until)
    assert (
        bought.tag == GROUP_B.tag
        and bought.paid_fen > 0
        and bought.commission_fen == bought.paid_fen * 5 // 100
    )
    await league.aclose()
    await mt.aclose()


async def test_many_orders_are_read_page_by_page(server: SandboxServer) -> None:
    now = datetime.now(UTC)
    for n in range(120):
        eleme_face(server).add_order(f"tk_{n}", at=now - timedelta(minutes=1))
        meituan_face(server).add_order(f"tk_{n}", at=now - timedelta(minutes=1))
    league, mt = eleme(server), meituan(server)
    assert len(await league.orders_since(now - timedelta(hours=1), now)) == 120
    assert len(await mt.orders_since(now - timedelta(hours=1), now)) == 120
    await league.aclose()
    await mt.aclose()


# -- config and setup ---------------------------------------------------------------------------------


def test_keys_as_the_issue_spells_them_and_secrets_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for var, value in (
        ("TUIKE_ELEME_APP_KEY", "ek"),
        ("TUIKE_ELEME_APP_SECRET", "eleme-secret-env"),
        ("TUIKE_MEITUAN_APP_KEY", "mk"),
        ("TUIKE_MEITUAN_APP_SECRET", "meituan-secret-env"),
    ):
        monkeypatch.setenv(var, value)
    settings = parse_settings(
        {
            "leagues": {
                "eleme": {
                    "enabled": True,
                    "sandbox": False,
                    "base_url": "https://eco.taobao.com/router/rest",
                    "sign_method": "md5",
                    "pid": "alsc_1_2_3",
                    "activity_ids": [TAKEOUT, SUPERMARKET],
                },
                "meituan": {"enabled": True, "sandbox": False, "act_ids": [33]},
            }
        }
    )
    e, m = settings.leagues.eleme, settings.leagues.meituan
    assert (e.app_key, e.app_secret.get_secret_value(), e.activity_ids) == (
        "ek",
        "eleme-secret-env",
        (TAKEOUT, SUPERMARKET),
    )
    assert (m.app_key, m.app_secret.get_secret_value(), m.act_ids) == ("mk", "meituan-secret-env", ("33",))
    assert m.base_url == "https://media.meituan.com/cps_open/common/api/v1"
    assert "secret-env" not in repr(settings)
    assert (BY_NAME["eleme"].display_name, BY_NAME["meituan"].display_name) == ("饿了么", "美团")


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ({"meituan": {"enabled": True, "sandbox": False}}, "TUIKE_MEITUAN_APP_KEY"),
        ({"eleme": {"enabled": True, "sandbox": False}}, "TUIKE_ELEME_APP_KEY"),
        ({"eleme": {"pid": "123"}}, "alsc_"),
        ({"eleme": {"activity_ids": []}}, "20150318019998877"),
    ],
)
def test_bad_config_says_what_to_fix(
    raw: dict[str, object], needle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in (
        "TUIKE_ELEME_APP_KEY",
        "TUIKE_ELEME_APP_SECRET",
        "TUIKE_MEITUAN_APP_KEY",
        "TUIKE_MEITUAN_APP_SECRET",
    ):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ConfigError, match=needle):
        parse_settings({"leagues": raw})


async def test_with_sandbox_false_every_call_goes_to_base_url() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        body = {"code": 0, "data": {"referralLinkMap": {"2": "https://dpurl.cn/x"}}}
        return httpx.Response(
            200, stream=httpx.ByteStream(json.dumps(body).encode())
        )  # read raw, as over a socket

    client = MeituanClient(
        "https://media.meituan.com/cps_open/common/api/v1", "k", "s", transport=httpx.MockTransport(answer)
    )
    await MeituanLeague(client, act_ids=("33",)).takeout_links(Spot("meituan", tag="tk_a"))
    assert seen == ["https://media.meituan.com/cps_open/common/api/v1/get_referral_link"]
    await client.aclose()


async def test_the_sandbox_serves_both_when_enabled() -> None:
    settings = parse_settings({"leagues": {"eleme": {"enabled": True}, "meituan": {"enabled": True}}})
    async with AsyncExitStack() as stack:
        leagues = await open_leagues(settings, None, stack)
        for name in ("eleme", "meituan"):
            league = leagues[name]
            assert (
                isinstance(league, HasTakeout)
                and isinstance(league, IssuesSpots)
                and isinstance(league, SyncsOrders)
            )
            assert await league.search(SearchQuery(keyword="手机")) == []
            [link] = await league.takeout_links(Spot(name, tag="tk_a"))
            assert link.platform == name and link.url.startswith("https://")
            assert (await league.choose_identity("room@chatroom", set()))[1] == group_sid("room@chatroom")


async def test_check_and_the_console_say_when_meituan_refuses_the_account(server: SandboxServer) -> None:
    from bot.health.probes import probe_league

    league = meituan(server)
    assert await probe_league(league) is None, "the probe asks for the operator's own link"
    meituan_face(server).refuse_account = True
    failure = await probe_league(league)
    assert isinstance(failure, LeagueConfigError) and "美团联盟拒绝了这个账号" in str(failure)
    assert MEITUAN_SECRET not in str(failure)
    await league.aclose()
