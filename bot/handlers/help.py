"""`帮助` / `help` and friends: what the bot can do, rendered from the `help` template.

The words live in one place, `bot.handlers.parse` (`HELP_WORDS` anywhere; `HELP_WHEN_ADDRESSED` — 你好,
在吗, 怎么用, a bare @ … — only in a private chat or when the bot is @mentioned).

What the help lists follows the config (`Offer`): the platforms whose links the bot can remake, 外卖 only
when a takeout league is on, 店铺 only when the operator has a shop, 返利 only when rebates are on — so a
member is never told about a command that answers 「没有开」.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.chat.base import Incoming, Reply
from bot.handlers.request import Request, RequestKind, as_request
from bot.render.engine import Renderer


@dataclass(frozen=True)
class Offer:
    """What this bot's config offers members and owners, for the help text."""

    platforms: tuple[str, ...] = ()
    """Short names of the enabled leagues whose product links a member may paste, in registry order."""
    takeout: bool = False
    """A takeout league (饿了么, 美团) is enabled: 「外卖」 answers."""
    shops: bool = False
    """The operator's own shop is configured: the owner's 「店铺」 answers."""
    rebate: bool = False
    """Rebates are on: 绑定 / 余额 / 提现 answer in a private chat."""


class HelpHandler:
    def __init__(self, renderer: Renderer, bot_name: str, offer: Offer | None = None) -> None:
        self.renderer = renderer
        self.bot_name = bot_name
        self.offer = offer or Offer()

    takes: frozenset[RequestKind] = frozenset({"help"})

    async def __call__(self, message: Incoming) -> Reply | None:
        return await self.handle(as_request(message))

    async def handle(self, request: Request) -> Reply | None:
        # the parser's grammar decides (`parse_command` asks `is_help`): one notion of "asks for help"
        command = request.command
        if command is None or command.kind != "help":
            return None
        message = request.message
        offer = self.offer
        text = await self.renderer.render_async(
            "help",
            {
                "bot_name": self.bot_name,
                "is_group": message.is_group,
                "is_owner": message.sender_is_owner,
                "platforms": list(offer.platforms),
                "takeout": offer.takeout,
                "shops": offer.shops,
                "rebate": offer.rebate,
            },
            group=message.chat_id if message.is_group else None,
        )
        # In a group the answer @-mentions the asker, so they see it among everyone else's chat.
        return Reply.text(text, mention_sender=message.is_group)
