"""Member rebates (返利) in private chat: `绑定 <订单号>` (or its last six digits), `余额`,
`提现 [金额]`. The bot records; the operator pays out by hand (`tuike rebate pay`). With `[rebate]
enabled = false` the same words get 「返利没有开」 (template `rebate_off`), never a product search.

The chat's face over `bot.services.ledger` (what each command asks, what it came to).
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Engine

from bot.chat.base import Incoming, Reply
from bot.handlers.request import Request, RequestKind, as_request
from bot.render.engine import Renderer
from bot.services import ledger as rules
from bot.services.ledger import AskBalance, BindOrder, WithdrawUsage, read_rebate_ask
from bot.store import rebate as ledger


class RebateHandler:
    """The answers come from the rebate_bind, rebate_balance and rebate_withdraw templates (an operator
    may override them, per member too, like every other reply)."""

    def __init__(
        self,
        *,
        engine: Engine,
        share_percent: int,
        renderer: Renderer | None = None,
        enabled: bool = True,
    ) -> None:
        """`enabled`: `[rebate] enabled`; off, every rebate word is answered with `rebate_off`."""
        self.engine = engine
        self.share_percent = share_percent
        self.renderer = renderer or Renderer(None)
        self.enabled = enabled

    takes: frozenset[RequestKind] | None = None
    """Every request: a member's 绑定 / 余额 / 提现 has its own words (`read_rebate_ask`)."""

    async def __call__(self, message: Incoming) -> Reply | None:
        return await self.handle(as_request(message))

    async def handle(self, request: Request) -> Reply | None:
        message = request.message
        if message.is_group:
            return None
        ask = read_rebate_ask(message.text)
        context: dict[str, Any]
        if ask is None:
            return None
        if not self.enabled:
            asked = (
                "bind"
                if isinstance(ask, BindOrder)
                else "balance"
                if isinstance(ask, AskBalance)
                else "withdraw"
            )
            kind, context = "rebate_off", {"asked": asked}
        elif isinstance(ask, WithdrawUsage):
            kind, context = "rebate_withdraw", {**_NO_WITHDRAWAL, "outcome": "usage"}
        elif isinstance(ask, BindOrder):
            if ask.number:
                kind, context = (
                    "rebate_bind",
                    await self._bind(message.sender_id, ask.number, message.account),
                )
            else:
                kind, context = "rebate_bind", {**_NO_BINDING, "outcome": "usage"}
        elif isinstance(ask, AskBalance):
            kind, context = "rebate_balance", await self._balance(message.sender_id)
        else:
            kind, context = "rebate_withdraw", await self._withdraw(message.sender_id, ask.amount_fen)
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
        done = await asyncio.to_thread(rules.withdraw, self.engine, member, amount)
        return {
            "outcome": done.outcome,
            "request_id": done.request_id,
            "amount_fen": done.amount_fen,
            "available_fen": done.available_fen,
        }


_NO_BINDING: dict[str, Any] = {
    "number": "",
    "pending_fen": 0,
    "available_fen": 0,
    "cancelled": False,
}
_NO_WITHDRAWAL: dict[str, Any] = {"request_id": 0, "amount_fen": 0, "available_fen": 0}
