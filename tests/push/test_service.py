"""Daily deals and live reminders with an injectable clock, a fake league, the real store and renderer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.chat.base import Incoming, Outgoing, Text
from bot.config import ConfigError, parse_settings
from bot.handlers.subscribe import SubscribeHandler
from bot.jobs import Jobs
from bot.leagues.base import (
    Category,
    Coupon,
    LeagueConfigError,
    LeagueError,
    LeagueUnavailable,
    LiveEvent,
    Product,
    PromotionLink,
    Spot,
)
from bot.leagues.linkcache import LinkCache
from bot.push import claims
from bot.push.sender import PacedSender
from bot.push.service import PushService
from bot.render.engine import Renderer
from bot.services.attribution import GroupSpots
from bot.store import subscriptions
from bot.store.groups import ensure_group
from bot.store.models import Group, PushLog, Subscription
from tests.fakes import FakeLeague, product
from tests.helpers import wait_until

SH = "Asia/Shanghai"


def at(hhmm: str, day: int = 22) -> datetime:
    """A Shanghai wall-clock time on 2026-11-<day>, as aware UTC."""
    h, m = (int(x) for x in hhmm.split(":"))
    return datetime(2026, 11, day, h, m, tzinfo=UTC) - timedelta(hours=8)


class PushLeague(FakeLeague):
    def __init__(self, products: Sequence[Product]) -> None:
        super().__init__(products)
        self.live_events: list[LiveEvent] = []
        self.refuse_spot = ""

    async def categories(self) -> list[Category]:
        return [
            Category("100", "手机数码", "0", 1),
            Category("101", "耳机音箱", "100", 2),
            Category("200", "食品生鲜", "0", 1),
            Category("201", "休闲零食", "200", 2),
        ]

    async def featured(self, category_id: str, limit: int) -> list[Product]:
        self.calls["featured"] += 1
        return [p for p in self.products.values() if p.category in (category_id, "")][:limit]

    async def lives(self, talent_appids: Sequence[str], spot: Spot) -> list[LiveEvent]:
        self.calls["lives"] += 1
        if spot.key == self.refuse_spot:
            raise LeagueConfigError("sharer not bound to the 机构")
        return list(self.live_events)


def catalogue() -> list[Product]:
    items = [
        product(f"p{i:02d}", f"好物{i:02d}", 1000 + i * 100, coupon=100 * (i % 3), sales=1000 - i * 10)
        for i in range(20)
    ]
    gone = Product(
        platform="channels",
        product_id="gone",
        title="券已抢光",
        price_fen=500,
        sales=999_999,
        coupons=(Coupon("cx", amount_fen=400, remaining=0),),
    )
    return [*items, gone]


class World:
    def __init__(self, engine: Engine, chat: dict[str, object] | None = None, **push: object) -> None:
        self.settings = parse_settings(
            {
                "push": {"deals_per_push": 3, **push},
                "leagues": {"channels": {"talents": ["wx_talent"]}},
                "chat": chat or {},
            }
        )
        self.engine = engine
        self.league = PushLeague(catalogue())
        self.sent: list[Outgoing] = []
        self.now = at("08:00")
        self.renderer = Renderer(None, timezone=SH)

        async def send(o: Outgoing) -> None:
            self.sent.append(o)

        self.sender = PacedSender(send, rate_per_minute=None, jitter=(0, 0))
        self.links = LinkCache(engine)
        self.jobs = Jobs(SH)
        self.service = PushService(
            self.settings,
            engine,
            self.league,
            self.renderer,
            self.sender,
            self.links,
            lambda g: Spot("channels", sharer_appid=g.channels_sharer_appid or "op"),
            clock=lambda: self.now,
            owner="test",
            jobs=self.jobs,
        )

    def group(
        self, n: int, at_time: str = "08:30", kind: str = "daily", created: datetime | None = None
    ) -> int:
        g = ensure_group(self.engine, f"room{n}@chatroom", f"群{n}")
        assert g.id is not None
        sub = subscriptions.subscribe(self.engine, g.id, kind, at_time if kind == "daily" else "")
        with Session(self.engine) as session:
            row = session.get(Subscription, sub.id)
            assert row is not None
            row.created_at = row.updated_at = created or at("00:00", 1)
            session.add(row)
            session.commit()
        return g.id

    async def tick(self, now: datetime) -> int:
        self.now = now
        self.sender.start()
        queued = await self.service.tick(now)
        await self.sender.close()
        self.sender._closing = False
        return queued

    def texts(self, room: str) -> list[str]:
        return [p.text for o in self.sent if o.chat_id == room for p in o.reply.parts if isinstance(p, Text)]


async def test_a_slot_fires_at_its_time_and_only_once(engine: Engine) -> None:
    w = World(engine)
    w.group(1, "08:30")
    assert await w.tick(at("08:29")) == 0
    assert w.sent == []
    assert await w.tick(at("08:30")) == 1
    (text,) = w.texts("room1@chatroom")
    assert "今日好物" in text
    assert "券已抢光" not in text, "a product whose coupon ran out is not pushed"
    assert await w.tick(at("08:31")) == 0, "never twice"
    assert len(w.sent) == 1
    with Session(engine) as session:
        rows = session.exec(select(PushLog)).all()
    by_slot = {r.slot: r for r in rows}
    assert by_slot["daily:2026-11-21T08:30"].status == "skipped", "yesterday's slot was long gone"
    row = by_slot["daily:2026-11-22T08:30"]
    assert row.status == "sent"
    assert row.slot == "daily:2026-11-22T08:30"
    assert len(row.product_ids.split(",")) == 3


async def test_pushes_go_only_to_allowed_room_ids(engine: Engine) -> None:
    """`allowed_groups` gates pushes too, by room id: a room renamed to an allowed name gets nothing."""
    w = World(engine, chat={"allowed_groups": ["room1@chatroom"]})
    w.group(1, "08:30")
    impostor = w.group(2, "08:30")
    with Session(engine) as session:
        row = session.get(Group, impostor)
        assert row is not None
        row.name = "群1"
        session.add(row)
        session.commit()
    w.league.live_events = [LiveEvent("wx_talent", "小杨数码", "n1", "数码专场", at("20:00"))]
    w.group(3, kind="live")
    assert await w.tick(at("08:30")) == 1
    w.sender.start()
    assert await w.service.tick_live(at("19:50")) == 0, "room3 is not on the list"
    await w.sender.close()
    assert {o.chat_id for o in w.sent} == {"room1@chatroom"}


async def test_products_are_not_repeated_within_seven_days(engine: Engine) -> None:
    w = World(engine)
    w.group(1, "08:30")
    seen: list[set[str]] = []
    for day in (22, 23, 24):
        await w.tick(at("08:30", day))
        with Session(engine) as session:
            row = session.exec(select(PushLog).where(PushLog.slot == f"daily:2026-11-{day}T08:30")).one()
        seen.append(set(row.product_ids.split(",")))
    assert not (seen[0] & seen[1]) and not (seen[1] & seen[2]) and not (seen[0] & seen[2])
    assert w.league.calls["promote"] == 9


async def test_missed_slots_are_caught_up_within_grace_and_skipped_beyond(engine: Engine) -> None:
    w = World(engine, grace_hours=2)
    w.group(1, "08:30")
    w.group(2, "06:00")
    w.group(3, "09:00", created=at("09:30"))  # subscribed after today's time: starts tomorrow
    await w.tick(at("09:45"))
    assert w.texts("room1@chatroom"), "75 minutes late is within the grace window"
    assert not w.texts("room2@chatroom"), "3h45m late is skipped"
    assert not w.texts("room3@chatroom")
    with Session(engine) as session:
        statuses = {(r.group_id, r.slot): r.status for r in session.exec(select(PushLog)).all()}
    assert statuses[(1, "daily:2026-11-22T08:30")] == "sent"
    assert statuses[(2, "daily:2026-11-22T06:00")] == "skipped"
    assert not any(gid == 3 and slot.startswith("daily:2026-11-22") for gid, slot in statuses)


async def test_interrupted_slot_is_reported_not_resent(engine: Engine) -> None:
    w = World(engine)
    told: list[str] = []
    w.service.notify = told.append
    gid = w.group(1, "08:30")
    w.group(2, "08:30")
    assert claims.claim(engine, gid, "daily:2026-11-22T08:30", "test/999", claims.SENDING)
    w.now = at("08:35")
    w.sender.start()
    await w.service.start(schedule=False, wait=False)
    await wait_until(lambda: bool(w.sent))  # the catch-up runs in the background
    await w.service.stop()
    await w.sender.close()
    assert [o.chat_id for o in w.sent] == ["room2@chatroom"], "the other group is caught up"
    assert w.service.interrupted
    assert "interrupted" in w.service.interrupted[0]
    (note,) = told
    assert "群1" in note and "daily:2026-11-22T08:30" in note and "不会重发" in note
    with Session(engine) as session:
        row = session.exec(select(PushLog).where(PushLog.group_id == gid)).one()
    assert row.status == "interrupted"


async def test_started_again_it_recovers_what_was_left_meanwhile(engine: Engine) -> None:
    """A cluster replica stops an account's pushes when it loses the lease and starts them when it gets
    the account back: what the holder in between left half sent is reported then too, not only what
    was there at the first start."""
    w = World(engine)
    first, second = w.group(1, "08:30"), w.group(2, "09:30")
    assert claims.claim(engine, first, "daily:2026-11-22T08:30", "test/998", claims.SENDING)
    await w.service.start(schedule=False, wait=True)
    await w.service.stop()
    assert len(w.service.interrupted) == 1
    assert claims.claim(engine, second, "daily:2026-11-22T09:30", "test/997", claims.SENDING)
    await w.service.start(schedule=False, wait=True)
    await w.service.stop()
    assert len(w.service.interrupted) == 2 and "09:30" in w.service.interrupted[1]
    with Session(engine) as session:
        rows = session.exec(select(PushLog).where(col(PushLog.group_id).in_([first, second]))).all()
    assert {(r.group_id, r.status) for r in rows} >= {(first, "interrupted"), (second, "interrupted")}


async def test_live_reminder_once_before_and_once_when_live(engine: Engine) -> None:
    w = World(engine, live_remind_minutes=15)
    w.group(1, kind="live")
    start = at("20:00")
    w.league.live_events = [LiveEvent("wx_talent", "小杨数码", "n1", "数码专场", start)]
    for minute in ("19:30", "19:46", "19:50", "19:55"):
        w.now = at(minute)
        w.sender.start()
        await w.service.tick_live(w.now)
        await w.sender.close()
        w.sender._closing = False
    soon = w.texts("room1@chatroom")
    assert len(soon) == 1
    assert "14 分钟后开播" in soon[0]
    w.league.live_events = [
        LiveEvent(
            "wx_talent",
            "小杨数码",
            "e1",
            "数码专场",
            None,
            is_live=True,
            export_id="e1",
            share_link="sbxlive_e1",
        )
    ]
    for minute in ("20:01", "20:05"):
        w.sender.start()
        await w.service.tick_live(at(minute))
        await w.sender.close()
        w.sender._closing = False
    texts = w.texts("room1@chatroom")
    assert len(texts) == 2
    assert "正在直播" in texts[1]
    assert "sbxlive_e1" in texts[1]


async def test_jobs_are_derived_from_rows_with_stable_ids(engine: Engine) -> None:
    w = World(engine)
    g1 = w.group(1, "08:30")
    w.group(2, "21:00")
    w.sender.start()
    w.jobs.start()
    await w.service.start()
    try:
        ids = {job.id for job in w.jobs.scheduler.get_jobs()}
        assert {f"push:daily:console:{g1}:08:30", "push:tick:console", "push:live:console"} <= ids
        subscriptions.unsubscribe(engine, g1)
        subscriptions.subscribe(engine, g1, "daily", "07:15")
        w.service.rebuild_jobs()
        jobs = {job.id: job for job in w.jobs.scheduler.get_jobs()}
        assert "hour='7', minute='15'" in str(jobs[f"push:daily:console:{g1}:07:15"].trigger)
        assert f"push:daily:console:{g1}:08:30" not in jobs, "the slot given up is no job any more"
        assert len([j for j in jobs if j.startswith("push:daily:")]) == 2
        # a second slot of the same group is a job of its own
        subscriptions.subscribe(engine, g1, "daily", "20:00")
        w.service.rebuild_jobs()
        jobs = {job.id: job for job in w.jobs.scheduler.get_jobs()}
        assert {f"push:daily:console:{g1}:07:15", f"push:daily:console:{g1}:20:00"} <= set(jobs)
        assert len([j for j in jobs if j.startswith("push:daily:")]) == 3
        assert set(jobs) == set(w.jobs.ids()), "what the scheduler runs is the list"
    finally:
        await w.service.stop()
        assert w.jobs.ids() == [], "a stopped push service leaves no job behind"
        await w.jobs.shutdown()
        await w.sender.close()


async def test_an_unchanged_job_keeps_its_next_run_when_the_jobs_are_rebuilt(engine: Engine) -> None:
    """Rebuilding the jobs on every subscription change must not push the minute tick back."""
    w = World(engine)
    gid = w.group(1, "08:30")
    w.jobs.start()
    await w.service.start(wait=False)
    try:
        tick = w.jobs.scheduler.get_job("push:tick:console")
        before = tick.next_run_time
        daily = f"push:daily:console:{gid}:08:30"
        w.service.rebuild_jobs()
        assert w.jobs.scheduler.get_job("push:tick:console").next_run_time == before
        subscriptions.subscribe(engine, gid, "daily", "09:00")
        w.service.rebuild_jobs()
        assert w.jobs.get(daily) is not None
        assert "hour='9'" in str(w.jobs.scheduler.get_job(f"push:daily:console:{gid}:09:00").trigger)
    finally:
        await w.service.stop()
        await w.jobs.shutdown()


# -- owner commands --------------------------------------------------------------------------------


def _handler(w: World) -> SubscribeHandler:
    return SubscribeHandler(
        engine=w.engine,
        renderer=w.renderer,
        league=w.league,
        groups=GroupSpots(w.engine, {"channels": Spot("channels")}),
        operators=["op_wxid"],
        default_time="08:30",
    )


def _msg(text: str, sender: str = "alice", owner: bool = False) -> Incoming:
    return Incoming(
        f"m-{text}-{sender}", "room7@chatroom", "七群", sender, sender, text, sender_is_owner=owner
    )


@pytest.mark.parametrize(
    ("text", "sender", "owner", "words"),
    [
        ("订阅 每日好物", "alice", False, "只有群主"),
        ("退订 直播", "alice", False, "只有群主"),
        ("订阅 每日好物", "boss", True, "每天 08:30"),
        ("订阅 每日好物 9:05 数码", "boss", True, "每天 09:05 给大家推送好物（手机数码）"),
        ("订阅 每日好物 零食 耳机", "op_wxid", False, "休闲零食、耳机音箱"),
        ("订阅 每日好物 火箭", "boss", True, "没有「火箭」这个类目哦，可以选：手机数码、食品生鲜"),
        ("订阅 每日好物 8点半 零食", "boss", True, "每天 08:30 给大家推送好物（休闲零食）"),
        ("订阅 每日好物 晚上8点", "boss", True, "每天 20:00"),
        ("订阅 每日好物 21：05", "boss", True, "每天 21:05"),
        ("订阅 直播", "boss", True, "开播前"),
        ("订阅 天气", "boss", True, "可以这样说"),
    ],
)
async def test_owner_commands(engine: Engine, text: str, sender: str, owner: bool, words: str) -> None:
    reply = await _handler(World(engine))(_msg(text, sender, owner))
    assert reply is not None
    assert words in reply.parts[0].text  # type: ignore[union-attr]


async def test_subscribe_status_unsubscribe_round_trip(engine: Engine) -> None:
    w = World(engine)
    handler = _handler(w)
    await handler(_msg("订阅 每日好物 07:45 数码", "boss", True))
    await handler(_msg("订阅 直播", "boss", True))
    status = (await handler(_msg("订阅状态"))).parts[0].text  # type: ignore[union-attr]
    assert "每日好物 07:45（手机数码）" in status
    assert "直播提醒" in status
    await handler(_msg("退订", "boss", True))
    status = (await handler(_msg("订阅状态"))).parts[0].text  # type: ignore[union-attr]
    assert "还没有订阅" in status
    assert await handler(_msg("找 耳机")) is None, "not a subscription command"


async def test_moving_the_time_earlier_does_not_push_at_once(engine: Engine) -> None:
    """An owner who at 09:00 moves the daily push from 20:00 to 08:30 gets it tomorrow at 08:30, not now;
    the same for a group that subscribes again after unsubscribing."""
    w = World(engine)
    moved = w.group(1, "20:00")
    back = w.group(2, "08:30")
    subscriptions.unsubscribe(engine, back)
    subscriptions.unsubscribe(engine, moved, "daily", "20:00")  # moving a slot: drop it, add the new
    subscriptions.subscribe(engine, moved, "daily", "08:30", now=at("09:00"))
    subscriptions.subscribe(engine, back, "daily", "08:30", now=at("09:00"))
    assert await w.tick(at("09:01")) == 0
    assert w.sent == []
    assert await w.tick(at("08:30", 23)) == 2, "both push at the new time the next day"


async def test_a_scheduled_job_pushes_its_own_group(engine: Engine) -> None:
    w = World(engine)
    g1 = w.group(1, "08:30")
    g2 = w.group(2, "08:30")
    w.sender.start()
    w.jobs.start()
    await w.service.start()
    try:
        w.now = at("08:30")
        expected = []
        for n, gid in enumerate((g1, g2), start=1):
            job = w.jobs.scheduler.get_job(f"push:daily:console:{gid}:08:30")
            assert "hour='8', minute='30'" in str(job.trigger)
            await job.func(*job.args, **job.kwargs)
            expected.append(f"room{n}@chatroom")
            await wait_until(lambda: len(w.sent) == len(expected))
            assert [o.chat_id for o in w.sent] == expected, "each group's job pushes that group"
    finally:
        await w.service.stop()
        await w.jobs.shutdown()
        await w.sender.close()


@pytest.mark.parametrize(
    "text", ["订阅 每日好物 25:00", "订阅 每日好物 25点", "订阅 每日好物 08:61 数码", "订阅 每日好物 8"]
)
async def test_a_bad_time_gets_the_usage_not_an_unknown_category(engine: Engine, text: str) -> None:
    w = World(engine)
    reply = await _handler(w)(_msg(text, "boss", True))
    assert reply is not None
    said = reply.parts[0].text  # type: ignore[union-attr]
    assert "订阅 每日好物 08:30" in said, said
    assert "类目" not in said
    assert subscriptions.active(engine) == []


async def test_nothing_fresh_is_recorded_skipped_and_not_asked_again(engine: Engine) -> None:
    w = World(engine)
    w.league.products = {p.product_id: p for p in catalogue()[:3]}
    w.group(1, "08:30")
    assert await w.tick(at("08:30", 22)) == 1
    assert await w.tick(at("08:30", 23)) == 0, "all three were pushed yesterday"
    asked = w.league.calls["search"]
    for minute in ("08:31", "08:45", "10:00"):
        assert await w.tick(at(minute, 23)) == 0
    assert w.league.calls["search"] == asked, "the empty slot is not asked for again every minute"
    assert len(w.sent) == 1
    with Session(engine) as session:
        row = session.exec(select(PushLog).where(PushLog.slot == "daily:2026-11-23T08:30")).one()
    assert row.status == "skipped" and "no fresh deals" in row.detail


async def test_a_league_outage_stops_the_sweep_and_the_next_tick_sends_all(engine: Engine) -> None:
    w = World(engine)
    for n in (1, 2, 3):
        w.group(n, "08:30")
    w.league.fail_with = LeagueUnavailable("quota used up")
    assert await w.tick(at("08:30")) == 0
    assert w.league.calls["search"] == 1, "one failed call, not one per group"
    with Session(engine) as session:
        assert session.exec(select(PushLog)).all() == [], "nothing claimed, nothing lost"
    w.league.fail_with = None
    assert await w.tick(at("08:31")) == 3
    assert sorted(o.chat_id for o in w.sent) == [f"room{n}@chatroom" for n in (1, 2, 3)]


async def test_no_league_means_no_push_and_nothing_recorded(engine: Engine) -> None:
    w = World(engine)
    w.group(1, "08:30")
    w.service.league = None
    assert await w.tick(at("08:30")) == 0
    with Session(engine) as session:
        assert session.exec(select(PushLog)).all() == []


async def test_live_notices_failing_for_one_sharer_do_not_silence_the_others(engine: Engine) -> None:
    w = World(engine)
    bound = ensure_group(engine, "room1@chatroom", "群1")
    assert bound.id is not None
    with Session(engine) as session:
        row = session.get(Group, bound.id)
        assert row is not None
        row.channels_sharer_appid = "wx_unbound"
        session.add(row)
        session.commit()
    subscriptions.subscribe(engine, bound.id, "live", now=at("00:00", 1))
    w.group(2, kind="live")
    w.league.live_events = [LiveEvent("wx_talent", "小杨数码", "n1", "数码专场", at("20:00"))]
    w.league.refuse_spot = "wx_unbound"
    w.sender.start()
    assert await w.service.tick_live(at("19:50")) == 1
    await w.sender.close()
    assert [o.chat_id for o in w.sent] == ["room2@chatroom"]


def test_polling_slower_than_the_reminder_window_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings({"push": {"live_poll_seconds": 1800, "live_remind_minutes": 15}})
    message = str(caught.value)
    assert "\n" not in message
    assert "push" in message and "live_poll_seconds" in message
    with pytest.raises(ConfigError, match="jitter_min_seconds"):
        parse_settings({"push": {"jitter_min_seconds": 9, "jitter_max_seconds": 3}})


async def test_every_sent_push_is_recorded_even_when_the_queue_behind_it_is_dropped(engine: Engine) -> None:
    """A message's "sent" mark waits for the next claim; stopping mid-push must not lose it."""
    w = World(engine)
    for n in (1, 2, 3):
        w.group(n, "08:30")
    gate = asyncio.Event()

    async def slow_send(o: Outgoing) -> None:
        w.sent.append(o)
        if len(w.sent) == 2:
            await gate.wait()

    w.sender._send = slow_send
    w.now = at("08:31")
    w.sender.start()
    assert await w.service.tick() == 3
    await wait_until(lambda: len(w.sent) == 2)  # the second push is in flight, the third queued
    closing = asyncio.ensure_future(w.sender.close(drain=False))
    await wait_until(lambda: w.sender.pending == 0)
    gate.set()
    await closing
    await w.service.stop()
    with Session(engine) as session:
        statuses = {
            r.group_id: r.status for r in session.exec(select(PushLog)).all() if r.slot.endswith("08:30")
        }
    assert statuses == {1: "sent", 2: "sent"}, "both sent pushes recorded; the dropped one left unclaimed"


