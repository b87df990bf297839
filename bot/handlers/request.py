"""A chat message parsed once into a typed request: the router makes one `Request` per `Incoming` and
hands it to the middleware and to the handlers that take its kind, so no handler parses the text again.

One rule says whether the bot was spoken to: `addressed` = an @mention or a private chat. Where a rule
differs on purpose it is a field of its own, not a second parse with other flags:

* `command` — the command under that one rule (`parse_command(text, mentioned=addressed)`).
* `open_command` — the command a bare keyword counts as under `[deals] keyword_needs_mention`: the same
  as `command`, except that with the setting off a group message counts as addressed (the deals handler
  answers such a keyword; the rate limit counts it).

Each part is worked out the first time something asks for it and kept: a message the middleware drops
(a duplicate, the bot's own, a blocked group) costs no parsing, and a parser fault is caught like a
handler's.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from bot.chat.base import Incoming
from bot.handlers.parse import Command, ProductRef, find_product_refs, parse_command

RequestKind = Literal[
    "link",
    "keyword",
    "chat",
    "search",
    "help",
    "subscribe",
    "unsubscribe",
    "subscription_status",
    "commission",
    "own_store",
    "sharer_bind",
    "sharer_status",
    "sharer_unbind",
    "thanks",
    "ack",
    "takeout",
    "chat_ids",
]
"""What a request may be, for handlers to register on: `link` (product links or 口令 in it), `keyword`
(a search the deals handler answers: no link, and a keyword said where keywords are answered), `chat`
(said to the bot, yet neither a link nor a command), and every command kind."""


@dataclass(frozen=True, eq=False)
class Request:
    message: Incoming
    keyword_needs_mention: bool = True
    """`[deals] keyword_needs_mention`: in a group, a bare keyword is a search only when the bot is
    @mentioned (see `open_command`)."""

    @property
    def text(self) -> str:
        return self.message.text

    @property
    def addressed(self) -> bool:
        """The bot was spoken to: an @mention, or a private chat."""
        return self.message.mentioned or not self.message.is_group

    @cached_property
    def refs(self) -> tuple[ProductRef, ...]:
        """The product links and 口令 in the message, in order (a link is never a command)."""
        return tuple(find_product_refs(self.message.text))

    @cached_property
    def command(self) -> Command | None:
        """The command in the message, parsed as said to the bot when it is `addressed`."""
        return parse_command(self.message.text, mentioned=self.addressed)

    @cached_property
    def open_command(self) -> Command | None:
        """`command`, except that with keywords needing no mention a group message counts as addressed."""
        if self.addressed or self.keyword_needs_mention:
            return self.command
        return parse_command(self.message.text, mentioned=True)

    @cached_property
    def keyword(self) -> str:
        """The keyword a search asks for ('' for none): no link in the message, and the message is for
        the bot (addressed, or a command in a group's own words), and a non-empty search under
        `open_command`."""
        if self.refs or not (self.addressed or self.command is not None):
            return ""
        command = self.open_command
        if command is None or command.kind != "search":
            return ""
        return command.arg.strip()

    @cached_property
    def kinds(self) -> frozenset[RequestKind]:
        """Every kind this request is, for the router's dispatch (a handler takes it when one of the
        kinds it registered for is here)."""
        kinds: set[RequestKind] = set()
        if self.refs:
            kinds.add("link")
        if self.keyword:
            kinds.add("keyword")
        command = self.command
        if command is not None:
            kinds.add(command.kind)
        elif self.addressed and not self.refs:
            kinds.add("chat")
        return frozenset(kinds)


def as_request(message: Incoming | Request, *, keyword_needs_mention: bool = True) -> Request:
    """The request for a message handed to a handler directly (a test, the CLI): the router's own, or
    one made here."""
    if isinstance(message, Request):
        return message
    return Request(message, keyword_needs_mention)
