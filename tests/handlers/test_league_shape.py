"""The multi-league shape at the handler seam: keyword searches ask the configured leagues together and
rank their results as one list; groups get their own identity on leagues that issue one."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from sqlalchemy import Engine

from bot.chat.base import Incoming, Text
from bot.config import DealSettings
from bot.handlers.deals import DealsHandler
from bot.handlers.ratelimit import Limit, RateLimiter
from bot.leagues.base import LeagueUnavailable, Product, Spot
from bot.leagues.linkcache import LinkCache
from bot.render.engine import Renderer
from bot.services.attribution import GroupSpots
from bot.store.requests import RequestRecorder
from tests.fakes import FakeLeague, product


def _taobao(p: Product) -> Product:
    return dataclasses.replace(p, platform="taobao")


class PoolLeague(FakeLeague):
    """A fake league that hands each group one identity from a pool, as the Taobao adzone pool does."""

    def __init__(self, products: list[Product], pool: list[str]) -> None:
        super().__init__(products, name="taobao", platform="taobao")
        self.pool = pool

    async def choose_identity(self, group_key: str, taken: set[tuple[str, str]]) -> tuple[str, str]:
        await asyncio.sleep(0)
        free = [pid for pid in self.pool if (pid, "") not in taken]
        return (free[0], "") if free else (self.pool[0], group_key)


def _handler(engine: Engine, by_name: dict[str, FakeLeague], **settings: object) -> DealsHandler:
    spots = GroupSpots(
        engine,
        {"channels": Spot("channels", sharer_appid="op"), "taobao": Spot("taobao", pid="mm_1_2_3")},
        issuers={n: lg for n, lg in by_name.items() if isinstance(lg, PoolLeague)},
    )
    return DealsHandler(
        leagues=by_name,
        renderer=Renderer(None),
        links=LinkCache(engine),
        spots=spots,
        limiter=RateLimiter(Limit(100, 60), Limit(100, 60)),
        recorder=RequestRecorder(engine, flush_every=0.01),
        settings=DealSettings(**settings),  # type: ignore[arg-type]
    )


def _msg(text: str, room: str = "room1@chatroom", n: int = 1) -> Incoming:
    return Incoming(
        message_id=f"{room}-{n}",
        chat_id=room,
        chat_name=room,
        sender_id="alice",
        sender_name="Alice",
        text=text,
    )


async def _ask(handler: DealsHandler, text: str, room: str = "room1@chatroom", n: int = 1) -> str:
    reply = await handler(_msg(text, room, n))
    assert reply is not None
    part = reply.parts[0]
    assert isinstance(part, Text)
    return part.text


async def test_a_keyword_search_mixes_leagues_cheapest_first_and_names_each_platform(engine: Engine) -> None:
    channels = FakeLeague(
        [product("c1", "蓝牙耳机 A", 19900, sales=50000), product("c2", "蓝牙耳机 B", 9900)]
    )
    taobao = PoolLeague([_taobao(product("t1", "蓝牙耳机 淘", 12900, coupon=5000, sales=90000))], ["111"])
    handler = _handler(engine, {"channels": channels, "taobao": taobao})
    text = await _ask(handler, "找 蓝牙耳机")
    lines = [line for line in text.splitlines() if line[:2] in ("1.", "2.", "3.")]
    assert len(lines) == 3
    assert "【淘宝/天猫】蓝牙耳机 淘" in lines[0]  # ¥79 after coupon beats ¥99 and ¥199
    assert "【微信小店】蓝牙耳机 B" in lines[1] and "蓝牙耳机 A" in lines[2]
    assert channels.calls["search"] == 1 and taobao.calls["search"] == 1


async def test_the_operator_chooses_which_leagues_a_search_asks(engine: Engine) -> None:
    channels = FakeLeague([product("c1", "蓝牙耳机 A", 19900)])
    taobao = PoolLeague([_taobao(product("t1", "蓝牙耳机 淘", 12900))], ["111"])
    handler = _handler(engine, {"channels": channels, "taobao": taobao}, leagues=["taobao"])
    text = await _ask(handler, "找 蓝牙耳机")
    assert "蓝牙耳机 淘" in text and "蓝牙耳机 A" not in text
    assert channels.calls["search"] == 0


async def test_one_league_in_trouble_does_not_hide_the_others(engine: Engine) -> None:
    channels = FakeLeague([product("c1", "蓝牙耳机 A", 19900)])
    taobao = PoolLeague([_taobao(product("t1", "蓝牙耳机 淘", 12900))], ["111"])
    taobao.fail_with = LeagueUnavailable("throttled")
    text = await _ask(_handler(engine, {"channels": channels, "taobao": taobao}), "找 蓝牙耳机")
    assert "蓝牙耳机 A" in text and "蓝牙耳机 淘" not in text


async def test_each_group_gets_its_own_identity_once_and_keeps_it(engine: Engine, tmp_path: Path) -> None:
    taobao = PoolLeague([_taobao(product("t1", "蓝牙耳机 淘", 12900))], ["111", "222"])
    handler = _handler(engine, {"taobao": taobao})
    await _ask(handler, "找 蓝牙耳机", room="a@chatroom")
    await _ask(handler, "找 蓝牙耳机", room="b@chatroom")
    await _ask(handler, "找 蓝牙耳机", room="c@chatroom")
    cached = handler.finder.links.keys()
    assert sorted(spot for _, _, spot in cached) == ["111", "111|c@chatroom", "222"]
    # a restart (a fresh resolver) finds the same identities in the store
    again = _handler(engine, {"taobao": taobao})
    spot = await again.spots(_msg("x", room="b@chatroom"), "taobao")
    assert spot == Spot("taobao", pid="222")
