"""A slow keyword search first says "正在帮你找…", then answers — once each; a fast one just answers.

The real deals handler and Channels league against the fault-injecting league server in "slow" mode
(tests/leagues/faulty_league.py). The notice goes out the way a late answer does (the `late` sender),
so what the member sees is recorded in one list, in the order it was sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Engine

from bot.chat.base import Incoming, Reply, Text
from bot.config import DealSettings
from bot.handlers.deals import DealsHandler
from bot.leagues.base import Spot
from bot.leagues.linkcache import LinkCache
from bot.leagues.wechat.client import ChannelsClient
from bot.leagues.wechat.league import ChannelsLeague
from bot.render.engine import Renderer
from bot.services.attribution import GroupSpots
from bot.store.requests import RequestRecorder
from tests.leagues.faulty_league import FaultyLeague
from tuike_sandbox.server import SandboxServer

NOTICE = "正在帮你找"
SLOW = 2.0
"""The league's delay: well past the notice threshold, well inside the deadline."""


class Chat:
    """What one member sees, in order: extra messages as they are sent, then the handler's reply."""

    def __init__(self, engine: Engine, base_url: str, **settings: float | bool) -> None:
        self.client = ChannelsClient(base_url, "wx_fault_org", "sandbox", timeout=8.0)
        self.seen: list[str] = []

        async def late_send(message: Incoming, reply: Reply) -> None:
            self.seen.append(_text(reply))

        self.handler = DealsHandler(
            leagues={"channels": ChannelsLeague(self.client, mini_program_appid="wx_sandbox_mp")},
            renderer=Renderer(None),
            links=LinkCache(engine),
            spots=GroupSpots(engine, {"channels": Spot("channels", sharer_appid="wx_sharer_demo01")}),
            limiter=None,
            recorder=RequestRecorder(engine, flush_every=0.01),
            settings=DealSettings.model_validate({"answer_deadline_seconds": 30.0, **settings}),
            late=late_send,
        )

    async def ask(self, text: str, *, group: bool = False) -> None:
        reply = await self.handler(
            Incoming(
                message_id=f"m{len(self.seen)}",
                chat_id="room1@chatroom" if group else "alice",
                chat_name="测试群" if group else "Alice",
                sender_id="alice",
                sender_name="Alice",
                text=text,
                is_group=group,
                mentioned=True,
            )
        )
        assert reply is not None
        self.seen.append(_text(reply))
        await self.handler.settled()

    async def aclose(self) -> None:
        await self.handler.aclose()
        await self.client.aclose()


def _text(reply: Reply) -> str:
    return "\n".join(p.text for p in reply.parts if isinstance(p, Text))


@pytest.fixture
async def faulty(sandbox: SandboxServer) -> AsyncIterator[FaultyLeague]:
    async with FaultyLeague(upstream=sandbox.base_url) as server:
        yield server


async def test_a_slow_search_says_it_is_searching_then_answers(engine: Engine, faulty: FaultyLeague) -> None:
    chat = Chat(engine, faulty.base_url, searching_notice_seconds=0.2)
    faulty.mode, faulty.delay = "slow", SLOW
    await chat.ask("蓝牙耳机")
    await chat.aclose()
    notice, answer = chat.seen
    assert NOTICE in notice and "蓝牙耳机" in notice
    assert "store.weixin.qq.com" in answer and NOTICE not in answer


async def test_a_fast_search_just_answers(engine: Engine, faulty: FaultyLeague) -> None:
    chat = Chat(engine, faulty.base_url, searching_notice_seconds=20.0)
    await chat.ask("蓝牙耳机")
    await chat.aclose()
    (answer,) = chat.seen
    assert "store.weixin.qq.com" in answer


@pytest.mark.parametrize(
    ("settings", "group"),
    [
        ({"searching_notice_seconds": 0.2}, True),  # groups: off by default
        ({"searching_notice_seconds": 0.0}, False),  # 0: off everywhere
    ],
)
async def test_no_notice_where_it_is_off(
    engine: Engine, faulty: FaultyLeague, settings: dict[str, float], group: bool
) -> None:
    chat = Chat(engine, faulty.base_url, **settings)
    faulty.mode, faulty.delay = "slow", SLOW
    await chat.ask("蓝牙耳机", group=group)
    await chat.aclose()
    (answer,) = chat.seen
    assert "store.weixin.qq.com" in answer


async def test_groups_get_the_notice_when_the_operator_wants_it(engine: Engine, faulty: FaultyLeague) -> None:
    chat = Chat(engine, faulty.base_url, searching_notice_seconds=0.2, searching_notice_in_groups=True)
    faulty.mode, faulty.delay = "slow", SLOW
    await chat.ask("蓝牙耳机", group=True)
    await chat.aclose()
    notice, answer = chat.seen
    assert NOTICE in notice and "store.weixin.qq.com" in answer


def test_default_is_two_seconds_in_private_chats_only() -> None:
    settings = DealSettings()
    assert settings.searching_notice_seconds == 2.0 and not settings.searching_notice_in_groups


async def test_notice_comes_only_once_even_when_the_answer_is_late(
    engine: Engine, faulty: FaultyLeague
) -> None:
    """Slower than the deadline too: notice, fallback, then the real answer — the notice once."""
    chat = Chat(
        engine,
        faulty.base_url,
        answer_deadline_seconds=0.8,
        searching_notice_seconds=0.2,
        late_answer_grace_seconds=30.0,
    )
    faulty.mode, faulty.delay = "slow", SLOW
    await chat.ask("蓝牙耳机")
    await chat.aclose()
    notice, fallback, answer = chat.seen
    assert NOTICE in notice and "联盟那边有点慢" in fallback and "store.weixin.qq.com" in answer
    assert sum(NOTICE in s for s in chat.seen) == 1
