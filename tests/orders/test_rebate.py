"""The rebate ledger: members bind synced orders in private chat, credits follow the order's status
(pending → settled → reversed on refund), withdrawals are recorded and paid by hand; every balance is
the sum of append-only entries, also when many bind at once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.chat.base import Incoming
from bot.cli import cli
from bot.handlers.rebate import RebateHandler
from bot.leagues.base import Order
from bot.services.ledger import record_paid
from bot.store import db
from bot.store import rebate as ledger
from bot.store.groups import ensure_group
from bot.store.models import RebateEntry
from bot.store.orders import store_window
from bot.store.requests import RequestRecord, write_requests

NOW = datetime.now(UTC)


def _order(
    order_id: str, commission: int, status: str = "pending", sku: str = "s", at: datetime = NOW
) -> Order:
    return Order(
        order_id, sku, "p", "商品", commission * 10, commission, status, "", at - timedelta(hours=1), at
    )


def _sync(engine: Engine, *orders: Order, league: str = "jd", group: int | None = None) -> None:
    store_window(engine, league, [(o, group) for o in orders], NOW)
    ledger.reconcile(engine)


def _asked_in(engine: Engine, room: str, member: str, owner: str = "") -> int:
    """The group `room` (owned by `owner`), where `member` asked the bot for a deal; its id."""
    group = ensure_group(engine, room, room, owner)
    assert group.id is not None
    write_requests(engine, [{"at": NOW, **asdict(RequestRecord(room, member, "keyword", query="找 耳机"))}])
    return group.id


def _entries_sum(engine: Engine, member: str) -> dict[str, int]:
    """The member's entries added up here, one by one."""
    totals = dict.fromkeys(ledger.BUCKETS, 0)
    with Session(engine) as session:
        for entry in session.exec(select(RebateEntry).where(RebateEntry.member_id == member)):
            totals[entry.bucket] += entry.amount_fen
    return totals


async def _ask(handler: RebateHandler, member: str, text: str) -> str:
    reply = await handler(Incoming("1", member, member, member, member, text, is_group=False))
    assert reply is not None, text
    return reply.parts[0].text  # type: ignore[attr-defined,no-any-return]


async def test_a_member_binds_an_order_and_follows_it_to_payout(store_engine: Engine) -> None:
    engine = store_engine
    _sync(engine, _order("280175066411", 2_000), _order("280175066411", 1_000, sku="t"))
    rebates = RebateHandler(engine=engine, share_percent=50)
    assert "确认收货后返 ¥15.00" in await _ask(rebates, "wx_amy", "绑定 280175066411")
    assert "可提现：¥0.00" in await _ask(rebates, "wx_amy", "余额")
    assert "待结算：¥15.00" in await _ask(rebates, "wx_amy", "余额")
    assert "还没有可以提现" in await _ask(rebates, "wx_amy", "提现")

    _sync(engine, _order("280175066411", 2_000, "settled"), _order("280175066411", 1_000, "settled", sku="t"))
    _sync(engine, _order("280175066411", 2_000, "settled"))  # read again: nothing more
    assert ledger.balance(engine, "wx_amy")[ledger.AVAILABLE] == 1_500
    assert "只有 ¥15.00" in await _ask(rebates, "wx_amy", "提现 20")
    answer = await _ask(rebates, "wx_amy", "提现 10.5")
    # the operator pays; the ledger's row id means nothing to the member and is not shown (issue 30)
    assert "¥10.50" in answer and "运营核对后会转给你" in answer and "编号" not in answer
    b = ledger.balance(engine, "wx_amy")
    assert (b[ledger.AVAILABLE], b[ledger.WITHDRAWING]) == (450, 1_050)

    [request] = ledger.withdrawals(engine, unpaid_only=True)
    assert ledger.pay(engine, request.id) is not None
    assert ledger.pay(engine, request.id) is None  # never twice
    assert ledger.balance(engine, "wx_amy")[ledger.PAID] == 1_050

    # a refund after settlement reverses what the order credited; history is kept, not rewritten
    _sync(engine, _order("280175066411", 2_000, "cancelled", at=NOW + timedelta(minutes=1)))
    b = ledger.balance(engine, "wx_amy")
    assert b[ledger.AVAILABLE] == 450 - 1_000
    assert b == _entries_sum(engine, "wx_amy")
    with Session(engine) as session:
        kinds = [e.kind for e in session.exec(select(RebateEntry).order_by(RebateEntry.id))]  # type: ignore[arg-type]
    assert kinds[0] == "credit_pending" and "reversal" in kinds and kinds.count("withdrawal_paid") == 2


