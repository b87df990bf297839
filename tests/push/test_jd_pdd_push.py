"""Daily deals can come from JD or PDD (`[push] league`): their curated lists (JD 京粉精选, PDD goods with
coupons), each link made for the group's own identity on that league."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from bot.chat.base import Outgoing, Text
from bot.config import parse_settings
from bot.leagues.base import League, Spot
from bot.leagues.jd.build import build_jd
from bot.leagues.linkcache import LinkCache
from bot.leagues.pdd.build import build_pdd
from bot.leagues.setup import default_spots
from bot.push.sender import PacedSender
from bot.push.service import PushService
from bot.render.engine import Renderer
from bot.services.attribution import GroupSpots
from bot.store.groups import ensure_group
from bot.store.models import Group, Subscription
from tuike_sandbox.jd_face import JdFace
from tuike_sandbox.pdd_face import PddFace
from tuike_sandbox.server import SandboxServer

LINKS = {"jd": r"https://u\.jd\.com/\w+", "pdd": r"https://p\.pinduoduo\.com/\w+"}
CURATED = {"jd": "jd.union.open.goods.jingfen.query", "pdd": "pdd.ddk.goods.search"}


@pytest.mark.parametrize("name", ["jd", "pdd"])
async def test_daily_deals_from_jd_or_pdd_carry_the_groups_identity(engine: Engine, name: str) -> None:
    settings = parse_settings(
        {
            "push": {"deals_per_push": 3, "league": name},
            "leagues": {"jd": {"enabled": True}, "pdd": {"enabled": True}},
        }
    )
    async with SandboxServer() as sandbox:
        league: League = (build_jd if name == "jd" else build_pdd)(settings, sandbox.base_url, engine)
        spots = GroupSpots(engine, default_spots(settings), issuers={name: league})  # type: ignore[dict-item]

        async def send(_: Outgoing) -> None:
            return None

        async def daily_spot(group: Group) -> Spot:
            return await spots.for_group(group, name)

        service = PushService(
            settings,
            engine,
            None,
            Renderer(None),
            PacedSender(send, rate_per_minute=None, jitter=(0, 0)),
            LinkCache(engine),
            lambda g: Spot("channels", sharer_appid="wx_sharer_demo01"),
            owner="test",
            daily_league=league,
            daily_spots=daily_spot,
        )
        group = ensure_group(engine, "room1@chatroom", "宝妈群")
        assert group.id is not None
        sub = Subscription(group_id=group.id, kind="daily", at_time="08:30", categories="")
        try:
            composed = await service.compose_daily(group, sub, datetime.now(UTC))
        finally:
            await league.aclose()
        face = sandbox.face("/routerjson" if name == "jd" else "/api/router")
    assert composed is not None
    outgoing, product_ids = composed
    assert len(product_ids) == 3
    [text] = [p.text for p in outgoing.reply.parts if isinstance(p, Text)]
    links = re.findall(LINKS[name], text)
    assert len(links) == 3
    kept = await spots.for_group(group, name)
    for link in links:
        issued = face.links[link.rsplit("/", 1)[-1]]
        if isinstance(face, JdFace):
            assert issued.sub_union_id == kept.tag, "the group's subUnionId"
        else:
            assert isinstance(face, PddFace)
            assert issued.pid == kept.pid != default_spots(settings)["pdd"].pid, "the group's own PID"
    assert face.calls[CURATED[name]] >= 1
