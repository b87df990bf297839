"""Daily pushes mix in the operator's own shop (`[push] own_store_deals`): its products marked 【自营】,
first when `[deals] own_store_first`, each linked for the group's own Youzan salesman; the deals from
`[push] league` still follow."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from bot.chat.base import Outgoing, Text
from bot.config import parse_settings
from bot.leagues.base import Spot
from bot.leagues.jd.build import build_jd
from bot.leagues.linkcache import LinkCache
from bot.leagues.setup import default_spots
from bot.leagues.youzan.build import build_youzan
from bot.push.sender import PacedSender
from bot.push.service import PushService
from bot.render.engine import Renderer
from bot.services.attribution import GroupSpots
from bot.store.groups import ensure_group
from bot.store.models import Group, Subscription
from tuike_sandbox.server import SandboxServer
from tuike_sandbox.youzan_face import YouzanFace

YOUZAN = re.compile(r"https://h5\.youzan\.com/v2/goods/\w+\?sls=(\w+)")
JD = re.compile(r"https://u\.jd\.com/\w+")


@pytest.mark.parametrize("first", [True, False])
async def test_a_daily_push_mixes_the_shop_in_as_configured(engine: Engine, first: bool) -> None:
    settings = parse_settings(
        {
            "push": {"deals_per_push": 3, "league": "jd", "own_store_deals": 2},
            "deals": {"own_store_first": first},
            "leagues": {"jd": {"enabled": True}},
            "shops": {"youzan": {"enabled": True}},
        }
    )
    async with SandboxServer() as sandbox:
        jd = build_jd(settings, sandbox.base_url, engine)
        youzan = build_youzan(settings, sandbox.base_url, engine)
        spots = GroupSpots(engine, default_spots(settings), issuers={"jd": jd, "youzan": youzan})  # type: ignore[dict-item]

        async def send(_: Outgoing) -> None:
            return None

        async def daily_spot(group: Group) -> Spot:
            return await spots.for_group(group, "jd")

        service = PushService(
            settings,
            engine,
            None,
            Renderer(None),
            PacedSender(send, rate_per_minute=None, jitter=(0, 0)),
            LinkCache(engine),
            lambda g: Spot("channels", sharer_appid="wx_sharer_demo01"),
            owner="test",
            daily_league=jd,
            daily_spots=daily_spot,
            leagues={"jd": jd, "youzan": youzan},
            league_spots=spots.for_group,
        )
        group = ensure_group(engine, "room1@chatroom", "宝妈群")
        assert group.id is not None
        sub = Subscription(group_id=group.id, kind="daily", at_time="08:30", categories="")
        try:
            composed = await service.compose_daily(group, sub, datetime.now(UTC))
        finally:
            await jd.aclose()
            await youzan.aclose()
        face = sandbox.face("/youzan")
        assert isinstance(face, YouzanFace)
        assert composed is not None
        outgoing, product_ids = composed
        [text] = [p.text for p in outgoing.reply.parts if isinstance(p, Text)]
        kept = await spots.for_group(group, "youzan")
    assert len(product_ids) == 5 and text.count("【自营】") == 2, text
    marks = YOUZAN.findall(text)
    assert len(marks) == 2 and len(JD.findall(text)) == 3
    assert all(face.links[m].fans_id == int(kept.pid) for m in marks)
    numbered = re.findall(r"^(\d)\. (.*)$", text, re.M)
    own_places = [n for n, title in numbered if title.startswith("【自营】")]
    assert own_places == (["1", "2"] if first else ["4", "5"])
