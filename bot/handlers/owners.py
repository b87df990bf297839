"""Who may use a group owner's commands: the group's owner, or an operator ([bot] operators)."""

from __future__ import annotations

from collections.abc import Collection

from bot.chat.base import Incoming, Reply
from bot.render.engine import Renderer


async def owner_refusal(
    message: Incoming, renderer: Renderer, operators: Collection[str], in_group_only: str
) -> Reply | None:
    """None when `message` may run an owner's command here; else the reply that says why not: a private
    chat is told to say it in the group (`in_group_only`), anyone else gets the `not_owner` template."""
    if not message.is_group:
        return Reply.text(in_group_only)
    if message.sender_is_owner or message.sender_id in operators:
        return None
    text = await renderer.render_async("not_owner", {"asker": message.sender_name}, group=message.chat_id)
    return Reply.text(text, mention_sender=True)
