"""Half an emoji or a NUL in a league's answer never costs a member their answer (issue 33, item 15).

Every registered league, built by its own plug-in against the sandbox over HTTP on 127.0.0.1, with
every non-ASCII text the sandbox answers carrying a lone surrogate and a NUL (`hostile_text`). A member
searching gets the same deals as from the plain sandbox, and everything the bot stored on the way —
the league's kept answers, the group's links, the request log — is stored, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from itertools import count

import pytest
from sqlalchemy import Engine, text

from bot.chat.base import Incoming, Reply, Text
from bot.compose import build_deals
from bot.config import parse_settings
from bot.leagues import registry
from bot.leagues.wire import loads
from bot.render.engine import Renderer
from bot.store.requests import RequestRecorder
from tests.leagues.hostile_text import HALF_EMOJI, NUL, spoiling
from tuike_sandbox.server import SandboxServer

LEAGUES = [plugin.name for plugin in registry.LEAGUES if plugin.searches]
_ids = count(1)
FOLLOWS = "查到了马上发给你"
SAFETY_SECONDS = 120
"""Only against a hang: the wait is for the answer that follows."""


@pytest.fixture
async def spoiled() -> AsyncIterator[SandboxServer]:
    async with spoiling(SandboxServer()) as server:
        yield server


def _text(reply: Reply) -> str:
    return "\n".join(part.text for part in reply.parts if isinstance(part, Text))


async def _answers(engine: Engine, base_url: str, league_name: str, asks: list[str]) -> list[str]:
    """The member's answer to each ask: on a loaded machine past the deadline it is the one that
    follows the "查到了马上发给你" fallback, and that is waited for."""
    plugin = registry.BY_NAME[league_name]
    settings = parse_settings({plugin.section: {league_name: {"enabled": True, "sandbox": True}}})
    league = plugin.make(settings, base_url, engine)
    recorder = RequestRecorder(engine, flush_every=0.01)
    followed: asyncio.Queue[Reply] = asyncio.Queue()

    async def follow(message: Incoming, reply: Reply) -> None:
        followed.put_nowait(reply)

    deals = build_deals(settings, Renderer(None), engine, {league.name: league}, recorder, late=follow)
    out = []
    try:
        for ask in asks:
            reply = await deals(
                Incoming(f"h{next(_ids)}", "room1@chatroom", "测试群", "alice", "Alice", ask, mentioned=False)
            )
            assert reply is not None, ask
            answer = _text(reply)
            if FOLLOWS in answer:
                answer = _text(await asyncio.wait_for(followed.get(), SAFETY_SECONDS))
            out.append(answer)
        await recorder.flush()
    finally:
        await recorder.close()
        await league.aclose()
    return out


def _unlinked(answers: list[str]) -> list[str]:
    """The answers with each link's random part left out (each sandbox makes its own links)."""
    return [re.sub(r"https://\S+", "https://…", answer) for answer in answers]


@pytest.mark.parametrize("league", LEAGUES)
async def test_a_league_answer_with_half_an_emoji_still_answers_the_member(
    league: str, store: Engine, engine: Engine, sandbox: SandboxServer, spoiled: SandboxServer
) -> None:
    asks = ["找 耳机", "找 洗衣液"]
    plain = await _answers(engine, sandbox.base_url, league, asks)
    hostile = await _answers(store, spoiled.base_url, league, asks)
    assert any("https://" in answer for answer in plain), plain
    assert _unlinked(hostile) == _unlinked(plain), "the same deals, with the half emoji and the NUL gone"
    for answer in hostile:
        assert HALF_EMOJI not in answer and NUL not in answer
    with store.connect() as connection:  # and what was stored on the way is there
        logged = connection.execute(text("SELECT count(*) FROM request_log")).scalar_one()
    assert logged == len(asks)


def test_decoding_drops_lone_surrogates_and_nul_but_keeps_pairs() -> None:
    raw = (
        b'{"t\\u0000itle": ["\\ud83d\\ude00 ok\\ud83d", "\\udc00x\\u0000", {"k": "\xed\xa0\xbd!"}], "n": 1.5}'
    )
    assert loads(raw) == {"title": ["\U0001f600 ok", "x", {"k": "!"}], "n": 1.5}
    assert str(loads(raw, exact=True)["n"]) == "1.5"
    assert loads('"\\ud83d"') == ""
