"""Daily deals draw from JD and PDD too: mixed with Channels like a search, each link made for the
group's own identity on its league, a league in trouble left out."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import Engine

from bot.chat.base import Outgoing, Text
from bot.config import parse_settings
from bot.handlers.spots import GroupSpots
from bot.leagues.base import League, Spot
from bot.leagues.jd.build import build_jd
from bot.leagues.linkcache import LinkCache
from bot.leagues.pdd.build import build_pdd
from bot.leagues.sandbox.jd_face import JdFace
from bot.leagues.sandbox.pdd_face import PddFace
from bot.leagues.sandbox.server import SandboxServer
from bot.leagues.setup import default_spots
from bot.leagues.wechat.build import build_channels
from bot.push.sender import PacedSender
from bot.push.service import PushService
from bot.render import Renderer
from bot.store.groups import ensure_group
from bot.store.models import Subscription

SETTINGS = parse_settings(
    {"push": {"deals_per_push": 4}, "leagues": {"jd": {"enabled": True}, "pdd": {"enabled": True}}}
)


async def _compose(engine: Engine, sandbox: SandboxServer, leagues: list[League]) -> str:
    spots = GroupSpots(
        engine, default_spots(SETTINGS), issuers={lg.name: lg for lg in leagues if lg.name != "channels"}
    )  # type: ignore[misc]

    async def send(_: Outgoing) -> None:
        return None

    service = PushService(
        SETTINGS,
        engine,
        leagues[0],
        Renderer(None),
        PacedSender(send, rate_per_minute=None, jitter=(0, 0)),
        LinkCache(engine),
        lambda g: Spot("channels", sharer_appid="wx_sharer_demo01"),
        owner="test",
        deal_leagues=leagues,
        league_spots=spots.for_group,
    )
    group = ensure_group(engine, "room1@chatroom", "宝妈群")
    assert group.id is not None
    sub = Subscription(group_id=group.id, kind="daily", at_time="08:30", categories="")
    composed = await service.compose_daily(group, sub, datetime.now(UTC))
    assert composed is not None
    outgoing, product_ids = composed
    assert len(product_ids) == 4
    [text] = [p.text for p in outgoing.reply.parts if isinstance(p, Text)]
    return text


async def test_daily_deals_mix_channels_jd_and_pdd(engine: Engine) -> None:
    async with SandboxServer() as sandbox:
        leagues: list[League] = [
            build_channels(SETTINGS, sandbox.base_url, engine),
            build_jd(SETTINGS, sandbox.base_url, engine),
            build_pdd(SETTINGS, sandbox.base_url, engine),
        ]
        try:
            text = await _compose(engine, sandbox, leagues)
        finally:
            for league in leagues:
                await league.aclose()
        jd, pdd = sandbox.face("/routerjson"), sandbox.face("/api/router")
        assert isinstance(jd, JdFace) and isinstance(pdd, PddFace)
    assert "store.weixin.qq.com" in text
    [jd_link] = re.findall(r"https://u\.jd\.com/\w+", text)
    [pdd_link] = re.findall(r"https://p\.pinduoduo\.com/\w+", text)
    assert jd.links[jd_link.rsplit("/", 1)[-1]].sub_union_id.startswith("tk_"), "the group's subUnionId"
    assert pdd.links[pdd_link.rsplit("/", 1)[-1]].pid != default_spots(SETTINGS)["pdd"].pid, "the group's PID"
    assert jd.calls["jd.union.open.goods.jingfen.query"] >= 1, "JD pushes draw from 京粉精选"


async def test_a_league_in_trouble_is_left_out_of_the_push(engine: Engine) -> None:
    async with SandboxServer() as sandbox:
        jd_face = sandbox.face("/routerjson")
        assert isinstance(jd_face, JdFace)
        jd_face.faults.fail_next = ["500"] * 20
        leagues: list[League] = [
            build_channels(SETTINGS, sandbox.base_url, engine),
            build_jd(SETTINGS, sandbox.base_url, engine),
            build_pdd(SETTINGS, sandbox.base_url, engine),
        ]
        for league in leagues:
            client = getattr(league, "client", None)
            if client is not None:
                client.backoff = 0.001
        try:
            text = await _compose(engine, sandbox, leagues)
        finally:
            for league in leagues:
                await league.aclose()
    assert "u.jd.com" not in text and "p.pinduoduo.com" in text