async def test_bad_order_numbers_get_short_clear_answers(store_engine: Engine) -> None:
    engine = store_engine
    amy_and_bob = _asked_in(engine, "g@chatroom", "wx_amy")
    _asked_in(engine, "g@chatroom", "wx_bob")
    _sync(engine, _order("3900000123456", 800), _order("3900000999456", 500), group=amy_and_bob)
    _sync(engine, _order("77001", 1))
    rebates = RebateHandler(engine=engine, share_percent=50)
    assert "还没查到订单" in await _ask(rebates, "wx_amy", "绑定 1234567890")
    assert "订单号好像不对" in await _ask(rebates, "wx_amy", "绑定 12-3")
    assert "绑定成功" in await _ask(rebates, "wx_amy", "绑定 123456")  # the last six digits of one order
    assert "已经绑定过" in await _ask(rebates, "wx_amy", "绑定 3900000123456")
    assert "被别人绑定" in await _ask(rebates, "wx_bob", "绑定 3900000123456")
    _sync(engine, _order("4100000999456", 500), league="pdd", group=amy_and_bob)
    assert "好几个订单" in await _ask(rebates, "wx_bob", "绑定 999456")
    assert "绑定 订单号" in await _ask(rebates, "wx_bob", "绑定")
    group = Incoming("1", "g@chatroom", "群", "wx_bob", "bob", "余额", is_group=True)
    assert await rebates(group) is None  # private chat only


async def test_six_digits_claim_only_an_order_of_the_members_own_groups(store_engine: Engine) -> None:
    """Issue 33, item 3: 「绑定 345678」 bound another buyer's order in another group (the suffix
    searched every group's orders). Six digits now name only an order that came through a group the
    member asked the bot in (or owns); anything else needs the whole number."""
    engine = store_engine
    amys = _asked_in(engine, "amy@chatroom", "wx_amy")
    bobs = _asked_in(engine, "bob@chatroom", "wx_bob", owner="wx_carol")
    _sync(engine, _order("222222222222345678", 2_000, "settled"), group=bobs)
    rebates = RebateHandler(engine=engine, share_percent=50)

    refused = await _ask(rebates, "wx_amy", "绑定 345678")
    assert "完整的订单号" in refused and "绑定成功" not in refused
    assert ledger.balance(engine, "wx_amy") == dict.fromkeys(ledger.BUCKETS, 0)
    assert "完整的订单号" in await _ask(rebates, "wx_dave", "绑定 345678")  # never asked anywhere
    _sync(engine, _order("9100000777777", 300))  # unattributed: no group says whose it is
    assert "完整的订单号" in await _ask(rebates, "wx_amy", "绑定 777777")

    # bob asked in that group, and carol owns it: six digits are enough for them
    assert "绑定成功" in await _ask(rebates, "wx_bob", "绑定 345678")
    assert "被别人绑定" in await _ask(rebates, "wx_carol", "绑定 345678")
    # another group's order ending the same way does not make amy's own one ambiguous
    _sync(engine, _order("333333333333345678", 1_000), group=bobs)
    _sync(engine, _order("444444444444345678", 600), group=amys)
    answer = await _ask(rebates, "wx_amy", "绑定 345678")
    assert "绑定成功" in answer and "¥3.00" in answer
    # the whole number is still how to bind any synced order not yet bound
    assert "绑定成功" in await _ask(rebates, "wx_amy", "绑定 9100000777777")


