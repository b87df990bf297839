"""`我的ID` and `群ID`: the internal chat ids an operator needs for `operators` and `allowed_groups`.

Nobody can see these ids in WeChat, so the bot tells them: `我的ID` in a private chat (the sender's
own id; in a group it would show everyone's id to everyone, so it asks for a private chat), `群ID` in
a group (the room id, to the owner or an operator only). Like the owner commands (订阅, 佣金) they need
no @mention in a group: the command grammar (`bot.handlers.commands`) reads them as `chat_ids`.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.chat.base import Incoming, Reply
from bot.handlers.commands import GROUP_ID
from bot.handlers.request import Request, RequestKind, as_request
from bot.render.engine import Renderer


def asks_group_id(text: str) -> bool:
    """`群ID` and its variants (owner-only; the rate limit leaves the owner's out)."""
    return GROUP_ID.match(text) is not None


class IdsHandler:
    takes: frozenset[RequestKind] = frozenset({"chat_ids"})

    def __init__(self, renderer: Renderer, operators: Iterable[str]) -> None:
        self.renderer = renderer
        self.operators = frozenset(operators)

    async def __call__(self, message: Incoming) -> Reply | None:
        return await self.handle(as_request(message))

    async def handle(self, request: Request) -> Reply | None:
        command = request.command
        if command is None or command.kind != "chat_ids":
            return None
        message = request.message
        if command.arg == "me":
            which = "me" if not message.is_group else "me_in_group"
        elif not message.is_group:
            which = "group_in_private"
        elif message.sender_is_owner or message.sender_id in self.operators:
            which = "group"
        else:
            which = "group_not_owner"
        context = {
            "which": which,
            "sender_id": message.sender_id,
            "sender_name": message.sender_name,
            "chat_id": message.chat_id if message.is_group else "",
            "chat_name": message.chat_name if message.is_group else "",
        }
        text = await self.renderer.render_async(
            "chat_ids", context, group=message.chat_id if message.is_group else None
        )
        return Reply.text(text, mention_sender=message.is_group)
