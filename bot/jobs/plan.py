"""The one list of periodic work: every job `tuike run` puts on its `Jobs`, registered here and only
here (`tuike jobs` lists what this same code registers, without starting anything).

| id                                        | what                                                   |
|-------------------------------------------|--------------------------------------------------------|
| `push:daily:<account>:<group>:<HH:MM>`    | a group's daily deals at its time (one per slot)       |
| `push:takeout:<account>:<group>:<HH:MM>`  | a group's 外卖 links at its time (订阅 外卖 HH:MM)        |
| `push:tick:<account>`                     | every minute: due daily slots not yet sent (catch-up)   |
| `push:live:<account>`                     | live reminders: the talents' live notices, polled       |
| `broadcasts:<account>`                    | the console's 群发: at once, polled, woken on a new one |
| `orders:sync`                             | order sync over every league (one process at a time)    |
| `health:<account>`                        | a platform account still logged in (channels that can)  |
| `forward`                                 | 线报: held messages after the quiet hours, retries        |
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from apscheduler.triggers.interval import IntervalTrigger

from bot.config import Settings
from bot.jobs.board import Jobs
from bot.orders.sync import FIRST_SYNC_AFTER, OrderSync, scheduled_sync
from bot.push.service import PushService

ORDER_SYNC = "orders:sync"
FORWARD = "forward"
FORWARD_SECONDS = 30
"""How often the forward job looks for held messages whose quiet hours ended and retries now due."""


class Forwards(Protocol):
    """线报 forwarding (bot/forward/pipeline.py, which the jobs do not import: it reaches the handlers'
    link finder): its job puts back on the queue what is due."""

    async def tick(self) -> None: ...


@runtime_checkable
class ChecksLogin(Protocol):
    """A channel logged in to a platform that can tell whether its account is still online."""

    account: str
    health_seconds: float

    def check_login(self) -> Awaitable[object]: ...


async def schedule(
    jobs: Jobs,
    settings: Settings,
    *,
    pushes: Mapping[str, PushService],
    orders: OrderSync | None = None,
    channels: Sequence[object] = (),
    now: datetime | None = None,
    forward: Forwards | None = None,
) -> None:
    """Put every periodic job of this process on `jobs` (the push jobs keep following the rows)."""
    now = now or datetime.now(UTC)
    if settings.push.enabled:
        for push in pushes.values():
            await push.schedule()
    for push in pushes.values():  # the console's 群发 go out even when scheduled pushes are off
        push.schedule_broadcasts()
    if orders is not None and settings.orders.enabled and orders.leagues:
        interval = settings.orders.sync_minutes * 60
        jobs.add(
            ORDER_SYNC,
            IntervalTrigger(seconds=interval, timezone=jobs.zone),
            scheduled_sync,
            kind="orders:sync",
            what="「订单同步」从各联盟拉取新订单和状态变化 / order sync",
            kwargs={"syncer": orders, "interval": interval},
            first_run=now + timedelta(seconds=FIRST_SYNC_AFTER),
        )
    if forward is not None:
        jobs.add(
            FORWARD,
            IntervalTrigger(seconds=FORWARD_SECONDS, timezone=jobs.zone),
            forward.tick,
            kind="forward",
            what="「线报转发」免打扰结束后发出暂存的线报，重试联盟暂时没响应的 / 线报 held and retried",
        )
    for channel in channels:
        if isinstance(channel, ChecksLogin):
            jobs.add(
                f"health:{channel.account}",
                IntervalTrigger(seconds=channel.health_seconds, timezone=jobs.zone),
                channel.check_login,
                kind="health",
                account=channel.account,
                what="「登录检查」确认账号还在线，掉线了就重新扫码登录 / login health",
            )


async def start(
    jobs: Jobs,
    settings: Settings,
    stack: AsyncExitStack,
    *,
    pushes: Mapping[str, PushService],
    orders: OrderSync | None = None,
    channels: Sequence[object] = (),
    forward: Forwards | None = None,
) -> None:
    """Inside `tuike run`: the push services recover and catch up, every job is scheduled, and the
    scheduler starts; `stack` stops it first, then the push services."""
    if settings.push.enabled:
        for push in pushes.values():
            await push.start(schedule=False, wait=False)  # members get answers while missed slots catch up
            stack.push_async_callback(push.stop)
    for push in pushes.values():
        await push.recover()  # what a dead process left half sent, before any broadcast is claimed
        stack.push_async_callback(push.stop_broadcasts)
    await schedule(jobs, settings, pushes=pushes, orders=orders, channels=channels, forward=forward)
    jobs.start()
    stack.push_async_callback(jobs.shutdown)
