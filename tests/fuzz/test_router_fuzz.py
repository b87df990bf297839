"""Property tests of the whole router (help, owner commands, deals) with hostile messages from many
members in many groups: no exception ever reaches a member, no reply to a message that asks nothing,
and the work one message causes is bounded (league calls and reply parts counted, not timed)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from bot.chat.base import Incoming, Reply, Text
from bot.compose import APOLOGY, build_router
from bot.config import parse_settings
from bot.handlers.deals import DealsHandler
from bot.handlers.parse import find_product_refs, parse_command
from bot.handlers.ratelimit import Limit, RateLimiter
from bot.handlers.router import Router
from bot.handlers.subscribe import SubscribeHandler
from bot.leagues.base import Spot
from bot.leagues.linkcache import LinkCache
from bot.render.engine import Renderer
from bot.services.attribution import GroupSpots
from bot.store.requests import RequestRecorder
from tests.fakes import FakeLeague, product
from tests.fuzz.strategies import messages

CATALOGUE = [
    product("1001", "小米 蓝牙耳机", 19900, coupon=2000),
    product("1002", "充电宝 20000毫安", 9900),
    product("2001", "维达 抽纸 24包", 4990, coupon=500),
]
MAX_LINKS = 3
LEAGUE_CALLS_PER_MESSAGE = 2 * MAX_LINKS + 1 + 3
"""Links: a lookup and a promotion each; a search: one search and a promotion per result shown."""


class World:
    def __init__(self, engine: Engine) -> None:
        self.loop = asyncio.new_event_loop()
        self.settings = parse_settings(
            {
                "deals": {
                    "max_links_per_message": MAX_LINKS,
                    "member_requests": 1000,
                    "group_requests": 1000,
                    "answer_deadline_seconds": 30,
                }
            }
        )
        self.league = FakeLeague(CATALOGUE)
        self.renderer = Renderer(None)
        spots = GroupSpots(engine, {"channels": Spot("channels", sharer_appid="op")})
        self.recorder = RequestRecorder(engine, flush_every=0.01)
        deals = DealsHandler(
            leagues={"channels": self.league},
            renderer=self.renderer,
            links=LinkCache(engine),
            spots=spots,
            limiter=RateLimiter(Limit(1000, 60), Limit(1000, 60)),
            recorder=self.recorder,
            settings=self.settings.deals,
        )
        subscribe = SubscribeHandler(
            engine=engine,
            renderer=self.renderer,
            league=self.league,
            groups=spots,
            operators=(),
            default_time="08:30",
        )
        self.router: Router = build_router(self.settings, self.renderer, subscribe, deals)
        self.ids = itertools.count()

    def ask(self, message: Incoming) -> Reply | None:
        return self.loop.run_until_complete(self.router(message))

    def close(self) -> None:
        self.loop.run_until_complete(self.recorder.close())
        self.loop.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from bot.store import db

    path: Path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    w = World(engine)
    yield w
    w.close()
    engine.dispose()


chats = st.sampled_from(["room1@chatroom", "room2@chatroom", "room3@chatroom", "wxid_private"])


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    text=messages(),
    chat=chats,
    sender=st.sampled_from(["alice", "bob", "mallory"]),
    mentioned=st.booleans(),
    owner=st.booleans(),
)
@example(text="\x1c帮助", chat="room1@chatroom", sender="alice", mentioned=False, owner=False)
@example(text="订\u200b阅 每日好物", chat="room1@chatroom", sender="alice", mentioned=False, owner=True)
@example(text="找\x00 {{ 7*7 }}", chat="room2@chatroom", sender="bob", mentioned=True, owner=False)
def test_hostile_messages_get_a_sane_answer_or_silence(
    world: World, text: str, chat: str, sender: str, mentioned: bool, owner: bool
) -> None:
    is_group = chat.endswith("@chatroom")
    message = Incoming(
        message_id=f"fuzz-{next(world.ids)}",
        chat_id=chat,
        chat_name=f"群 {chat}" if is_group else sender,
        sender_id=sender,
        sender_name=sender,
        text=text,
        is_group=is_group,
        mentioned=mentioned,
        sender_is_owner=owner,
    )
    before = sum(world.league.calls.values())
    reply = world.ask(message)
    calls = sum(world.league.calls.values()) - before

    texts = [p.text for p in reply.parts if isinstance(p, Text)] if reply else []
    assert APOLOGY not in texts, "a handler raised on this message"
    assert calls <= LEAGUE_CALLS_PER_MESSAGE
    if reply is not None:
        assert len(reply.parts) <= MAX_LINKS
        assert all(len(t) <= world.settings.templates.max_message_chars for t in texts)
    asks_nothing = not find_product_refs(text) and parse_command(text, mentioned=False) is None
    event("answered" if reply else "silent")
    if is_group and not mentioned and asks_nothing:
        assert not reply, f"answered a message that asks nothing: {texts}"