async def test_concurrent_binds_credit_once_and_balances_are_sums_of_entries(store_engine: Engine) -> None:
    engine = store_engine
    orders = [_order(f"28{n:010d}", 1_000 + n) for n in range(8)]
    _sync(engine, *orders)
    members = [f"wx_m{n}" for n in range(6)]
    results = await asyncio.gather(
        *(
            asyncio.to_thread(ledger.bind, engine, member, order.order_id, 40)
            for order in orders
            for member in members
        )
    )
    assert sum(r.outcome == "bound" for r in results) == len(orders)
    assert all(r.outcome in ("bound", "taken") for r in results)
    total = 0
    for member in members:
        b = ledger.balance(engine, member)
        assert b == _entries_sum(engine, member)
        total += b[ledger.PENDING]
    assert total == sum(o.commission_fen * 40 // 100 for o in orders)


def test_operators_list_and_pay_withdrawals(write_config: Callable[..., Path], tmp_path: Path) -> None:
    config = write_config("[rebate]\nenabled = true\n")
    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'tuike.db'}")
    db.upgrade(engine)
    _sync(engine, _order("5500001", 3_000, "settled"))
    assert ledger.bind(engine, "wx_amy", "5500001", 50).outcome == "bound"
    request_id, amount = ledger.request_withdrawal(engine, "wx_amy")
    engine.dispose()
    run = CliRunner().invoke
    listed = run(cli, ["--config", str(config), "rebate", "list"])
    assert listed.exit_code == 0 and f"{request_id}" in listed.output and "¥15.00" in listed.output
    assert "wx_amy" in listed.output and "待付" in listed.output
    paid = run(cli, ["--config", str(config), "rebate", "pay", str(request_id)])
    assert paid.exit_code == 0 and "已记为已付" in paid.output
    again = run(cli, ["--config", str(config), "rebate", "pay", str(request_id)])
    assert again.exit_code == 2  # not found: exit 2, as every command (README)
    assert "没有待处理" in run(cli, ["--config", str(config), "rebate", "list"]).output
    assert amount == 1_500
    for absurd in (str(2**31), "9" * 30):  # beyond any id: no such request, not a traceback
        typed = run(cli, ["--config", str(config), "rebate", "pay", absurd])
        assert typed.exit_code == 2 and "没有编号" in typed.output, typed.output
        report = run(cli, ["--config", str(config), "report", "--group", absurd])
        assert report.exit_code == 2 and "没有这个群" in report.output, report.output


async def test_a_refund_after_a_withdrawal_request_stops_its_payment(store_engine: Engine) -> None:
    """Issue 33, item 4: bind a settled order (+¥30), 提现, then the order is refunded: the request
    stayed 待付 with no warning and was paid. Paying re-checks the balance; the operator who already
    transferred the money may still record it, saying so (`force`)."""
    engine = store_engine
    _sync(engine, _order("6600000000001", 6_000, "settled"), _order("6600000000002", 1_000, "settled"))
    rebates = RebateHandler(engine=engine, share_percent=50)
    assert "绑定成功" in await _ask(rebates, "wx_amy", "绑定 6600000000001")
    assert "¥30.00" in await _ask(rebates, "wx_amy", "提现 30")
    [request] = ledger.withdrawals(engine, unpaid_only=True)
    assert request.shortfall_fen == 0
    _sync(engine, _order("6600000000001", 6_000, "cancelled", at=NOW + timedelta(minutes=1)))
    assert ledger.balance(engine, "wx_amy") == {
        "pending": 0,
        "available": -3_000,
        "withdrawing": 3_000,
        "paid": 0,
    }

    [flagged] = ledger.withdrawals(engine, unpaid_only=True)
    assert (flagged.id, flagged.shortfall_fen) == (request.id, 3_000)
    refused = record_paid(engine, request.id)
    assert refused.done is None and refused.known is not None and refused.known.shortfall_fen == 3_000
    assert ledger.balance(engine, "wx_amy")["paid"] == 0, "nothing recorded"

    # the member binds another settled order: ¥5.00 of the ¥30.00 is covered again
    assert "绑定成功" in await _ask(rebates, "wx_amy", "绑定 6600000000002")
    [still] = ledger.withdrawals(engine, unpaid_only=True)
    assert still.shortfall_fen == 2_500
    forced = record_paid(engine, request.id, force=True)
    assert forced.done is not None and forced.done.amount_fen == 3_000
    assert ledger.balance(engine, "wx_amy") == {
        "pending": 0,
        "available": -2_500,
        "withdrawing": 0,
        "paid": 3_000,
    }
    assert "还没有可以提现" in await _ask(rebates, "wx_amy", "提现")


