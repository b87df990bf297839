"""Member rebates (返利) in private chat, when `[rebate] enabled`: `绑定 <订单号>` (or its last six
digits), `余额`, `提现 [金额]`. The bot records; the operator pays out by hand (`tuike rebate pay`).

The order must already be synced (`tuike orders sync`, or the schedule inside `tuike run`); the first
member to bind an order owns it. Credits follow the order: pending until the league settles it,
reversed when it is refunded or cancelled.
"""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import Engine

from bot.chat.base import Incoming, Reply
from bot.store import rebate as ledger

_BIND = re.compile(r"^/?绑定(?:订单)?[\s:：]*([0-9][0-9\-]*)\s*$")
_BALANCE = frozenset({"余额", "返利", "我的返利", "查余额"})
_WITHDRAW = re.compile(r"^/?提现[\s:：]*(?:(\d{1,7})(?:\.(\d{1,2}))?\s*元?)?\s*$")

USAGE = "发「绑定 订单号」就能领返利，订单号在订单详情里复制，也可以只发后 6 位，例如：绑定 280175066411"
MALFORMED = "订单号好像不对：只要数字（拼多多的可以带 -），至少 6 位。" + USAGE[USAGE.index("例如") - 1 :]


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen) // 100}.{abs(fen) % 100:02d}"


class RebateHandler:
    def __init__(self, *, engine: Engine, share_percent: int) -> None:
        self.engine = engine
        self.share_percent = share_percent

    async def __call__(self, message: Incoming) -> Reply | None:
        if message.is_group:
            return None
        text = message.text.strip()
        bind = _BIND.match(text)
        if bind:
            return Reply.text(await self._bind(message.sender_id, bind[1]))
        if text.rstrip("？?") in _BALANCE:
            return Reply.text(await self._balance(message.sender_id))
        withdraw = _WITHDRAW.match(text)
        if withdraw:
            amount = None
            if withdraw[1]:
                amount = int(withdraw[1]) * 100 + int((withdraw[2] or "0").ljust(2, "0"))
            return Reply.text(await self._withdraw(message.sender_id, amount))
        if text == "绑定":
            return Reply.text(USAGE)
        return None

    async def _bind(self, member: str, number: str) -> str:
        done = await asyncio.to_thread(ledger.bind, self.engine, member, number, self.share_percent)
        if done.outcome == "malformed":
            return MALFORMED
        if done.outcome == "unknown":
            return f"还没查到订单 {number}。刚下的单要过一会儿才同步过来，请稍后再发一次；不是通过我们的链接买的订单没有返利。"
        if done.outcome == "ambiguous":
            return f"后 6 位 {number} 对上了好几个订单，请发完整的订单号。"
        if done.outcome == "taken":
            return "这个订单已经被别人绑定了。如果确实是你买的，请联系群主核对。"
        if done.outcome == "mine":
            return "这个订单你已经绑定过了，发「余额」看返利。"
        if done.available_fen:
            return f"绑定成功 ✅ 订单已结算，返利 {yuan(done.available_fen)} 已到余额，发「提现」就能申请。"
        if done.pending_fen:
            return f"绑定成功 ✅ 订单已跟踪，确认收货后返 {yuan(done.pending_fen)}。"
        return "绑定成功，不过这个订单已取消或退款，没有返利。"

    async def _balance(self, member: str) -> str:
        b = await asyncio.to_thread(ledger.balance, self.engine, member)
        lines = [
            f"💰 可提现：{yuan(b[ledger.AVAILABLE])}",
            f"⏳ 待结算：{yuan(b[ledger.PENDING])}（确认收货、联盟结算后可提现）",
        ]
        if b[ledger.WITHDRAWING]:
            lines.append(f"🕓 提现中：{yuan(b[ledger.WITHDRAWING])}")
        if b[ledger.PAID]:
            lines.append(f"✅ 已提现：{yuan(b[ledger.PAID])}")
        return "\n".join(lines)

    async def _withdraw(self, member: str, amount: int | None) -> str:
        request_id, value = await asyncio.to_thread(ledger.request_withdrawal, self.engine, member, amount)
        if request_id:
            return f"提现申请已记下（编号 {request_id}，{yuan(value)}），群主核对后会转给你。"
        if value <= 0:
            return "现在还没有可以提现的返利：订单确认收货、联盟结算后才能提现。发「余额」看看。"
        return f"可提现的只有 {yuan(value)}，发「提现」就把这些都提出来。"
