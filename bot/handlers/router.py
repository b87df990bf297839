"""Ordered handlers, first match wins, behind a middleware chain.

The router makes one typed `Request` per message (bot.handlers.request: parsed once, lazily) and passes
it down the middleware to the handlers. A handler registers for the request kinds it takes (`takes`, a
set of `RequestKind`; None for every message) and answers through `handle(request)`; the router only
asks the handlers that take one of the request's kinds. A plain async function of the `Incoming` is a
handler too (it takes every message). A handler returns a `Reply` when the message was for it, or None to
let the next one look. When no handler claims a message the bot stays silent: in a group, ordinary chat
is none of its business.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol, runtime_checkable

from bot.chat.base import Incoming, Reply
from bot.handlers.request import Request, RequestKind
from bot.store import block_changes

log = logging.getLogger(__name__)


@runtime_checkable
class RequestHandler(Protocol):
    """A handler that registers for request kinds (`takes`; None for every request) and receives the
    parsed request."""

    takes: frozenset[RequestKind] | None

    async def handle(self, request: Request) -> Reply | None: ...


Handler = RequestHandler | Callable[[Incoming], Awaitable[Reply | None]]
Next = Callable[[Request], Awaitable[Reply | None]]
Middleware = Callable[[Request, Next], Awaitable[Reply | None]]


async def first_reply(handlers: Iterable[Handler], request: Request) -> Reply | None:
    """Ask, in order, the handlers that take one of the request's kinds (a plain function of the
    `Incoming` takes every message); the first reply wins."""
    for handler in handlers:
        handle = getattr(handler, "handle", None)
        if handle is None:
            reply = await handler(request.message)  # type: ignore[operator]
        else:
            takes = handler.takes  # type: ignore[union-attr]
            if takes is not None and takes.isdisjoint(request.kinds):
                continue
            reply = await handle(request)
        if reply is not None:
            return reply
    return None


class Router:
    """`relevant` is a cheap test run before anything else: most group chat is not for the bot, and
    a message it rejects skips the middleware and every handler.

    The middleware chain is built once, here: the ignore path is the hottest code in the bot (every
    line of every group passes through it), so a message costs one gate call and, when it is for the
    bot, one pass down a ready-made chain — no closures made per message.
    """

    def __init__(
        self,
        handlers: Sequence[Handler] = (),
        middleware: Sequence[Middleware] = (),
        relevant: Callable[[Incoming], bool] | None = None,
        *,
        keyword_needs_mention: bool = True,
    ) -> None:
        """`keyword_needs_mention`: `[deals] keyword_needs_mention`, for each request's `open_command`."""
        self.handlers: list[Handler] = list(handlers)
        self.middleware: tuple[Middleware, ...] = tuple(middleware)
        self.relevant = relevant
        self.keyword_needs_mention = keyword_needs_mention
        chain: Next = self._dispatch
        for mw in reversed(self.middleware):
            chain = _bind(mw, chain)
        self._chain = chain

    def add(self, handler: Handler) -> None:
        self.handlers.append(handler)

    async def _dispatch(self, request: Request) -> Reply | None:
        return await first_reply(self.handlers, request)

    async def __call__(self, message: Incoming) -> Reply | None:
        relevant = self.relevant
        if relevant is not None and not relevant(message):
            return None
        return await self._chain(Request(message, self.keyword_needs_mention))


def _bind(mw: Middleware, nxt: Next) -> Next:
    async def call(request: Request) -> Reply | None:
        return await mw(request, nxt)

    return call


class Deferred:
    """Handlers made later (after the leagues start), in their order: a request that gets here first
    waits for them (`serve`). Takes every request and passes it on to the handlers that take its kind."""

    takes: frozenset[RequestKind] | None = None

    def __init__(self) -> None:
        self.handlers: list[Handler] = []
        self.built = asyncio.Event()

    def serve(self, handlers: list[Handler]) -> None:
        self.handlers = handlers
        self.built.set()

    async def handle(self, request: Request) -> Reply | None:
        if not self.built.is_set():
            await self.built.wait()
        return await first_reply(self.handlers, request)

    async def __call__(self, message: Incoming) -> Reply | None:
        return await self.handle(Request(message))