async def test_only_the_requests_a_refund_uncovered_are_held(store_engine: Engine) -> None:
    """Two requests, one refund that takes back less than both: the oldest stays covered and is paid;
    the newer one is held for what is missing."""
    engine = store_engine
    _sync(engine, _order("6700000000001", 4_000, "settled"), _order("6700000000002", 2_000, "settled"))
    for number in ("6700000000001", "6700000000002"):
        assert ledger.bind(engine, "wx_bob", number, 50).outcome == "bound"
    first, _ = ledger.request_withdrawal(engine, "wx_bob", 1_000)
    second, _ = ledger.request_withdrawal(engine, "wx_bob", 2_000)
    _sync(engine, _order("6700000000002", 2_000, "cancelled", at=NOW + timedelta(minutes=1)))
    held = {w.id: w.shortfall_fen for w in ledger.withdrawals(engine, unpaid_only=True)}
    assert held == {first: 0, second: 1_000}
    assert record_paid(engine, first).done is not None
    assert record_paid(engine, second).done is None
    assert {w.id: w.shortfall_fen for w in ledger.withdrawals(engine, unpaid_only=True)} == {second: 1_000}


def test_tuike_rebate_pay_refuses_an_uncovered_request_unless_forced(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    config = write_config("[rebate]\nenabled = true\n")
    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'tuike.db'}")
    db.upgrade(engine)
    _sync(engine, _order("5600001", 6_000, "settled"))
    assert ledger.bind(engine, "wx_amy", "5600001", 50).outcome == "bound"
    request_id, _ = ledger.request_withdrawal(engine, "wx_amy")
    _sync(engine, _order("5600001", 6_000, "cancelled", at=NOW + timedelta(minutes=1)))
    engine.dispose()
    run = CliRunner().invoke
    listed = run(cli, ["--config", str(config), "rebate", "list"])
    assert listed.exit_code == 0 and "退款" in listed.output and "差 ¥30.00" in listed.output
    refused = run(cli, ["--config", str(config), "rebate", "pay", str(request_id)])
    assert refused.exit_code == 1, refused.output
    assert "退款" in refused.output and "¥30.00" in refused.output and "--force" in refused.output
    assert "待付" in run(cli, ["--config", str(config), "rebate", "list"]).output
    forced = run(cli, ["--config", str(config), "rebate", "pay", "--force", str(request_id)])
    assert forced.exit_code == 0 and "已记为已付" in forced.output, forced.output
    assert "没有待处理" in run(cli, ["--config", str(config), "rebate", "list"]).output


@pytest.mark.parametrize("text", ["绑定推客", "余额宝怎么样", "提现到哪里"])
async def test_other_private_messages_pass_by(engine: Engine, text: str) -> None:
    rebates = RebateHandler(engine=engine, share_percent=50)
    assert await rebates(Incoming("1", "wx_amy", "a", "wx_amy", "a", text, is_group=False)) is None
