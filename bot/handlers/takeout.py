"""外卖 / 外卖红包 / 饿了么 / 美团: today's takeout coupon links, made for the asking group.

The chat's face over `bot.services.takeout`: the links come from the group's per-day cache (one league
call per group per day), the answer is the `takeout` template, and each link that opens a mini program
also goes as a mini-program card (a channel that cannot send cards leaves it out; the text carries the
link anyway). A league that cannot answer now is left out and the other's links still go; when none
can, the template says so.
"""

from __future__ import annotations

from bot.chat.base import Incoming, Reply, ReplyPart, Text
from bot.handlers.request import Request, RequestKind, as_request
from bot.render.engine import Renderer
from bot.services.attribution import GroupSpots
from bot.services.takeout import TakeoutAnswer, TakeoutLinks, takeout_cards


class TakeoutHandler:
    takes: frozenset[RequestKind] = frozenset({"takeout"})

    def __init__(
        self, *, links: TakeoutLinks, groups: GroupSpots, renderer: Renderer, deadline: float = 5.0
    ) -> None:
        self.links = links
        self.groups = groups
        self.renderer = renderer
        self.deadline = deadline

    async def __call__(self, message: Incoming) -> Reply | None:
        return await self.handle(as_request(message))

    async def handle(self, request: Request) -> Reply | None:
        command, message = request.command, request.message
        if command is None or command.kind != "takeout" or not self.links.available:
            return None
        group = await self.groups.group(message)
        answer: TakeoutAnswer = await self.links.for_group(group, deadline=self.deadline)
        text = await self.renderer.render_async(
            "takeout",
            {**answer.context(), "asker": message.sender_name, "is_group": message.is_group},
            group=message.chat_id,
        )
        parts: list[ReplyPart] = [Text(text, mention_sender=message.is_group)]
        return Reply((*parts, *takeout_cards(answer.links)))
