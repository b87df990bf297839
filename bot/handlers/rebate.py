"""Member rebates (返利) in private chat, when `[rebate] enabled`: `绑定 <订单号>` (or its last six
digits), `余额`, `提现 [金额]`. The bot records; the operator pays out by hand (`tuike rebate pay`).

The order must already be synced (`tuike orders sync`, or the schedule inside `tuike run`); the first
member to bind an order owns it. Credits follow the order: pending until the league settles it,
reversed when it is refunded or cancelled.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from sqlalchemy import Engine

from bot.chat.base import Incoming, Reply
from bot.render.engine import Renderer
from bot.store import rebate as ledger

_BIND = re.compile(r"^/?绑定(?:订单)?[\s:：]*([0-9][0-9\-]*)\s*$")
_BALANCE = frozenset({"余额", "返利", "我的返利", "查余额"})
_WITHDRAW = re.compile(r"^/?提现[\s:：]*(?:(\d{1,7})(?:\.(\d{1,2}))?\s*元?)?\s*$")


class RebateHandler:
    """The answers come from the rebate_bind, rebate_balance and rebate_withdraw templates (an operator
    may override them, per member too, like every other reply)."""

    def __init__(self, *, engine: Engine, share_percent: int, renderer: Renderer | None = None) -> None:
        self.engine = engine
        self.share_percent = share_percent
        self.renderer = renderer or Renderer(None)

    async def __call__(self, message: Incoming) -> Reply | None:
        if message.is_group:
            return None
        text = message.text.strip()
        bind = _BIND.match(text)
        context: dict[str, Any]
        if bind:
            kind, context = "rebate_bind", await self._bind(message.sender_id, bind[1], message.account)
        elif text.rstrip("？?") in _BALANCE:
            kind, context = "rebate_balance", await self._balance(message.sender_id)
        elif withdraw := _WITHDRAW.match(text):
            amount = None
            if withdraw[1]:
                amount = int(withdraw[1]) * 100 + int((withdraw[2] or "0").ljust(2, "0"))
            kind, context = "rebate_withdraw", await self._withdraw(message.sender_id, amount)
        elif text == "绑定":
            kind, context = "rebate_bind", {**_NO_BINDING, "outcome": "usage"}
        else:
            return None
        return Reply.text(await self.renderer.render_async(kind, context, group=message.chat_id))

    async def _bind(self, member: str, number: str, account: str) -> dict[str, Any]:
        done = await asyncio.to_thread(ledger.bind, self.engine, member, number, self.share_percent, account)
        return {
            "outcome": done.outcome,
            "number": number,
            "pending_fen": done.pending_fen,
            "available_fen": done.available_fen,
            "cancelled": done.cancelled,
        }

    async def _balance(self, member: str) -> dict[str, Any]:
        b = await asyncio.to_thread(ledger.balance, self.engine, member)
        return {
            "available_fen": b[ledger.AVAILABLE],
            "pending_fen": b[ledger.PENDING],
            "withdrawing_fen": b[ledger.WITHDRAWING],
            "paid_fen": b[ledger.PAID],
        }

    async def _withdraw(self, member: str, amount: int | None) -> dict[str, Any]:
        request_id, value = await asyncio.to_thread(ledger.request_withdrawal, self.engine, member, amount)
        outcome = "requested" if request_id else "nothing" if value <= 0 else "too_much"
        return {
            "outcome": outcome,
            "request_id": request_id,
            "amount_fen": value if request_id else 0,
            "available_fen": 0 if request_id else value,
        }


_NO_BINDING: dict[str, Any] = {
    "number": "",
    "pending_fen": 0,
    "available_fen": 0,
    "cancelled": False,
}
