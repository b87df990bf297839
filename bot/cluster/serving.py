"""A chat account's channel on a cluster replica: it runs while the replica holds the account's lease.

`LeasedChannel` stands where the channel stands in `tuike run` (the paced sender sends through it, the
jobs and the console read its attributes), so nothing around it changes when the account comes and
goes. Its `run` lasts the whole process; inside, the channel runs from `gain` to `lose`, and again at
the next gain (a channel may run again after a stop: the gateway's account re-registers its webhook to
this replica as it connects, iLink resumes from the stored cursor).

Every send checks the lease first: the one door every message of the account leaves by (replies,
pushes, welcomes, notices) refuses with `NotHeld` once the lease is not held.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from bot.chat.base import ChatChannel, MessageHandler, NotHeld, Outgoing

log = logging.getLogger(__name__)

_OWN = frozenset({"name", "account", "channel", "held", "_handler", "_wanted", "_task", "_stopping", "_lock"})


class LeasedChannel:
    """`channel`, served while `held()` (see the module docstring)."""

    def __init__(self, channel: ChatChannel, held: Callable[[], bool], account: str = "") -> None:
        self.channel = channel
        self.account = account or str(getattr(channel, "account", "") or channel.name)
        self.name = str(channel.name)
        """The channel's kind, as the registry reads it."""
        self.held = held
        self._handler: MessageHandler | None = None
        self._wanted = False
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._lock = asyncio.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.channel, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _OWN:
            object.__setattr__(self, name, value)
        else:  # e.g. the welcome hook the composition hands the channel
            setattr(self.channel, name, value)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def send(self, message: Outgoing) -> None:
        if not self.held():
            raise NotHeld(f"{self.account} is served by another replica now")
        await self.channel.send(message)

    async def run(self, handler: MessageHandler) -> None:
        """Until `stop`: the channel runs whenever the lease is held."""
        self._handler = handler
        try:
            if self._wanted:
                await self.gain()
            await self._stopping.wait()
        finally:  # stopped, or cancelled: the channel stops either way
            await asyncio.shield(self.lose())

    async def stop(self) -> None:
        self._stopping.set()
        if self._handler is None:  # never run: nothing else will stop the channel
            await self.lose()

    async def gain(self) -> None:
        """The lease is ours: the channel starts (once `run` gave it a handler)."""
        async with self._lock:
            self._wanted = True
            if self._handler is None or self._stopping.is_set() or self.running:
                return
            self._task = asyncio.get_running_loop().create_task(
                self._serve(self._handler), name=f"channel-{self.account}"
            )

    async def lose(self) -> None:
        """The lease is gone: the channel stops (the messages in flight finish, and their answers are
        refused at the send since the lease is no longer held)."""
        async with self._lock:
            self._wanted = False
            task = self._task
            if task is None or task.done():
                return
            await self.channel.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(task, return_exceptions=True)

    async def _serve(self, handler: MessageHandler) -> None:
        try:
            await self.channel.run(handler)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception(
                "集群：账号 %s 的渠道出错停止了 / the channel of %s failed", self.account, self.account
            )
