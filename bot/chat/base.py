"""The seam between chat platforms and the rest of the bot.

A channel turns whatever its platform delivers into an `Incoming`, hands it to a `MessageHandler`
and sends back the `Reply` it gets. Nothing below this seam knows which platform it is talking to.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
"""In a Python str a code point in D800–DFFF is always unpaired (a valid pair is one code point)."""


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message as the bot sees it, whatever platform it came from."""

    message_id: str
    chat_id: str
    """Room id for a group, the sender's id for a private chat."""
    chat_name: str
    sender_id: str
    sender_name: str
    text: str
    """The text with any leading @mention of the bot removed."""
    is_group: bool = True
    mentioned: bool = False
    sender_is_owner: bool = False
    from_self: bool = False
    account: str = ""
    """The chat account that received it (the channel's `account`): that account serves the group."""

    def __post_init__(self) -> None:
        # A lone UTF-16 surrogate (a broken client, a cut emoji) has no UTF-8 form: left in, it fails the
        # first JSON body or database write, and the member gets the apology instead of an answer.
        for name in ("message_id", "chat_id", "chat_name", "sender_id", "sender_name", "text"):
            value = getattr(self, name)
            if _LONE_SURROGATE.search(value):
                object.__setattr__(self, name, _LONE_SURROGATE.sub("", value))


@dataclass(frozen=True, slots=True)
class Text:
    text: str
    mention_sender: bool = False
    """In a group, @-mention the person who asked."""


@dataclass(frozen=True, slots=True)
class Image:
    url: str = ""
    data: bytes = b""
    name: str = "image.png"
    caption: str = ""


@dataclass(frozen=True, slots=True)
class LinkCard:
    url: str
    title: str
    description: str = ""
    thumbnail_url: str = ""


@dataclass(frozen=True, slots=True)
class MiniProgramCard:
    appid: str
    title: str
    page_path: str
    thumb_url: str = ""
    username: str = ""
    description: str = ""


ReplyPart = Text | Image | LinkCard | MiniProgramCard


@dataclass(frozen=True, slots=True)
class Reply:
    """What the bot says back: one or more parts, sent in order to one chat."""

    parts: Sequence[ReplyPart] = field(default_factory=tuple)

    @classmethod
    def text(cls, text: str, *, mention_sender: bool = False) -> Reply:
        return cls((Text(text, mention_sender=mention_sender),))

    def __bool__(self) -> bool:
        return bool(self.parts)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A reply addressed to a chat, as a sender queues it."""

    chat_id: str
    reply: Reply
    reply_to: Incoming | None = None


@dataclass(frozen=True, slots=True)
class MemberJoined:
    """New members in a group, as the join hook sees them."""

    chat_id: str
    chat_name: str
    member_ids: tuple[str, ...]
    member_names: tuple[str, ...]
    inviter_name: str = ""


JoinHook = Callable[[MemberJoined], Awaitable["Reply | None"]]
"""Returns what to say to the group when members join (a welcome), or None to stay quiet."""


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """A group a chat account is in, as its channel's `list_groups` tells it."""

    room_id: str
    name: str = ""
    owner_id: str = ""
    owner_name: str = ""


@dataclass(frozen=True, slots=True)
class LoginHealth:
    """Whether a chat account can serve, as its channel last recorded it in the store (channels with
    the `login_health` capability; read by the web console, which may run in another process)."""

    logged_in: bool
    who: str
    """The account as the operator knows it, e.g. "微信网关账号 wx_app"."""
    since: datetime | None = None
    """When it was last seen going offline (None: never logged in, or not known)."""
    why: str = ""
    """In the operator's words, e.g. "账号掉线了"."""
    stopped: str = ""
    """What stops while it is out, e.g. "群里的消息和推送都停了"."""


class ChatUnavailable(RuntimeError):
    """The channel cannot send now (not logged in, stopped, the platform refused); the text says why."""


class NotInChat(ChatUnavailable):
    """The account is not (or no longer) in the group it was to send to: trying again cannot help, but
    another account that is in it can send (a push hands its slot over: `bot.push.service`)."""


class SendRefused(RuntimeError):
    """The bot may not speak in that chat (a group the operator blocked, or one outside `[chat]
    allowed_groups`): dropped on purpose by `bot.chat.gate`, never retried, and not "sent" — the text
    says why, for the push log and the console."""


class NotHeld(RuntimeError):
    """This replica does not hold the account's lease now (`[cluster]`, bot/cluster/): nothing is sent
    and nothing here tries again, since the replica that holds the account serves it."""


MessageHandler = Callable[[Incoming], Awaitable[None]]
"""Takes one message; answering (through a sender) is its business, not the channel's."""


class ChatChannel(Protocol):
    """A chat platform: delivers `Incoming` messages to a handler and sends replies."""

    name: str
    account: str
    """Names the chat account in the store (groups it serves, its state); stable across restarts."""

    async def run(self, handler: MessageHandler) -> None:
        """Deliver messages to `handler` until the channel ends or is stopped."""
        ...

    async def send(self, message: Outgoing) -> None:
        """Send one reply now. Pacing is the sender's job, not the channel's."""
        ...

    async def stop(self) -> None: ...


@runtime_checkable
class ListsGroups(Protocol):
    """What a channel that knows its groups adds (iLink has none, so it does not): bot.app calls it
    once after the channel starts, off the start-up path, and upserts what it returns, so the console
    lists the groups an account is in even before anyone there asked the bot anything."""

    async def list_groups(self) -> list[GroupInfo]:
        """Every group the account is in. May wait until the account is logged in; raises
        ChatUnavailable when the platform cannot tell."""
        ...


@runtime_checkable
class RegistersCallback(Protocol):
    """What a channel the platform calls back (a webhook) adds: a replica that takes its account over
    from another (bot.cluster, at a takeover) calls it so the platform calls this replica from now on.
    Callers ask `isinstance`, never the kind."""

    async def register_callback(self) -> str:
        """Point the platform at this replica's address for this account; returns the address (without
        its secret). Raises ChatUnavailable when the account is not served here or the platform
        refuses."""
        ...


async def either(first: asyncio.Event, second: asyncio.Event) -> None:
    """Until one of two events is set: e.g. the account is logged in, or the channel is stopping."""
    waits = {asyncio.ensure_future(first.wait()), asyncio.ensure_future(second.wait())}
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
