"""What a target group receives for a 线报 (deal-alert) message: the source text with every link and
口令 replaced by the group's own, or the reason it cannot be forwarded.

A source message is resolved once (`Remaker.prepare`: each link or 口令 becomes an `Item`, a product on
a league) and then remade per target group (`Remaker.for_group`: the group's promotion link for every
item, through the link cache, so a repeat costs no league call). A message is forwarded only when EVERY
link in it can be remade: one the bot cannot convert drops the whole message, so the bot never forwards
a link that earns for someone else.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.models import Group


@dataclass(frozen=True)
class Item:
    """One product a source message points at, resolved once."""

    league: str
    """The registry name ("taobao", "jd", "pdd", "union", "channels", "vip", ...)."""
    item_id: str
    source: str
    """The link or 口令 as written in the source text."""

    @property
    def key(self) -> str:
        """The dedupe key: the same product from any source is forwarded once per `dedupe_hours`."""
        return f"{self.league}:{self.item_id}"


@dataclass(frozen=True)
class Prepared:
    """A source message, resolved once for all target groups."""

    text: str
    items: tuple[Item, ...]
    reason: str | None = None
    """Why it cannot be forwarded (Chinese, shown in the log); None: it can."""
    transient: bool = False
    """The reason is a league being slow or down: worth retrying later."""


@dataclass(frozen=True)
class LinkSwap:
    """One link or 口令 of the source and what replaced it for a group."""

    platform: str
    source: str
    """`from` in `tuike forward test --json`."""
    target: str
    """`to` in `tuike forward test --json`."""


@dataclass(frozen=True)
class Remade:
    """What one target group receives."""

    forward: bool
    reason: str | None
    text: str
    """Rendered through the template `forward`."""
    links: tuple[LinkSwap, ...]
    transient: bool = False


class Remaker:
    """Resolves source messages and remakes them for target groups."""

    async def prepare(self, text: str) -> Prepared:
        """The message's links and 口令 resolved to products (bounded concurrency, a deadline per link)."""
        raise NotImplementedError

    async def for_group(self, prepared: Prepared, group: Group) -> Remade:
        """The message as `group` receives it: every link and 口令 its own."""
        raise NotImplementedError
