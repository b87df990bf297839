"""The last word for a member who spoke to the bot (a private chat or an @mention) and whom no other
handler answered: thanks get a friendly word, a line the bot could not make sense of gets a short hint
of what it understands. Silence there reads as a broken bot; in a group without an @, silence is right,
and this handler never speaks there. Acknowledgements (好的, 收到, an emoji) stay unanswered."""

from __future__ import annotations

from bot.chat.base import Incoming, Reply
from bot.handlers.request import Request, RequestKind, as_request
from bot.render.engine import Renderer


class SmallTalkHandler:
    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer

    takes: frozenset[RequestKind] = frozenset({"chat", "thanks"})

    async def __call__(self, message: Incoming) -> Reply | None:
        return await self.handle(as_request(message))

    async def handle(self, request: Request) -> Reply | None:
        if not request.addressed:
            return None
        if request.refs:
            return None  # a link is the deals handler's, answered or not
        message = request.message
        command = request.command
        if command is None:
            kind = "not_understood"
        elif command.kind == "thanks":
            kind = "thanks"
        else:
            return None  # a command some handler took, or chose to leave unanswered
        text = await self.renderer.render_async(
            kind,
            {"asker": message.sender_name, "is_group": message.is_group},
            group=message.chat_id if message.is_group else None,
        )
        return Reply.text(text, mention_sender=message.is_group) if text.strip() else None
