"""`找 <a product's whole title>`: the member pasted a deal's title, so the answer is that deal.

The real deals handler, Channels league, link cache and store against the sandbox on loopback. The
sandbox counts every call by path, which is what the daily quota is spent on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from itertools import count

import pytest
from sqlalchemy import Engine

from bot.chat.base import Incoming, Text
from bot.config import DealSettings
from bot.handlers.deals import DealsHandler
from bot.handlers.parse import parse_command
from bot.leagues.answers import StoredAnswers
from bot.leagues.base import SearchQuery, Spot
from bot.leagues.linkcache import LinkCache
from bot.leagues.wechat.build import SANDBOX_SHARER
from bot.leagues.wechat.client import ChannelsClient
from bot.leagues.wechat.league import ChannelsLeague
from bot.render.engine import Renderer
from bot.services.attribution import GroupSpots
from bot.store.requests import RequestRecorder
from tuike_sandbox.catalogue import SandboxProduct
from tuike_sandbox.server import SandboxServer

PROMOTER = "/channels/ec/promoter/"
LIST = PROMOTER + "get_promote_product_list"
DETAIL = PROMOTER + "get_promote_product_detail"
LINK = PROMOTER + "get_product_promotion_link_info"

_ids = count(1)


class Bot:
    """One running bot: its league client, caches and deals handler on the given store."""

    def __init__(self, engine: Engine, sandbox: SandboxServer) -> None:
        self.client = ChannelsClient(sandbox.base_url, "wx_title_org", "sandbox", backoff=0.001, timeout=5)
        self.league = ChannelsLeague(self.client, answers=StoredAnswers(engine, "channels"))
        self.recorder = RequestRecorder(engine, flush_every=0.01)
        self.handler = DealsHandler(
            leagues={"channels": self.league},
            renderer=Renderer(None),
            links=LinkCache(engine),
            spots=GroupSpots(engine, {"channels": Spot("channels", sharer_appid=SANDBOX_SHARER)}),
            limiter=None,
            recorder=self.recorder,
            settings=DealSettings(),
        )

    async def ask(self, text: str, chat: str = "room1@chatroom") -> str:
        reply = await self.handler(
            Incoming(f"t{next(_ids)}", chat, "测试群", "alice", "Alice", text, mentioned=False)
        )
        assert reply is not None, f"no answer to {text!r}"
        return "\n".join(part.text for part in reply.parts if isinstance(part, Text))

    async def aclose(self) -> None:
        await self.recorder.close()
        await self.client.aclose()


@pytest.fixture
async def bot(engine: Engine, sandbox: SandboxServer) -> AsyncIterator[Bot]:
    running = Bot(engine, sandbox)
    yield running
    await running.aclose()


def pasteable(sandbox: SandboxServer, found: int = 1) -> list[SandboxProduct]:
    """On-promotion products whose `找 <title>` is a search, and whose title finds at least `found`
    products in the league's own search (itself, and look-alikes for more than one)."""
    out = []
    for p in sandbox.state.catalogue.products:
        command = parse_command(f"找 {p.title}", mentioned=False)
        if p.status != 1 or p.plan_type != 2 or command is None or command.kind != "search":
            continue
        alike = [q for q in sandbox.state.catalogue.search(p.title) if q.status == 1 and q.plan_type == 2]
        if len(alike) >= found:
            out.append(p)
    assert out, "the sandbox catalogue has products to paste"
    return out


def shows(text: str, title: str) -> bool:
    """Whether the answer lists the product (long titles are shortened in a list)."""
    return f"】{title[:12]}" in text


def deals_in(text: str) -> int:
    """How many deals an answer lists (each carries its own link)."""
    return text.count("https://")


async def test_a_pasted_title_answers_with_that_product_alone(bot: Bot, sandbox: SandboxServer) -> None:
    wanted = pasteable(sandbox, found=2)[0]
    before = sandbox.state.calls.copy()
    text = await bot.ask(f"找 {wanted.title}")
    assert shows(text, wanted.title)
    assert deals_in(text) == 1, "no look-alikes beside the product the member pasted"
    assert sandbox.state.calls[LINK] - before[LINK] == 1, "one link: the one shown"
    assert deals_in(await bot.ask(f"找 {' '.join(wanted.title.upper().split(' ')[:2])}")) > 1, (
        "words of a title are an ordinary search: several deals"
    )


async def test_a_title_the_bot_showed_costs_no_search(bot: Bot, sandbox: SandboxServer) -> None:
    """Products the bot posted (a push, an earlier answer) are found by their title without a list
    call, and the group's links for them are reused from one search to the next."""
    posted = await bot.league.search(SearchQuery(keyword="", limit=60))
    titles = {p.title for p in pasteable(sandbox)}
    shown = [p for p in posted if p.title in titles][:3]
    assert shown
    for p in shown:
        before = sandbox.state.calls.copy()
        text = await bot.ask(f"找 {p.title}")
        assert shows(text, p.title) and deals_in(text) == 1
        spent = sandbox.state.calls - before
        assert spent == {LINK: 1}, f"only the group's link for it, got {dict(spent)}"
    # asked again, in a new wording: nothing to ask the league at all
    before = sandbox.state.calls.copy()
    again = await bot.ask(f"找 {shown[0].title.replace(' ', '  ')}")
    assert shows(again, shown[0].title)
    assert sandbox.state.calls == before


async def test_titles_and_links_stay_known_across_a_restart(store: Engine, sandbox: SandboxServer) -> None:
    first = Bot(store, sandbox)
    wanted = pasteable(sandbox)[1]
    text = await first.ask(f"找 {wanted.title}")
    await first.aclose()
    assert shows(text, wanted.title)

    restarted = Bot(store, sandbox)
    before = sandbox.state.calls.copy()
    again = await restarted.ask(f"找 {wanted.title}")
    await restarted.aclose()
    assert again == text, "the same deal with the same link"
    assert sandbox.state.calls == before, "no list, detail or link call after the restart"
