"""群发 with deals: each group gets the picked products with ITS OWN links (its spot per league), on the
sandbox league over loopback; picked up twice it still goes once; a product the league no longer
promotes is left out, and a target with nothing left fails with the reason."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.chat.base import Outgoing, Text
from bot.config import parse_settings
from bot.leagues.base import League, Product, Spot
from bot.leagues.linkcache import LinkCache
from bot.push import broadcast, claims
from bot.push.sender import PacedSender
from bot.push.service import PushService
from bot.render.engine import Renderer
from bot.services.attribution import GroupSpots
from bot.store.groups import ensure_group
from bot.store.models import Group, PushLog
from tests.helpers import wait_until
from tuike_sandbox.server import SandboxServer

DEFAULT_SHARER = "wx_sharer_demo02"
LINK = re.compile(r"https://store\.weixin\.qq\.com/shop/a/(\w+)")


class Chat:
    def __init__(self) -> None:
        self.got: list[tuple[str, str]] = []

    async def send(self, outgoing: Outgoing) -> None:
        text = "".join(p.text for p in outgoing.reply.parts if isinstance(p, Text))
        self.got.append((outgoing.chat_id, text))

    def to(self, room: str) -> list[str]:
        return [text for chat_id, text in self.got if chat_id == room]


def service(engine: Engine, league: League, chat: Chat, *, as_app: bool = False) -> PushService:
    """A push service over the sandbox league; `as_app`: wired as bot/app.py wires it (every league,
    each group's spot from `GroupSpots`), else with the spots it has for daily deals."""
    settings = parse_settings({})
    sender = PacedSender(chat.send, rate_per_minute=None, jitter=(0, 0), max_attempts=1)
    wiring: dict[str, Any] = {}
    if as_app:
        spots = GroupSpots(engine, {"channels": Spot("channels", sharer_appid=DEFAULT_SHARER)})
        wiring = {"leagues": {league.name: league}, "league_spots": spots.for_group}
    return PushService(
        settings,
        engine,
        league,
        Renderer(None, timezone="Asia/Shanghai"),
        sender,
        LinkCache(engine),
        lambda g: Spot("channels", sharer_appid=g.channels_sharer_appid or DEFAULT_SHARER),
        owner="host:console",
        **wiring,
    )


def group(engine: Engine, name: str, sharer: str = "") -> Group:
    made = ensure_group(engine, f"{name}@chatroom", name, account="console")
    with Session(engine) as session:
        row = session.get(Group, made.id)
        assert row is not None
        row.channels_sharer_appid = sharer
        session.add(row)
        session.commit()
        session.refresh(row)
        return row


def sharers(sandbox: SandboxServer, text: str) -> set[str]:
    """The sharer each link in the message was issued for, by the sandbox's own record."""
    tokens = LINK.findall(text)
    assert tokens, text
    return {sandbox.state.links[t].sharer_appid for t in tokens}


def results(engine: Engine, broadcast_id: int) -> dict[int, tuple[str, str]]:
    with Session(engine) as session:
        rows = session.exec(select(PushLog).where(PushLog.slot == broadcast.slot_of(broadcast_id))).all()
        return {r.group_id: (r.status, r.detail) for r in rows}


async def picks(league: League, keyword: str, n: int) -> list[Product]:
    found = await broadcast.search_deals({league.name: league}, [league.name], keyword, 10, "weighted")
    assert len(found.deals) >= n and not found.trouble
    return [p for _name, p in found.deals[:n]]


@pytest.mark.parametrize("as_app", [False, True], ids=["daily-spots", "app-wiring"])
async def test_each_group_gets_the_deals_with_its_own_links_once(
    engine: Engine, sandbox: SandboxServer, channels_league: League, as_app: bool
) -> None:
    mama = group(engine, "宝妈群", sharer="wx_sharer_demo01")
    tech = group(engine, "数码群", sharer="wx_sharer_demo03")
    plain = group(engine, "普通群")  # no sharer of its own: the operator's default
    chosen = await picks(channels_league, "蓝牙耳机", 2)
    made = broadcast.create(
        engine,
        "{群名}的朋友们，今天这两样值得买：",
        [mama.id or 0, tech.id or 0, plain.id or 0],
        "web:deals1",
        [("channels", p.product_id) for p in chosen],
    )
    chat = Chat()
    push = service(engine, channels_league, chat, as_app=as_app)
    push.sender.start()
    assert await push.send_broadcasts() == 3
    assert await push.send_broadcasts() == 0  # picked up again before the sends finish: nothing twice
    await wait_until(lambda: len(chat.got) >= 3)
    assert await push.send_broadcasts() == 0
    await push.sender.close()
    await push.stop()

    assert Counter(room for room, _ in chat.got) == Counter(
        {"宝妈群@chatroom": 1, "数码群@chatroom": 1, "普通群@chatroom": 1}
    )
    [to_mama], [to_tech], [to_plain] = (
        chat.to("宝妈群@chatroom"),
        chat.to("数码群@chatroom"),
        chat.to("普通群@chatroom"),
    )
    assert to_mama.startswith("宝妈群的朋友们，今天这两样值得买：")
    assert to_tech.startswith("数码群的朋友们，今天这两样值得买：")
    for text in (to_mama, to_tech, to_plain):
        assert all(p.title[:10] in text for p in chosen), text
        assert len(LINK.findall(text)) == 2
    assert sharers(sandbox, to_mama) == {"wx_sharer_demo01"}
    assert sharers(sandbox, to_tech) == {"wx_sharer_demo03"}
    assert sharers(sandbox, to_plain) == {DEFAULT_SHARER}
    assert made.id is not None
    assert {status for status, _ in results(engine, made.id).values()} == {claims.SENT}
    # the products count as pushed to the group: the daily deals do not repeat them for a while
    assert mama.id is not None
    assert {p.product_id for p in chosen} <= claims.recent_products(engine, mama.id, made.created_at)


async def test_a_product_no_longer_promoted_is_left_out_and_with_none_left_the_target_fails(
    engine: Engine, sandbox: SandboxServer, channels_league: League
) -> None:
    (good,) = await picks(channels_league, "蓝牙耳机", 1)
    gone = next(p for p in sandbox.state.catalogue.products if p.status != 1)
    one = group(engine, "还能发的群", sharer="wx_sharer_demo01")
    two = group(engine, "只有下架商品的群")
    assert one.id and two.id
    mixed = broadcast.create(
        engine, "", [one.id], "web:mixed", [("channels", str(gone.product_id)), ("channels", good.product_id)]
    )
    only_gone = broadcast.create(
        engine, "好物来了", [two.id], "web:gone", [("channels", str(gone.product_id)), ("channels", "404404")]
    )
    chat = Chat()
    push = service(engine, channels_league, chat)
    push.sender.start()
    assert await push.send_broadcasts() == 1
    await wait_until(lambda: len(chat.got) >= 1)
    await push.sender.close()
    await push.stop()

    [text] = chat.to("还能发的群@chatroom")
    assert good.title[:10] in text and gone.title[:10] not in text
    assert text.startswith("🛒 还能发的群｜好物推荐")  # no intro written: a title and the deals
    assert sharers(sandbox, text) == {"wx_sharer_demo01"}
    assert chat.to("只有下架商品的群@chatroom") == []
    assert mixed.id is not None and only_gone.id is not None
    assert results(engine, mixed.id)[one.id][0] == claims.SENT
    status, detail = results(engine, only_gone.id)[two.id]
    assert status == claims.FAILED
    assert "选的商品都发不了了" in detail and broadcast.GONE in detail and "channels:404404" in detail
    page, _total = broadcast.results(engine, only_gone.id)
    assert page[0].status == claims.FAILED and page[0].finished_at is not None


def test_the_products_field_round_trips_and_ignores_junk() -> None:
    refs = [("channels", "123"), ("jd", "9:9"), ("pdd", "77")]
    assert broadcast.parse_products(broadcast.products_field(refs)) == refs
    assert broadcast.parse_products("channels:1,,junk,:2,channels:1, jd:5 ") == [
        ("channels", "1"),
        ("jd", "5"),
    ]


async def test_a_league_out_of_quota_leaves_the_targets_for_the_next_look_not_failed(
    engine: Engine, sandbox: SandboxServer, channels_league: League
) -> None:
    (deal,) = await picks(channels_league, "蓝牙耳机", 1)
    one = group(engine, "等联盟的群", sharer="wx_sharer_demo01")
    made = broadcast.create(engine, "好物", [one.id or 0], "web:quota", [("channels", deal.product_id)])
    assert made.id is not None and one.id is not None
    chat = Chat()
    push = service(engine, channels_league, chat)
    push.sender.start()
    sandbox.state.reset_faults(quota_exhausted=True)
    assert await push.send_broadcasts() == 0
    assert results(engine, made.id) == {}  # nothing claimed, nothing failed: it is tried again
    sandbox.state.reset_faults()
    assert await push.send_broadcasts() == 1
    await wait_until(lambda: len(chat.got) >= 1)
    await push.sender.close()
    await push.stop()
    [text] = chat.to("等联盟的群@chatroom")
    assert deal.title[:10] in text and sharers(sandbox, text) == {"wx_sharer_demo01"}
    assert results(engine, made.id)[one.id][0] == claims.SENT


async def test_a_look_that_overlaps_a_send_does_not_count_it_again(
    engine: Engine, sandbox: SandboxServer, channels_league: League, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second look reads the targets before the first look's push is claimed, and returns after
    it was sent and settled: that target is neither queued nor counted again."""
    import threading

    room = group(engine, "宝妈群", sharer="wx_sharer_demo01")
    chosen = await picks(channels_league, "蓝牙耳机", 1)
    broadcast.create(
        engine, "今天这个值得买：", [room.id or 0], "web:deals2", [("channels", chosen[0].product_id)]
    )
    chat = Chat()
    push = service(engine, channels_league, chat)
    assert await push.send_broadcasts() == 1

    sent = threading.Event()
    real_pending = broadcast.pending

    def pending_then_wait(*args: Any) -> Any:
        rows = real_pending(*args)  # read while the target is still unclaimed
        assert rows, "the look must see the target before its claim"
        assert sent.wait(timeout=60), "the push was never sent"
        return rows

    monkeypatch.setattr(broadcast, "pending", pending_then_wait)
    look = asyncio.ensure_future(push.send_broadcasts())
    await asyncio.sleep(0)  # the look's query starts on its thread
    push.sender.start()
    await wait_until(lambda: len(chat.got) == 1 and not push._queued)
    sent.set()
    assert await look == 0
    await push.sender.close()
    await push.stop()
    assert len(chat.got) == 1
