"""`佣金` / `收益` / `订单`: the owner (or an operator) hears this group's figures for today, this month and
last month; members are refused politely; another group's orders never show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from bot.chat.base import Incoming
from bot.handlers.money import IN_GROUP_ONLY, MoneyHandler
from bot.leagues.base import Order, Spot
from bot.render.engine import Renderer
from bot.services.attribution import GroupSpots
from bot.store.groups import ensure_group, set_sharer
from bot.store.orders import store_window

NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai


def _order(n: int, at: datetime, paid: int, commission: int, status: str = "pending") -> Order:
    return Order(f"o{n}", "s", "p", "商品", paid, commission, status, "", at, at)


@pytest.fixture
def handler(engine: Engine) -> MoneyHandler:
    a = ensure_group(engine, "a@chatroom", "甲群")
    b = ensure_group(engine, "b@chatroom", "乙群")
    rows = [
        (_order(1, NOW - timedelta(hours=1), 10_000, 1_000), a.id),
        (_order(2, NOW - timedelta(days=3), 20_000, 2_500, "settled"), a.id),
        (_order(3, NOW - timedelta(days=40), 30_000, 3_000), a.id),  # last month
        (_order(4, NOW - timedelta(hours=2), 50_000, 9_900, "cancelled"), a.id),
        (_order(5, NOW - timedelta(hours=1), 77_700, 7_700), b.id),
        (_order(6, NOW - timedelta(hours=1), 88_800, 8_800), None),
    ]
    store_window(engine, "jd", rows, NOW)
    return MoneyHandler(
        engine=engine,
        renderer=Renderer(None),
        groups=GroupSpots(engine, {}),
        operators=["op_wxid"],
        clock=lambda: NOW,
    )


def _msg(
    text: str, *, owner: bool = False, sender: str = "m1", room: str = "a@chatroom", group: bool = True
) -> Incoming:
    return Incoming("1", room, "甲群", sender, "小明", text, is_group=group, sender_is_owner=owner)


def _text(reply: object) -> str:
    assert reply is not None
    return reply.parts[0].text  # type: ignore[attr-defined,no-any-return]


async def test_the_owner_sees_today_this_month_and_last_month(handler: MoneyHandler) -> None:
    text = _text(await handler(_msg("佣金", owner=True)))
    today, month, last = (text.split(f"【{name}】")[1].split("【")[0] for name in ("今天", "本月", "上月"))
    assert "1 单" in today and "¥100.00" in today and "¥10.00" in today
    assert "2 单" in month and "¥300.00" in month and "¥35.00" in month and "已结算 ¥25.00" in month
    assert "1 单" in last and "¥300.00" in last
    assert "¥777.00" not in text and "¥888.00" not in text  # another group's, and unattributed orders
    assert "¥500.00" not in text  # the cancelled order


@pytest.mark.parametrize("word", ["佣金", "收益", "订单"])
async def test_every_word_works_and_an_operator_may_ask(handler: MoneyHandler, word: str) -> None:
    assert "推广成绩" in _text(await handler(_msg(word, sender="op_wxid")))


async def test_members_are_refused_politely(handler: MoneyHandler) -> None:
    text = _text(await handler(_msg("佣金")))
    assert "群主" in text and "¥" not in text


async def test_private_chat_says_where_to_ask_and_chat_is_ignored(handler: MoneyHandler) -> None:
    assert _text(await handler(_msg("佣金", group=False, owner=True))) == IN_GROUP_ONLY
    assert await handler(_msg("佣金怎么算的", owner=True)) is None
    assert await handler(_msg("订单到了吗", owner=True)) is None


async def test_the_owner_sees_their_share_when_the_operator_pays_one(engine: Engine) -> None:
    group = ensure_group(engine, "a@chatroom", "甲群")
    store_window(
        engine,
        "jd",
        [
            (_order(1, NOW - timedelta(hours=1), 10_000, 1_000), group.id),
            (_order(2, NOW - timedelta(days=3), 20_000, 2_501, "settled"), group.id),
        ],
        NOW,
    )

    def handler(percent: int) -> MoneyHandler:
        return MoneyHandler(
            engine=engine,
            renderer=Renderer(None),
            groups=GroupSpots(engine, {}),
            clock=lambda: NOW,
            owner_share_percent=percent,
        )

    text = _text(await handler(30)(_msg("佣金", owner=True)))
    today, month = (text.split(f"【{name}】")[1].split("【")[0] for name in ("今天", "本月"))
    assert "群主分成 30%：¥3.00" in today
    # 30% of ¥35.01 estimated and of ¥25.01 settled, rounded down to the fen
    assert "群主分成 30%：¥10.50（已结算 ¥7.50）" in month
    assert "群主分成" not in _text(await handler(0)(_msg("佣金", owner=True)))


def _channels(n: int, at: datetime, sharer: str, status: str = "pending") -> Order:
    return Order(f"c{n}", "s", "p", "商品", 10_000, 1_000, status, sharer, at, at)


@pytest.mark.parametrize(
    ("orders", "bound", "said"),
    [
        ([_channels(1, NOW - timedelta(days=2), "wx_default")], "", True),
        ([_channels(1, NOW - timedelta(days=35), "wx_default")], "", True),  # last month: in the report
        ([_channels(1, NOW - timedelta(days=70), "wx_default")], "", False),  # before the periods asked
        ([_channels(1, NOW - timedelta(days=2), "wx_default", "cancelled")], "", False),  # brings nothing
        ([_channels(1, NOW - timedelta(days=2), "wx_someone_else")], "", False),  # not the default's
        ([_channels(1, NOW - timedelta(days=2), "wx_default")], "wx_own", False),  # the owner bound theirs
        ([], "", False),
    ],
)
async def test_default_sharer_orders_are_said_to_be_left_out_only_when_there_are_some(
    store: Engine, orders: list[Order], bound: str, said: bool
) -> None:
    """On SQLite and PostgreSQL: 佣金 tells an owner without their own 推客 that 微信小店 orders through the
    operator's default sharer (placed in the periods asked, not cancelled) are not counted and why."""
    group = ensure_group(store, "a@chatroom", "甲群")
    assert group.id is not None
    if bound:
        set_sharer(store, group.id, bound)
    store_window(store, "channels", [(o, None) for o in orders], NOW)
    handler = MoneyHandler(
        engine=store,
        renderer=Renderer(None),
        groups=GroupSpots(store, {"channels": Spot("channels", sharer_appid="wx_default")}),
        clock=lambda: NOW,
    )
    text = _text(await handler(_msg("佣金", owner=True)))
    assert ("微信小店的订单没算在上面" in text) is said, text
    assert ("默认推客" in text and "绑定推客" in text) is said
