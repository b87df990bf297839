"""Deals at the handler seam: a fake league, the real renderer, store, cache and limiter."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.chat.base import Incoming, Reply, Text
from bot.config import DealSettings
from bot.handlers.deals import DealsHandler
from bot.handlers.ratelimit import Limit, RateLimiter
from bot.leagues.base import LeagueError, LeagueUnavailable, QuotaExhausted, Spot
from bot.leagues.linkcache import LinkCache
from bot.render.engine import Renderer
from bot.services.attribution import GroupSpots
from bot.store.groups import ensure_group
from bot.store.models import Group, RequestLog
from bot.store.requests import RequestRecorder
from tests.fakes import FakeLeague, product

CATALOGUE = [
    product("1001", "小米 蓝牙耳机 Redmi Buds 6", 19900, coupon=2000, sales=50000),
    product("1002", "杂牌 蓝牙耳机 低价款", 3900, sales=20),
    product("1003", "华为 FreeBuds 蓝牙耳机", 49900, coupon=5000, sales=30000),
    product("1004", "漫步者 蓝牙耳机 W820NB", 29900, sales=8000),
    product("2001", "维达 抽纸 24包", 4990, coupon=500, sales=100000),
]


class Harness:
    def __init__(self, engine: Engine, tmp_path: Path, **settings: object) -> None:
        self.league = FakeLeague(CATALOGUE)
        self.recorder = RequestRecorder(engine, flush_every=0.01)
        self.now = [0.0]
        self.handler = DealsHandler(
            leagues={"channels": self.league},
            renderer=Renderer(None),
            links=LinkCache(engine),
            spots=GroupSpots(engine, {"channels": Spot("channels", sharer_appid="op_default")}),
            limiter=RateLimiter(Limit(3, 60), Limit(100, 60), clock=lambda: self.now[0]),
            recorder=self.recorder,
            settings=DealSettings(**settings),  # type: ignore[arg-type]
        )
        self._ids = iter(range(1, 10_000))

    def msg(self, text: str, **kw: object) -> Incoming:
        fields: dict[str, object] = {
            "message_id": f"m{next(self._ids)}",
            "chat_id": "room1@chatroom",
            "chat_name": "测试群",
            "sender_id": "alice",
            "sender_name": "Alice",
            "text": text,
        }
        fields.update(kw)
        return Incoming(**fields)  # type: ignore[arg-type]

    async def ask(self, text: str, **kw: object) -> list[str]:
        reply = await self.handler(self.msg(text, **kw))
        return texts(reply)


def texts(reply: Reply | None) -> list[str]:
    assert reply is not None, "expected an answer"
    out = []
    for part in reply.parts:
        assert isinstance(part, Text)
        assert part.mention_sender
        out.append(part.text)
    return out


@pytest.fixture
def h(engine: Engine, tmp_path: Path) -> Harness:
    return Harness(engine, tmp_path)


async def test_keyword_search_answers_top_three_ranked_with_group_links(h: Harness) -> None:
    (text,) = await h.ask("找 蓝牙耳机")
    assert "小米 蓝牙耳机" in text
    assert "华为 FreeBuds" in text
    assert "杂牌" not in text, "an unpopular product without coupon is ranked out of the top three"
    assert text.index("小米") < text.index("漫步者")
    assert "https://store.weixin.qq.com/shop/a/1001xop_default" in text
    assert "¥179.00" in text, "price after coupon of the 199 yuan earbuds with a 20 yuan coupon"


async def test_search_is_cached_and_links_are_reused(h: Harness) -> None:
    await h.ask("找 蓝牙耳机")
    await h.ask("搜 蓝牙耳机", sender_id="bob")
    assert h.league.calls["search"] == 1
    assert h.league.calls["promote"] == 3


async def test_bare_keyword_needs_a_mention_in_groups(h: Harness) -> None:
    assert await h.handler(h.msg("蓝牙耳机")) is None
    (text,) = await h.ask("蓝牙耳机", mentioned=True)
    assert "小米" in text
    (private,) = await h.ask("抽纸", chat_id="alice", chat_name="Alice", is_group=False, mentioned=True)
    assert "维达" in private


async def test_ordinary_chat_is_ignored(h: Harness) -> None:
    for line in ["今天天气不错", "哈哈哈", "谁下午一起吃饭", "我买了一个耳机，还行"]:
        assert await h.handler(h.msg(line)) is None
    assert sum(h.league.calls.values()) == 0


async def test_pasted_channels_link_gets_the_deal_for_this_group(h: Harness, engine: Engine) -> None:
    (text,) = await h.ask("看看这个 https://store.weixin.qq.com/shop/a/2001 怎么样")
    assert "维达 抽纸" in text
    assert "¥49.90" in text
    assert "¥44.90" in text
    assert "2001xop_default" in text
    # the owner binds their own sharer: new links credit them
    group = ensure_group(engine, "room1@chatroom", "测试群")
    with Session(engine) as session:
        row = session.get(Group, group.id)
        assert row is not None
        row.channels_sharer_appid = "owner_sharer"
        session.add(row)
        session.commit()
    h.handler.spots.ttl = 0  # type: ignore[attr-defined]
    (again,) = await h.ask("https://store.weixin.qq.com/shop/a/2001")
    assert "2001xowner_sharer" in again


async def test_several_links_answer_each_up_to_the_cap(engine: Engine, tmp_path: Path) -> None:
    h = Harness(engine, tmp_path, max_links_per_message=2)
    answers = await h.ask(
        "https://store.weixin.qq.com/shop/a/1001 和 https://store.weixin.qq.com/shop/a/1003 "
        "还有 https://store.weixin.qq.com/shop/a/1004"
    )
    assert len(answers) == 2
    assert "小米" in answers[0]
    assert "华为" in answers[1]


async def test_unsupported_platform_and_unknown_product(h: Harness) -> None:
    (jd,) = await h.ask("https://item.jd.com/100012043978.html")
    assert "暂不支持" in jd
    assert "京东" in jd
    (unknown,) = await h.ask("https://store.weixin.qq.com/shop/a/NoSuchThing")
    assert "没找到这个商品的优惠" in unknown


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (LeagueError("timeout"), "稍后再试"),
        (QuotaExhausted("45009"), "额度用完"),
        (LeagueUnavailable("retries"), "稍后再试"),
    ],
)
async def test_league_trouble_gets_a_friendly_answer(h: Harness, error: LeagueError, words: str) -> None:
    h.league.fail_with = error
    (search,) = await h.ask("找 蓝牙耳机")
    (link,) = await h.ask("https://store.weixin.qq.com/shop/a/1001")
    assert words in search
    assert words in link


async def test_rate_limit_warns_once_then_stays_silent(h: Harness) -> None:
    for _ in range(3):
        await h.ask("找 抽纸")
    (warning,) = await h.ask("找 抽纸")
    assert "太快" in warning
    silent = await h.handler(h.msg("找 抽纸"))
    assert silent is not None
    assert not silent, "after the warning the bot says nothing (an empty reply ends routing)"
    assert await h.ask("找 抽纸", sender_id="bob"), "another member is not limited"
    h.now[0] = 61
    (again,) = await h.ask("找 抽纸")
    assert "维达" in again


async def test_every_request_is_recorded_with_its_league_calls(h: Harness, engine: Engine) -> None:
    await h.ask("找 蓝牙耳机")
    await h.ask("https://store.weixin.qq.com/shop/a/2001")
    await h.ask("https://item.jd.com/100012043978.html")
    await h.recorder.close()
    await asyncio.sleep(0)
    with Session(engine) as session:
        rows = session.exec(select(RequestLog).order_by(RequestLog.id)).all()  # type: ignore[arg-type]
    assert [(r.kind, r.outcome) for r in rows] == [
        ("keyword", "ok"),
        ("short_link", "ok"),
        ("item", "unsupported"),
    ]
    assert rows[0].query == "蓝牙耳机"
    assert rows[0].league_calls == 4, "one search and three links"
    assert rows[1].product_id == "2001"
    assert rows[2].platform == "jd"