class DropDuplicates:
    """Drops a message id seen within `ttl` seconds; platforms redeliver. Memory is bounded."""

    def __init__(
        self, ttl: float = 600.0, capacity: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.capacity = capacity
        self.clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def seen(self, message_id: str) -> bool:
        now = self.clock()
        while self._seen:
            _oldest, at = next(iter(self._seen.items()))
            if now - at < self.ttl and len(self._seen) < self.capacity:
                break
            self._seen.popitem(last=False)
        if message_id in self._seen:
            return True
        self._seen[message_id] = now
        return False

    async def __call__(self, request: Request, nxt: Next) -> Reply | None:
        message = request.message
        # per account: two accounts of one process each get their own messages (ids may repeat across them)
        if message.message_id and self.seen(f"{message.account}\x00{message.message_id}"):
            log.debug("dropped duplicate delivery of %s", message.message_id)
            return None
        return await nxt(request)


async def ignore_self(request: Request, nxt: Next) -> Reply | None:
    """The bot never answers itself (its own sends come back on some platforms)."""
    if request.message.from_self:
        return None
    return await nxt(request)


class BlockedRooms:
    """The room ids the operator blocked (groups.blocked), cached: the allow-list asks on every message
    meant for the bot, so it must not cost a query each time. Read again when this process blocks or
    allows a group (`bot.store.block_changes` counts those) and every `ttl` seconds, for a change made
    by another process (`tuike web` served alone). A failed read keeps the last set; until a first read
    succeeds, every message tries again.

    `read` is a blocking function (run in a worker thread) that returns the set: the app reads through
    the engine, or through sqlite3 while the engine is still opening (`bot.store.peek`)."""

    def __init__(
        self,
        read: Callable[[], frozenset[str]],
        ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.read = read
        self.ttl = ttl
        self.clock = clock
        self._rooms: frozenset[str] = frozenset()
        self._read_at: float | None = None
        self._generation = -1
        self._lock = asyncio.Lock()

    def _stale(self) -> bool:
        return (
            self._read_at is None
            or self._generation != block_changes.generation()
            or self.clock() - self._read_at >= self.ttl
        )

    async def rooms(self) -> frozenset[str]:
        if not self._stale():
            return self._rooms
        async with self._lock:  # a burst of messages shares one read
            if self._stale():
                generation = block_changes.generation()
                try:
                    self._rooms = await asyncio.to_thread(self.read)
                except Exception as exc:
                    if self._read_at is None:  # never read: try again with the next message, not in a minute
                        log.warning(
                            "blocked groups not read (%s): none counts as blocked yet", type(exc).__name__
                        )
                        return self._rooms
                    log.warning("blocked groups not read again (%s): the last list stays", type(exc).__name__)
                self._generation, self._read_at = generation, self.clock()
        return self._rooms


class GroupGate:
    """Which groups the bot may speak in: when `[chat] allowed_groups` is configured, only those; never
    one the operator blocked (web console), whatever the list says. Private chats always pass.

    One gate for everything: the router asks it of every message meant for the bot, and every send to
    a group asks it again (`bot.chat.gate`), so a welcome, a notice or a broadcast cannot go round it.

    The list holds room ids only: any member can rename a group, so a name proves nothing (a room
    renamed to an allowed group's name must stay unanswered)."""

    def __init__(self, allowed: Iterable[str], blocked: BlockedRooms | None = None) -> None:
        self.allowed = frozenset(allowed)
        self.blocked = blocked

    async def refuses(self, chat_id: str, is_group: bool) -> str:
        """Why the bot may not speak in this chat ('' when it may)."""
        if not is_group:
            return ""
        if self.allowed and chat_id not in self.allowed:
            return "not in [chat] allowed_groups"
        if self.blocked is not None and chat_id in await self.blocked.rooms():
            return "blocked in the web console"
        return ""


class GroupAllowList:
    """The router's face of the `GroupGate`: a message from a group the bot may not speak in is ignored.
    Names appear in the log only."""

    def __init__(self, allowed: Iterable[str] | GroupGate, blocked: BlockedRooms | None = None) -> None:
        self.gate = allowed if isinstance(allowed, GroupGate) else GroupGate(allowed, blocked)

    async def __call__(self, request: Request, nxt: Next) -> Reply | None:
        message = request.message
        why = await self.gate.refuses(message.chat_id, message.is_group)
        if why:
            log.debug("ignored %s (%s): %s", message.chat_id, message.chat_name, why)
            return None
        return await nxt(request)


class CatchErrors:
    """The last line of defence: a handler bug is logged and the member hears a short apology."""

    def __init__(self, apology: Callable[[], str]) -> None:
        self.apology = apology

    async def __call__(self, request: Request, nxt: Next) -> Reply | None:
        try:
            return await nxt(request)
        except Exception:
            message = request.message
            log.exception("handler failed on message %s in %s", message.message_id, message.chat_id)
            return Reply.text(self.apology())
