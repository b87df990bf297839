"""Every reply counts against the member's and the group's limits, not only searches: 100 × 帮助,
订阅状态 or a refused 订阅 from one member used to get 100 replies each (and, jumping the send queue,
held a push back for half an hour)."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import Engine

from bot.chat.base import Incoming, Reply
from bot.compose import build_router
from bot.config import parse_settings
from bot.handlers.deals import DealsHandler
from bot.handlers.ratelimit import Limit, RateLimiter, Verdict
from bot.handlers.router import Router
from bot.handlers.subscribe import SubscribeHandler
from bot.leagues.base import Spot
from bot.leagues.linkcache import LinkCache
from bot.render.engine import Renderer
from bot.services.attribution import GroupSpots
from bot.store.requests import RequestRecorder
from tests.fakes import FakeLeague, product


class Room:
    def __init__(self, engine: Engine) -> None:
        settings = parse_settings({"deals": {"member_requests": 5, "group_requests": 8}})
        self.now = [0.0]
        league = FakeLeague([product("1001", "小米 蓝牙耳机", 19900)])
        renderer = Renderer(None)
        spots = GroupSpots(engine, {"channels": Spot("channels", sharer_appid="op")})
        self.recorder = RequestRecorder(engine, flush_every=0.01)
        deals = DealsHandler(
            leagues={"channels": league},
            renderer=renderer,
            links=LinkCache(engine),
            spots=spots,
            limiter=None,
            recorder=self.recorder,
            settings=settings.deals,
        )
        subscribe = SubscribeHandler(
            engine=engine, renderer=renderer, league=league, groups=spots, operators=(), default_time="08:30"
        )
        limiter = RateLimiter(Limit(5, 60), Limit(8, 60), clock=lambda: self.now[0])
        self.router: Router = build_router(settings, renderer, subscribe, deals, limiter=limiter)
        self.ids = itertools.count()

    async def say(self, text: str, sender: str = "mallory", **kw: object) -> Reply | None:
        fields: dict[str, object] = {
            "message_id": f"m{next(self.ids)}",
            "chat_id": "room1@chatroom",
            "chat_name": "测试群",
            "sender_id": sender,
            "sender_name": sender,
            "text": text,
        }
        fields.update(kw)
        return await self.router(Incoming(**fields))  # type: ignore[arg-type]

    async def replies(self, text: str, times: int, sender: str = "mallory") -> list[Reply]:
        out = [await self.say(text, sender) for _ in range(times)]
        return [r for r in out if r]


@pytest.mark.parametrize("text", ["帮助", "订阅状态", "订阅 每日好物", "找 蓝牙耳机"])
async def test_one_member_repeating_a_command_gets_five_answers_and_one_warning(
    engine: Engine, text: str
) -> None:
    room = Room(engine)
    got = await room.replies(text, 100)
    assert len(got) == 6
    assert "太快" in got[-1].parts[0].text  # type: ignore[union-attr]
    room.now[0] = 61  # the window passes: answered again
    assert await room.say(text)
    await room.recorder.close()


async def test_the_group_limit_counts_every_member(engine: Engine) -> None:
    room = Room(engine)
    for sender in ("a", "b", "c", "d"):
        assert len(await room.replies("帮助", 2, sender)) == 2
    got = await room.replies("帮助", 5, "e")
    assert len(got) == 1 and "太快" in got[0].parts[0].text  # type: ignore[union-attr]
    await room.recorder.close()


async def test_ordinary_chat_is_not_counted(engine: Engine) -> None:
    room = Room(engine)
    for _ in range(50):
        assert not await room.say("今天天气不错，大家吃了吗")
    assert len(await room.replies("帮助", 5)) == 5
    await room.recorder.close()


async def test_hints_and_thanks_to_the_bot_count_and_acknowledgements_do_not(engine: Engine) -> None:
    room = Room(engine)
    sentence = "我昨天在你这里买了一个耳机但是到现在还没有发货，请问你能帮我查一下吗，谢谢你啦朋友们"
    got = [await room.say(sentence, mentioned=True) for _ in range(20)]
    assert len([r for r in got if r]) == 6, "five hints and one warning: a flood of @ gets no flood back"
    room.now[0] = 61
    for _ in range(20):
        assert await room.say("好的", mentioned=True) is None
    assert await room.say("找 蓝牙耳机"), "twenty 好的 used none of the member's five answers"
    await room.recorder.close()


def test_members_idle_for_a_window_are_forgotten_within_a_quarter_window_more() -> None:
    """A soak grew the heap by windows of members who had long stopped asking (pruned once a window,
    so up to two windows of members were held, each in a deque of ~0.6 KB)."""
    now = [0.0]
    limiter = RateLimiter(Limit(5, 60), Limit(100, 60), clock=lambda: now[0])  # every one let in
    for n in range(10_000):  # ten thousand members ask once within ten seconds
        now[0] = n / 1_000
        limiter.check(f"room{n % 100}@chatroom", f"wxid_{n}")
    assert limiter.keys_held == 10_100
    now[0] = 75.0  # a window and a quarter after the first of them, over a window after the last
    assert limiter.check("room0@chatroom", "wxid_late")[0] is Verdict.ALLOW
    assert limiter.keys_held == 2, "only the member who just asked, and the group"


def test_a_flood_of_new_members_holds_no_more_than_the_capacity_and_a_limited_member_stays_limited() -> None:
    """Forgetting by time alone let a flood of askers (every one new) grow the limiter for a whole
    window; past `capacity` the least recently active are forgotten, but never before a member the
    limit is holding back."""
    now = [0.0]
    limiter = RateLimiter(Limit(5, 60), Limit(1_000_000, 60), clock=lambda: now[0], capacity=1_000)
    for _ in range(5):
        assert limiter.check("room0@chatroom", "wxid_flooder")[0] is Verdict.ALLOW
    assert limiter.check("room0@chatroom", "wxid_flooder")[0] is Verdict.WARN
    assert limiter.check("room0@chatroom", "wxid_quiet")[0] is Verdict.ALLOW
    held = []
    for n in range(20_000):  # twenty thousand new members within twenty seconds
        now[0] = 0.5 + n / 1_000
        assert limiter.check(f"room{n % 100}@chatroom", f"wxid_{n}")[0] is Verdict.ALLOW
        held.append(limiter.keys_held)
    assert max(held) <= 1_000
    assert limiter.check("room0@chatroom", "wxid_flooder")[0] is Verdict.SILENT, "still within its window"
    assert limiter.check("room0@chatroom", "wxid_quiet")[0] is Verdict.ALLOW
    now[0] = 61.0  # the window has passed: the flooder may ask again
    assert limiter.check("room0@chatroom", "wxid_flooder")[0] is Verdict.ALLOW


def test_members_turned_away_because_the_group_is_over_its_limit_hold_nothing() -> None:
    """In a flood most askers are refused for the group's sake; each used to leave an empty window
    behind for a quarter window, most of what the limiter held (and churned) in a soak."""
    now = [0.0]
    limiter = RateLimiter(Limit(5, 60), Limit(20, 60), clock=lambda: now[0])
    for n in range(20):
        assert limiter.check("room0@chatroom", f"wxid_{n}")[0] is Verdict.ALLOW
    assert limiter.keys_held == 21
    verdicts = set()
    for n in range(20, 5_000):
        now[0] = n / 1_000
        verdicts.add(limiter.check("room0@chatroom", f"wxid_{n}")[0])
    assert verdicts == {Verdict.WARN, Verdict.SILENT}
    assert limiter.keys_held == 21, "the group and the twenty members it let in, no one else"
    now[0] = 60.0  # the group's window has passed: a newcomer is let in and counted
    assert limiter.check("room0@chatroom", "wxid_new")[0] is Verdict.ALLOW
    assert limiter.check("room0@chatroom", "wxid_new")[0] is Verdict.ALLOW
