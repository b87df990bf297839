"""The 绑定 / 余额 / 提现 answers come from templates an operator may rewrite (templates/rebate_*.j2),
and the answer to a bound order says what the member will get — or why nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from bot.chat.base import Incoming
from bot.handlers.rebate import RebateHandler
from bot.leagues.base import Order
from bot.render.engine import Renderer
from bot.store import rebate as ledger
from bot.store.orders import store_window

NOW = datetime.now(UTC)


def _order(order_id: str, commission: int, status: str = "pending") -> Order:
    at = NOW - timedelta(hours=1)
    return Order(order_id, "s", "p", "商品", commission * 10, commission, status, "", at, at)


async def _ask(handler: RebateHandler, text: str, member: str = "wx_amy") -> str:
    reply = await handler(Incoming("1", member, member, member, member, text, is_group=False))
    assert reply is not None, text
    return reply.parts[0].text  # type: ignore[attr-defined,no-any-return]


async def test_an_operator_rewrites_the_answers(engine: Engine, tmp_path: Path) -> None:
    store_window(engine, "jd", [(_order("280175066411", 2_000, "settled"), None)], NOW)
    (tmp_path / "rebate_balance.j2").write_text(
        "亲，能提 {{ available_fen|yuan }}，在路上 {{ pending_fen|yuan }}", encoding="utf-8"
    )
    (tmp_path / "rebate_withdraw.j2").write_text(
        "{% if outcome == 'requested' %}第 {{ request_id }} 号：{{ amount_fen|yuan }}{% else %}不行{% endif %}",
        encoding="utf-8",
    )
    rebates = RebateHandler(engine=engine, share_percent=50, renderer=Renderer(tmp_path))
    assert "已到余额" in await _ask(rebates, "绑定 280175066411")  # the built-in one, not overridden
    assert await _ask(rebates, "余额") == "亲，能提 ¥10.00，在路上 ¥0.00"
    assert ledger.withdrawals(engine) == []
    answer = await _ask(rebates, "提现 4")
    [request] = ledger.withdrawals(engine)
    assert answer == f"第 {request.id} 号：¥4.00"
    assert await _ask(rebates, "提现 40") == "不行"


async def test_a_bound_order_says_what_it_brings_or_why_nothing(engine: Engine) -> None:
    store_window(
        engine,
        "pdd",
        [
            (_order("5100000000001", 0), None),  # the league has not estimated it yet
            (_order("5100000000002", 900, "cancelled"), None),
        ],
        NOW,
    )
    rebates = RebateHandler(engine=engine, share_percent=50)
    waiting = await _ask(rebates, "绑定 5100000000001")
    assert "订单已跟踪" in waiting and "还没算出" in waiting and "取消" not in waiting
    assert "已取消或退款，没有返利" in await _ask(rebates, "绑定 5100000000002", "wx_bob")
    assert "，例如：绑定 280175066411" in await _ask(rebates, "绑定 12-3")
