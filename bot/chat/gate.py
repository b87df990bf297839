"""Every send to a group passes the gate the router applies to what members write.

The router ignores groups outside `[chat] allowed_groups` and those the operator blocked, but a bot
also speaks unasked: a welcome when members join (the channel calls its join hook itself, around the
router), a late answer, a paid notice, a broadcast. `gate_sends` puts the check on the channel's own
`send`, the one door every kind of message leaves by, for every channel kind: the paced sender and
the channel's own welcome both call it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection

from bot.chat.base import ChatChannel, Outgoing, SendRefused

log = logging.getLogger(__name__)

Refuses = Callable[[str, bool], Awaitable[str]]
"""(chat id, is a group) → why the bot may not speak there ('' when it may)."""


def is_group_chat(message: Outgoing) -> bool:
    """A reply is to a group when what it answers came from one; an unasked send is by its chat id:
    WeChat room ids (gateway, wechaty) end in `@chatroom`, the console's rooms start with `console:`
    (iLink has private chats only)."""
    if message.reply_to is not None:
        return message.reply_to.is_group
    return message.chat_id.endswith("@chatroom") or message.chat_id.startswith("console:")


def gate_sends(channel: ChatChannel, refuses: Refuses, *, exempt: Collection[str] = ()) -> None:
    """From now on `channel.send` sends to a group only when `refuses` finds no reason not to; a
    refused message is dropped and logged, and `send` raises `SendRefused` so the caller records it as
    not sent (it is not the channel failing, so nothing retries it).
    `exempt`: chats the operator named for the bot to write to (the admin chat). Call it before
    anything keeps a reference to `channel.send` (the paced sender does)."""
    send = channel.send

    async def gated(message: Outgoing) -> None:
        if message.chat_id not in exempt:
            why = await refuses(message.chat_id, is_group_chat(message))
            if why:
                log.info("not sent to %s: %s", message.chat_id, why)
                raise SendRefused(why)
        await send(message)

    channel.send = gated  # type: ignore[method-assign]
