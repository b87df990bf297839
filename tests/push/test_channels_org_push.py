"""The organisation's coupons (机构券) and talents' feeds in a daily push, and a live preview's share in
a reminder, against the sandbox over real HTTP: made for the group's own sharer, or the operator's for
a group without one; a run-out coupon left out and said in the push result."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.chat.base import MiniProgramCard, Outgoing, Text
from bot.config import parse_settings
from bot.leagues.base import Spot
from bot.leagues.linkcache import LinkCache
from bot.leagues.wechat.client import ChannelsClient
from bot.leagues.wechat.league import ChannelsLeague
from bot.push.sender import PacedSender
from bot.push.service import PushService
from bot.render.engine import Renderer
from bot.store import subscriptions
from bot.store.groups import ensure_group
from bot.store.models import Group, PushLog, Subscription
from tuike_sandbox.server import SandboxServer

OPERATOR = "wx_sharer_demo01"
OWN = "wx_sharer_demo03"
NOW = datetime(2026, 11, 22, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai


class Push:
    def __init__(self, sandbox: SandboxServer, engine: Engine, **push: Any) -> None:
        talents = sandbox.state.catalogue.talents
        self.settings = parse_settings(
            {
                "push": {"deals_per_push": 2, "live_remind_minutes": 90, **push},
                "leagues": {"channels": {"talents": [t.talent_appid for t in talents[:2]]}},
            }
        )
        self.sandbox = sandbox
        self.engine = engine
        self.client = ChannelsClient(
            sandbox.base_url, "wx_test_org", "sandbox", engine=engine, backoff=0.001, timeout=5
        )
        self.league = ChannelsLeague(
            self.client,
            mini_program_appid="wx_sandbox_mp",
            talent_names={t.talent_appid: t.nickname for t in talents},
            followed_talents=[t.talent_appid for t in talents[:2]],
        )
        self.sent: list[Outgoing] = []

        async def send(o: Outgoing) -> None:
            self.sent.append(o)

        self.sender = PacedSender(send, rate_per_minute=None, jitter=(0, 0))
        self.service = PushService(
            self.settings,
            engine,
            self.league,
            Renderer(None, timezone="Asia/Shanghai"),
            self.sender,
            LinkCache(engine),
            lambda g: Spot("channels", sharer_appid=g.channels_sharer_appid or OPERATOR),
            clock=lambda: NOW,
            owner="test",
        )

    def group(self, room: str, sharer: str = "", kind: str = "daily") -> Group:
        g = ensure_group(self.engine, room, room.split("@")[0])
        assert g.id is not None
        if sharer:
            with Session(self.engine) as session:
                row = session.get(Group, g.id)
                assert row is not None
                row.channels_sharer_appid = sharer
                session.add(row)
                session.commit()
        sub = subscriptions.subscribe(self.engine, g.id, kind, "08:30" if kind == "daily" else "")
        with Session(self.engine) as session:
            row_s = session.get(Subscription, sub.id)
            assert row_s is not None
            row_s.created_at = row_s.updated_at = NOW - timedelta(days=30)
            session.add(row_s)
            session.commit()
        return g

    async def run(self, work: Any) -> Any:
        self.sender.start()
        try:
            return await work()
        finally:
            await self.sender.close()

    def message(self, room: str) -> Outgoing:
        (found,) = [o for o in self.sent if o.chat_id == room]
        return found


@pytest.fixture
async def make(sandbox: SandboxServer, engine: Engine) -> AsyncIterator[Callable[..., Push]]:
    made: list[Push] = []

    def build(**push: Any) -> Push:
        made.append(Push(sandbox, engine, **push))
        return made[-1]

    yield build
    for p in made:
        await p.client.aclose()


def _text(o: Outgoing) -> str:
    return "\n".join(part.text for part in o.reply.parts if isinstance(part, Text))


async def test_coupons_lead_and_feeds_follow_made_for_each_groups_sharer(
    make: Callable[..., Push], sandbox: SandboxServer
) -> None:
    push = make(channels_coupons=True, channels_feeds=2)
    push.group("own@chatroom", sharer=OWN)
    push.group("plain@chatroom")
    assert await push.run(lambda: push.service.tick(NOW)) == 2
    for room, sharer in (("own@chatroom", OWN), ("plain@chatroom", OPERATOR)):
        message = push.message(room)
        text = _text(message)
        assert text.index("先领券") < text.index("1. "), "the coupons lead"
        links = [line.split("👉 ")[1] for line in text.splitlines() if "#小店://券/" in line]
        assert 0 < len(links) <= 3 and all(link.endswith(f"/{sharer}") for link in links)
        assert "达人视频" in text
        cards = [p for p in message.reply.parts if isinstance(p, MiniProgramCard)]
        assert len(cards) == 2 and all(c.appid == "wx_sandbox_mp" for c in cards)
        assert all(f"_{sharer}" in c.page_path and "feed_token=" in c.page_path for c in cards)
    run_out = [c for c in sandbox.state.catalogue.coupons if c.receive_num >= c.total_num]
    assert run_out, "the catalogue has coupons that ran out"
    shown = _text(push.message("plain@chatroom"))
    assert not any(f"/券/{c.coupon_id}/" in shown for c in run_out)
    with Session(push.engine) as session:
        rows = session.exec(select(PushLog).where(PushLog.status == "sent")).all()
    assert len(rows) == 2 and all("机构券已抢光，没带" in r.detail for r in rows)


async def test_without_the_switch_a_push_is_only_deals(make: Callable[..., Push]) -> None:
    push = make()
    push.group("plain@chatroom")
    assert await push.run(lambda: push.service.tick(NOW)) == 1
    message = push.message("plain@chatroom")
    assert "先领券" not in _text(message) and "达人视频" not in _text(message)
    assert not [p for p in message.reply.parts if isinstance(p, MiniProgramCard)]
    calls = push.sandbox.state.calls
    assert calls["/channels/ec/promoter/get_cooperative_coupon_list"] == 0
    assert calls["/channels/ec/promoter/get_feed_list"] == 0


async def test_a_removed_feed_is_left_out_and_said(make: Callable[..., Push], sandbox: SandboxServer) -> None:
    push = make(channels_feeds=1)
    push.group("plain@chatroom")
    feeds = await push.league.feeds(push.league.followed_talents)
    best = max(feeds, key=lambda f: (f.predict_commission_fen, f.export_id))  # the one a push picks
    real = push.league.feed_shares

    async def removed_meanwhile(talent: str, ids: Any, spot: Spot) -> Any:
        sandbox.state.removed_feeds.add(best.export_id)  # removed between the list and the share
        return await real(talent, ids, spot)

    push.league.feed_shares = removed_meanwhile  # type: ignore[method-assign]
    assert await push.run(lambda: push.service.tick(NOW)) == 1
    message = push.message("plain@chatroom")
    assert "达人视频" not in _text(message)
    with Session(push.engine) as session:
        (row,) = session.exec(select(PushLog).where(PushLog.status == "sent")).all()
    assert "达人视频已删除，没带" in row.detail


async def test_a_live_reminder_carries_the_preview_share_for_the_groups_sharer(
    make: Callable[..., Push], sandbox: SandboxServer
) -> None:
    push = make()
    soon = min(
        (lv for lv in sandbox.state.catalogue.lives if lv.start_offset_s > 0),
        key=lambda lv: lv.start_offset_s,
    )
    assert soon.talent_appid in push.league.followed_talents
    push.group("own@chatroom", sharer=OWN, kind="live")
    push.group("plain@chatroom", kind="live")
    now = datetime.fromtimestamp(sandbox.state.started, UTC)
    queued = await push.run(lambda: push.service.tick_live(now))
    assert queued >= 2
    for room, sharer in (("own@chatroom", OWN), ("plain@chatroom", OPERATOR)):
        texts = [_text(o) for o in push.sent if o.chat_id == room]
        assert any(f"sbxnotice_{soon.notice_id[-12:]}_{sharer}" in t for t in texts), texts
