"""What a member hears for 绑定 / 余额 / 提现 in private chat, through the router the app builds
(`Composition.commands` ahead of the deals handler): with rebates off, 「返利没有开」 — never a product
search for 「余额」; with rebates on, a usage hint for an amount that is not one."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.chat.base import Reply, Text
from bot.compose import Composition
from bot.config import parse_settings
from bot.handlers.router import Router
from tests.handlers.test_deals import Harness


def _router(h: Harness, engine: Engine, *, rebates: bool) -> Router:
    settings = parse_settings({"rebate": {"enabled": rebates}})
    parts = Composition(settings, engine, leagues={"channels": h.league}, renderer=h.handler.renderer)
    return parts.router(*parts.commands(lambda: None, dict), h.handler)


def said(reply: Reply | None) -> str:
    assert reply is not None and reply.parts, "expected an answer"
    return "\n".join(p.text for p in reply.parts if isinstance(p, Text))


@pytest.fixture
def h(engine: Engine, tmp_path: Path) -> Harness:
    return Harness(engine, tmp_path)


@pytest.mark.parametrize("text", ["余额", "返利", "绑定", "绑定 123456789012", "提现", "提现 100", "提现 -5"])
async def test_with_rebates_off_a_rebate_word_says_so_and_searches_nothing(
    h: Harness, engine: Engine, text: str
) -> None:
    router = _router(h, engine, rebates=False)
    answer = said(await router(h.msg(text, is_group=False, chat_id="alice", mentioned=True)))
    assert "返利没有开" in answer and "暂时没找到" not in answer
    assert not h.league.calls


@pytest.mark.parametrize("text", ["提现 -5", "提现 abc", "提现 0", "提现：12.345"])
async def test_with_rebates_on_a_bad_amount_gets_the_usage(h: Harness, engine: Engine, text: str) -> None:
    router = _router(h, engine, rebates=True)
    answer = said(await router(h.msg(text, is_group=False, chat_id="alice", mentioned=True)))
    assert "提现 10" in answer and "暂时没找到" not in answer, answer
    assert not h.league.calls


async def test_a_rebate_word_in_a_group_is_not_answered_as_a_rebate(h: Harness, engine: Engine) -> None:
    router = _router(h, engine, rebates=False)
    assert await router(h.msg("余额")) is None


async def test_a_withdrawal_says_the_operator_pays_and_shows_no_internal_number(
    h: Harness, engine: Engine
) -> None:
    """「提现」 is paid by the operator (not the group owner), and the ledger's row ids (5, then 13)
    mean nothing to a member: the reply names the amount and who pays, without a number (issue 30)."""
    from datetime import UTC, datetime, timedelta

    from bot.leagues.base import Order
    from bot.store.orders import store_window

    at = datetime.now(UTC) - timedelta(hours=1)
    orders = [
        Order(number, "s", "p", "商品", 20_000, 2_000, "settled", "", at, at)
        for number in ("280175066411", "280175066422")
    ]
    store_window(engine, "jd", [(o, None) for o in orders], datetime.now(UTC))
    router = _router(h, engine, rebates=True)
    replies = []
    for member, number in (("alice", "280175066411"), ("bob", "280175066422")):
        await router(
            h.msg(f"绑定 {number}", is_group=False, chat_id=member, sender_id=member, mentioned=True)
        )
        replies.append(
            said(
                await router(
                    h.msg("提现 4", is_group=False, chat_id=member, sender_id=member, mentioned=True)
                )
            )
        )
    for reply in replies:
        assert "¥4.00" in reply and "运营" in reply and "群主" not in reply, reply
        assert "编号" not in reply and not any(ch.isdigit() for ch in reply.replace("¥4.00", "")), reply
