"""The owner's 佣金 / 收益 / 订单 in a group: what this group's links earned today, this month and last
month (the synced orders attributed to it), from the `commission_report` template.

When the operator pays owners a share (`[rebate] owner_share_percent`), each period also shows the
owner's share of the estimated and of the settled commission.

A group whose owner has not bound their own Channels 推客 makes its 微信小店 links with the operator's
default sharer, and those orders cannot be told apart by group (`bot.services.unattributed`): when
such orders were placed in the periods asked about, the report says plainly that they are not in it,
why, and how to have the next ones counted (`channels_unattributed`).

Owner-only (and configured operators): anyone else gets the same polite refusal as the subscribe
commands; in a private chat there is no group to report on, so the bot says where to ask.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from bot.chat.base import Incoming, Reply
from bot.handlers.owners import owner_refusal
from bot.handlers.request import Request, RequestKind, as_request
from bot.leagues.registry import SHARER_LEAGUE
from bot.orders.report import group_figures, owner_periods, owner_share
from bot.render.engine import Renderer
from bot.services.attribution import GroupSpots
from bot.services.unattributed import default_sharer
from bot.store.unattributed import sharer_orders

IN_GROUP_ONLY = "「佣金」要在群里说哦：群主在自己的群里发「佣金」，我就报这个群的订单和佣金。"


class MoneyHandler:
    def __init__(
        self,
        *,
        engine: Engine,
        renderer: Renderer,
        groups: GroupSpots,
        operators: Iterable[str] = (),
        timezone: str = "Asia/Shanghai",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        owner_share_percent: int = 0,
        refresh: Callable[[float], Awaitable[None]] | None = None,
        deadline: float = 5.0,
    ) -> None:
        """`refresh(seconds)`: bring the orders up to date first, waiting at most that long (the
        embedded default's `SoonSync.fresh`); `deadline`: the answer's, part of which it may take."""
        self.refresh = refresh
        self.deadline = deadline
        self.engine = engine
        self.renderer = renderer
        self.groups = groups
        self.operators = frozenset(operators)
        self.zone = ZoneInfo(timezone)
        self.clock = clock
        self.owner_share_percent = owner_share_percent

    takes: frozenset[RequestKind] = frozenset({"commission"})

    async def __call__(self, message: Incoming) -> Reply | None:
        return await self.handle(as_request(message))

    async def handle(self, request: Request) -> Reply | None:
        message, command = request.message, request.command
        if command is None or command.kind != "commission":
            return None
        refused = await owner_refusal(message, self.renderer, self.operators, IN_GROUP_ONLY)
        if refused is not None:
            return refused
        group = await self.groups.group(message)
        if group is None or group.id is None:
            return None
        if self.refresh is not None:
            await self.refresh(max(0.5, self.deadline - 1.0))
        asked = owner_periods(self.clock(), self.zone)
        found = await asyncio.to_thread(group_figures, self.engine, group.id, asked)
        default = default_sharer(self.groups.defaults)
        unattributed = 0
        if default and not group.channels_sharer_appid:
            start, end = min(p.start for p in asked), max(p.end for p in asked)
            unattributed = await asyncio.to_thread(
                sharer_orders, self.engine, SHARER_LEAGUE, default, start, end
            )
        share = self.owner_share_percent
        periods: list[dict[str, Any]] = [
            {
                "period": period.label,
                "orders": f.orders,
                "paid_fen": f.paid_fen,
                "commission_fen": f.estimated_fen,
                "settled_fen": f.settled_fen,
                "owner_share_fen": owner_share(f.estimated_fen, share),
                "owner_settled_share_fen": owner_share(f.settled_fen, share),
            }
            for period, f in found
        ]
        context = {
            "group_name": group.name or message.chat_name,
            **periods[0],
            "periods": periods,
            "owner_share_percent": share,
            "channels_unattributed": unattributed > 0,
        }
        text = await self.renderer.render_async("commission_report", context, group=message.chat_id)
        return Reply.text(text, mention_sender=True)
