"""`帮助` / `help`: what the bot can do, rendered from the `help` template."""

from __future__ import annotations

from bot.chat.base import Incoming, Reply
from bot.handlers.parse import parse_command
from bot.render import Renderer


class HelpHandler:
    def __init__(self, renderer: Renderer, bot_name: str) -> None:
        self.renderer = renderer
        self.bot_name = bot_name

    async def __call__(self, message: Incoming) -> Reply | None:
        # the parser's grammar decides, as for every other command: one notion of "asks for help"
        command = parse_command(message.text, mentioned=message.mentioned or not message.is_group)
        if command is None or command.kind != "help":
            return None
        text = await self.renderer.render_async(
            "help",
            {"bot_name": self.bot_name, "is_group": message.is_group, "is_owner": message.sender_is_owner},
            group=message.chat_id if message.is_group else None,
        )
        # In a group the answer @-mentions the asker, so they see it among everyone else's chat.
        return Reply.text(text, mention_sender=message.is_group)
