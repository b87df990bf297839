"""A chat account's channel on a cluster replica: it runs while the replica holds the account's lease.

`LeasedChannel` stands where the channel stands in `tuike run` (the paced sender sends through it, the
jobs and the console read its attributes), so nothing around it changes when it stops and starts
again. Its `run` lasts the whole process; inside, the real channel runs from `gain` to `lose`. A channel
runs once (a stopped gateway channel has closed its HTTP client), so the next gain builds a fresh one
with the same settings and the attributes the composition set on it (e.g. the welcome hook).

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

_OWN = frozenset(
    {
        "name",
        "account",
        "channel",
        "held",
        "_build",
        "_handler",
        "_wanted",
        "_task",
        "_stopping",
        "_set",
        "_lock",
    }
)


class LeasedChannel:
    """The channel of one account, served while `held()` (see the module docstring)."""

    def __init__(self, account: str, build: Callable[[], ChatChannel], held: Callable[[], bool]) -> None:
        self.account = account
        self._build = build
        self.channel = build()
        """The channel now (the one running while held; the next to run otherwise)."""
        self.name = str(self.channel.name)
        """The channel's kind, as the registry reads it."""
        self.held = held
        self._handler: MessageHandler | None = None
        self._wanted = False
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._set: dict[str, Any] = {}
        """Attributes set on this object for the channel: every channel built later gets them too."""
        self._lock = asyncio.Lock()

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.channel, name)
        if not callable(found):
            return found

        def current(*args: Any, **kwargs: Any) -> Any:  # a method of whichever channel runs by then
            return getattr(self.channel, name)(*args, **kwargs)

        return current

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _OWN:
            object.__setattr__(self, name, value)
            return
        self._set[name] = value
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
        if self._wanted:
            await self.gain()
        await self._stopping.wait()
        await self.lose()

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
            if self._task is not None:  # it ran before: a channel runs once, so a fresh one
                self.channel = self._build()
                for name, value in self._set.items():
                    setattr(self.channel, name, value)
            self._task = asyncio.get_running_loop().create_task(
                self._serve(self.channel, self._handler), name=f"channel-{self.account}"
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

    async def _serve(self, channel: ChatChannel, handler: MessageHandler) -> None:
        try:
            await channel.run(handler)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception(
                "集群：账号 %s 的渠道出错停止了 / the channel of %s failed", self.account, self.account
            )
