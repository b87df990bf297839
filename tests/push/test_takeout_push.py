"""订阅 外卖 HH:MM: the group's takeout links pushed daily at each chosen time, on the test clock, through
the push log's claims and the paced sender, with both leagues served by the sandbox over real HTTP —
once per slot, one league call per group per day whatever the number of slots, the other league's
links when one fails (the push result says so), and a slot whose links cannot be fetched kept for the
next tick rather than lost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.chat.base import Incoming, MiniProgramCard, Outgoing, Text
from bot.config import parse_settings
from bot.handlers.subscribe import SubscribeHandler
from bot.jobs import Jobs
from bot.leagues.base import League, Spot
from bot.leagues.registry import BY_NAME
from bot.leagues.setup import default_spots, spot_issuers
from bot.push.sender import PacedSender
from bot.push.service import PushService
from bot.push.takeout import TakeoutPush
from bot.render.engine import Renderer
from bot.services.attribution import GroupSpots
from bot.services.takeout import TakeoutLinks
from bot.store.models import LeagueSpot, PushLog, Subscription
from tests.helpers import wait_until
from tuike_sandbox.eleme_face import ElemeFace
from tuike_sandbox.meituan_face import MeituanFace
from tuike_sandbox.server import SandboxServer

SH = "Asia/Shanghai"
ROOM = "room7@chatroom"


def at(hhmm: str, day: int = 22) -> datetime:
    """A Shanghai wall-clock time on 2026-11-<day>, as aware UTC."""
    h, m = (int(x) for x in hhmm.split(":"))
    return datetime(2026, 11, day, h, m, tzinfo=UTC) - timedelta(hours=8)


class World:
    def __init__(self, engine: Engine, sandbox: SandboxServer, leagues: dict[str, League]) -> None:
        self.settings = parse_settings(
            {
                "leagues": {"eleme": {"enabled": True}, "meituan": {"enabled": True}},
                "push": {"grace_hours": 1},
            }
        )
        self.engine = engine
        self.sandbox = sandbox
        self.now = at("08:00")
        self.sent: list[Outgoing] = []
        self.renderer = Renderer(None, timezone=SH)

        async def send(o: Outgoing) -> None:
            self.sent.append(o)

        self.sender = PacedSender(send, rate_per_minute=None, jitter=(0, 0))
        self.jobs = Jobs(SH)
        self.spots = GroupSpots(engine, default_spots(self.settings), issuers=spot_issuers(leagues))
        self.links = TakeoutLinks(leagues, self.spots.for_group, timezone=SH, clock=lambda: self.now)
        self.service = PushService(
            self.settings,
            engine,
            None,
            self.renderer,
            self.sender,
            None,  # type: ignore[arg-type]  # no deals here: the takeout push needs no link cache
            lambda g: Spot("channels"),
            clock=lambda: self.now,
            owner="test",
            jobs=self.jobs,
        )
        self.service.takeout = TakeoutPush(self.service, self.links)
        self.handler = SubscribeHandler(
            engine=engine,
            renderer=self.renderer,
            league=None,
            groups=self.spots,
            operators=[],
            default_time="08:30",
            on_change=self.service.jobs_changed,
        )

    @property
    def eleme(self) -> ElemeFace:
        face: ElemeFace = self.sandbox.face("/router/rest").extensions["eleme"]
        return face

    @property
    def meituan(self) -> MeituanFace:
        face: MeituanFace = self.sandbox.face("/cps_open/common/api/v1/get_referral_link")
        return face

    async def owner_says(self, text: str) -> str:
        reply = await self.handler(
            Incoming(f"m-{text}", ROOM, "七群", "boss", "群主", text, sender_is_owner=True)
        )
        assert reply is not None
        part = reply.parts[0]
        assert isinstance(part, Text)
        with Session(self.engine) as session:  # subscribed long ago, so today's slots are due
            for row in session.exec(select(Subscription)).all():
                row.updated_at = at("00:00", 1)
                session.add(row)
            session.commit()
        return part.text

    async def tick(self, now: datetime) -> int:
        self.now = now
        self.sender.start()
        queued = await self.service.tick(now)
        await self.sender.close()
        self.sender._closing = False
        return queued

    def log(self) -> dict[str, PushLog]:
        with Session(self.engine) as session:
            return {row.slot: row for row in session.exec(select(PushLog)).all()}


@pytest.fixture
async def world(engine: Engine) -> AsyncIterator[World]:
    async with SandboxServer() as sandbox:
        settings = parse_settings({"leagues": {"eleme": {"enabled": True}, "meituan": {"enabled": True}}})
        leagues = {
            name: BY_NAME[name].make(settings, sandbox.base_url, engine) for name in ("eleme", "meituan")
        }
        try:
            yield World(engine, sandbox, leagues)
        finally:
            for league in leagues.values():
                await league.aclose()


def texts(w: World) -> list[str]:
    return [p.text for o in w.sent for p in o.reply.parts if isinstance(p, Text)]


async def test_subscribe_takeout_at_two_times_pushes_at_each_once(world: World) -> None:
    w = world
    said = await w.owner_says("订阅 外卖 10:30")
    assert "10:30" in said and "外卖红包" in said
    said = await w.owner_says("订阅 外卖 16:30")
    assert "10:30、16:30" in said
    await w.service.schedule()
    await wait_until(lambda: len(w.jobs.ids("push:takeout:")) == 2)
    assert await w.tick(at("10:29")) == 0 and w.sent == []
    assert await w.tick(at("10:30")) == 1
    (text,) = texts(w)
    assert "外卖红包" in text and "https://s.click.ele.me/" in text and "https://dpurl.cn/" in text
    cards = [p for o in w.sent for p in o.reply.parts if isinstance(p, MiniProgramCard)]
    assert {c.appid for c in cards} == {"wxece3a9a4c82f58c9", "wxde8ac0a21135c07d"}
    with Session(w.engine) as session:
        sids = {s.league: s.tag for s in session.exec(select(LeagueSpot)).all()}
    assert w.eleme.queries[-1]["sid"] == sids["eleme"] and w.meituan.bodies[-1]["sid"] == sids["meituan"]
    assert await w.tick(at("10:31")) == 0, "never twice"
    assert await w.tick(at("16:30")) == 1
    assert w.log()["takeout:2026-11-22T10:30"].status == "sent"
    assert w.log()["takeout:2026-11-22T16:30"].status == "sent"
    assert w.links.calls == {"eleme": 1, "meituan": 1}, "two slots, one call per league that day"
    assert await w.tick(at("10:30", day=23)) == 1
    assert w.links.calls == {"eleme": 2, "meituan": 2}, "a new day, new links"

    said = await w.owner_says("退订 外卖 16:30")
    assert "16:30" in said and "10:30" in said
    await wait_until(lambda: len(w.jobs.ids("push:takeout:")) == 1)
    assert await w.tick(at("16:30", day=23)) == 0
    said = await w.owner_says("退订 外卖")
    assert "外卖红包推送已取消" in said
    assert await w.tick(at("10:30", day=24)) == 0


async def test_one_league_down_sends_the_other_and_says_so_in_the_result(world: World) -> None:
    w = world
    await w.owner_says("订阅 外卖 10:30")
    w.meituan.faults.down = True
    assert await w.tick(at("10:30")) == 1
    (text,) = texts(w)
    assert "https://s.click.ele.me/" in text and "dpurl.cn" not in text
    row = w.log()["takeout:2026-11-22T10:30"]
    assert row.status == "sent" and "美团未取到链接" in row.detail


async def test_a_slot_whose_links_cannot_be_fetched_is_not_lost(world: World) -> None:
    w = world
    await w.owner_says("订阅 外卖 10:30")
    w.meituan.faults.down = True
    w.eleme.ended.add("20150318019998877")
    assert await w.tick(at("10:30")) == 0
    assert "takeout:2026-11-22T10:30" not in w.log(), "nothing claimed: the next tick tries again"
    w.meituan.faults.down = False
    w.eleme.ended.clear()
    assert await w.tick(at("10:32")) == 1, "a minute on (the failure pause) the slot still goes"
    assert w.log()["takeout:2026-11-22T10:30"].status == "sent"


async def test_a_slot_still_without_links_past_the_grace_window_says_why(world: World) -> None:
    w = world
    await w.owner_says("订阅 外卖 10:30")
    w.meituan.refuse_account = True
    w.eleme.ended.add("20150318019998877")
    assert await w.tick(at("10:30")) == 0
    assert await w.tick(at("11:31")) == 0
    row = w.log()["takeout:2026-11-22T10:30"]
    assert row.status == "skipped" and "外卖链接一直没取到" in row.detail and "美团" in row.detail