async def test_a_link_that_cannot_be_made_holds_the_push_back_whole(engine: Engine) -> None:
    """A push's links are made together; when one cannot be made the group gets no push with a
    deal missing its link: nothing is claimed, and the next tick sends it whole, each deal's link
    asked for once more at most."""
    w = World(engine)
    w.group(1, "08:30")
    made = w.league.promote
    broken = [True]  # the push's second link cannot be made while this holds

    async def promote(p: Product, spot: Spot) -> PromotionLink:
        if broken and w.league.calls["promote"] == 1:
            w.league.calls["promote"] += 1
            raise LeagueError("该商品暂不支持推广")
        return await made(p, spot)

    w.league.promote = promote  # type: ignore[method-assign]
    assert await w.tick(at("08:30")) == 0
    assert w.sent == []
    with Session(engine) as session:
        assert session.exec(select(PushLog)).all() == [], "nothing claimed, nothing lost"
    broken.clear()
    asked = w.league.calls["promote"]
    assert await w.tick(at("08:31")) == 1
    assert len(w.sent) == 1
    text = "\n".join(p.text for p in w.sent[0].reply.parts if isinstance(p, Text))
    assert text.count("store.weixin.qq.com") + text.count("#小店://") >= 3, "every deal has its link"
    assert w.league.calls["promote"] - asked <= 3
