"""`帮助` / `help` and friends: what the bot can do, rendered from the `help` template.

The words live in one place, `bot.handlers.parse` (`HELP_WORDS` anywhere; `HELP_WHEN_ADDRESSED` — 你好,
在吗, 怎么用, a bare @ … — only in a private chat or when the bot is @mentioned).
"""

from __future__ import annotations

from bot.chat.base import Incoming, Reply
from bot.handlers.request import Request, RequestKind, as_request
from bot.render.engine import Renderer


class HelpHandler:
    def __init__(self, renderer: Renderer, bot_name: str) -> None:
        self.renderer = renderer
        self.bot_name = bot_name

    takes: frozenset[RequestKind] = frozenset({"help"})

    async def __call__(self, message: Incoming) -> Reply | None:
        return await self.handle(as_request(message))

    async def handle(self, request: Request) -> Reply | None:
        # the parser's grammar decides (`parse_command` asks `is_help`): one notion of "asks for help"
        command = request.command
        if command is None or command.kind != "help":
            return None
        message = request.message
        text = await self.renderer.render_async(
            "help",
            {"bot_name": self.bot_name, "is_group": message.is_group, "is_owner": message.sender_is_owner},
            group=message.chat_id if message.is_group else None,
        )
        # In a group the answer @-mentions the asker, so they see it among everyone else's chat.
        return Reply.text(text, mention_sender=message.is_group)
