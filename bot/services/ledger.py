"""The rebate ledger's rules as the chat, the web console and the CLI use them: what a member's 绑定 /
余额 / 提现 asks for, what binding an order or asking to withdraw came to, and recording a payment the
operator made by hand. The entries themselves (append-only, per-member locks) live in bot.store.rebate.

The order must already be synced; the first member to bind an order owns it. Credits follow the order:
pending until the league settles it, reversed when it is refunded or cancelled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Engine

from bot.store import rebate
from bot.store.models import MAX_ID

_BIND = re.compile(r"^/?绑定(?:订单)?[\s:：]*([0-9][0-9\-]*)\s*$")
_BALANCE = frozenset({"余额", "返利", "我的返利", "查余额"})
_WITHDRAW = re.compile(r"^/?提现[\s:：]*(?:(\d{1,7})(?:\.(\d{1,2}))?\s*元?)?\s*$")
_WITHDRAW_ANY = re.compile(r"^/?提现[\s:：]+\S")
"""提现 and something after a separator that is no amount (「提现 -5」, 「提现 abc」): the usage."""


@dataclass(frozen=True, slots=True)
class BindOrder:
    """绑定 <订单号> (or its last six digits); an empty `number` is 绑定 alone (the usage)."""

    number: str


@dataclass(frozen=True, slots=True)
class AskBalance:
    """余额 / 返利 / 我的返利 / 查余额."""


@dataclass(frozen=True, slots=True)
class Withdraw:
    """提现 [金额]: `amount_fen` None for everything available."""

    amount_fen: int | None


@dataclass(frozen=True, slots=True)
class WithdrawUsage:
    """提现 with an amount that is not one (negative, zero, words, three decimals): the usage."""


RebateAsk = BindOrder | AskBalance | Withdraw | WithdrawUsage


def read_rebate_ask(text: str) -> RebateAsk | None:
    """What a member's private message asks of the ledger, or None when it is not a rebate command."""
    text = text.strip()
    if bind := _BIND.match(text):
        return BindOrder(bind[1])
    if text.rstrip("？?") in _BALANCE:
        return AskBalance()
    if withdraw := _WITHDRAW.match(text):
        amount = None
        if withdraw[1]:
            amount = int(withdraw[1]) * 100 + int((withdraw[2] or "0").ljust(2, "0"))
            if amount <= 0:
                return WithdrawUsage()
        return Withdraw(amount)
    if _WITHDRAW_ANY.match(text):
        return WithdrawUsage()
    if text == "绑定":
        return BindOrder("")
    return None


@dataclass(frozen=True, slots=True)
class Withdrawn:
    """What 提现 came to: `outcome` "requested" (request `request_id` for `amount_fen`), "nothing"
    (nothing available) or "too_much" (more than the `available_fen`)."""

    outcome: str
    request_id: int
    amount_fen: int
    available_fen: int


def withdraw(engine: Engine, member_id: str, amount_fen: int | None) -> Withdrawn:
    """Ask to be paid `amount_fen` (default: everything available)."""
    request_id, value = rebate.request_withdrawal(engine, member_id, amount_fen)
    outcome = "requested" if request_id else "nothing" if value <= 0 else "too_much"
    return Withdrawn(
        outcome=outcome,
        request_id=request_id,
        amount_fen=value if request_id else 0,
        available_fen=0 if request_id else value,
    )


@dataclass(frozen=True, slots=True)
class Paid:
    """Recording a payment: `done` the request now recorded as paid, or None; then `known` is the
    request as it was when refused — already paid (`known.paid`), or short of what a refund took back
    since it was asked for (`known.shortfall_fen`) — or None when there is no such request."""

    done: rebate.Withdrawal | None
    known: rebate.Withdrawal | None = None


def record_paid(engine: Engine, withdrawal_id: int, *, force: bool = False) -> Paid:
    """Record that the operator paid withdrawal request `withdrawal_id` by hand. Atomic across
    processes (the member's lock), so two clicks, or a click and `tuike rebate pay`, record one payment.
    A request a refund uncovered is refused unless `force` (the money was transferred already)."""
    if not 0 < withdrawal_id <= MAX_ID:
        return Paid(None)
    try:
        done = rebate.pay(engine, withdrawal_id, force=force)
    except rebate.Uncovered as held:
        return Paid(None, held.withdrawal)
    if done is not None:
        return Paid(done)
    return Paid(None, next((w for w in rebate.withdrawals(engine) if w.id == withdrawal_id), None))


def uncovered_reason(withdrawal: rebate.Withdrawal) -> str:
    """Why an uncovered request is not paid, in the operator's words (the console and the CLI)."""
    return (
        f"编号 {withdrawal.id} 的提现（{_yuan(withdrawal.amount_fen)}，{withdrawal.member_id}）申请之后订单退款或取消了，"
        f"成员的余额现在差 {_yuan(withdrawal.shortfall_fen)}，不够付这笔"
    )


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen) // 100}.{abs(fen) % 100:02d}"
