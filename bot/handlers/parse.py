"""Recognise product links, 口令 and commands in a chat message. Pure functions, no I/O, linear time.

Links and 口令 are recognised in `bot.handlers.links`, commands in `bot.handlers.commands`; this module
puts them together (every name stays importable from here) and holds the gate.

Most group messages are ordinary chat the bot must ignore, so the ignore path is built for speed:
`may_be_request` rejects a line with a first-character test, at most one anchored match and one C-level
encode, and everything else
(URL classification, share-text merging, command grammar) runs only for the few messages it lets through.

Precedence, as the router applies it:

1. A message with a product reference (`find_product_refs` is not empty) is a link to convert,
   never a command, even when it starts with 找/搜 ("找 https://item.jd.com/1.html" converts the link).
2. Otherwise `parse_command` decides: owner commands (订阅/退订/订阅状态), help, then search.
3. Otherwise silence.

`may_be_request(text)` is exact for a group message that does not @mention the bot: True when step 1
finds something or ``parse_command(text, mentioned=False)`` is a command, False otherwise. A message that
@mentions the bot (or a private chat, where the caller passes ``mentioned=True``) may be a plain keyword
or a greeting and must skip it.
"""

from __future__ import annotations

import re

from bot.handlers.commands import (
    COMMAND_FIRST,
    COMMAND_HEAD,
    HELP_WHEN_ADDRESSED,
    HELP_WORDS,
    LEAD,
    Command,
    CommandKind,
    is_help,
    may_be_command,
    parse_command,
    shown_keyword,
)
from bot.handlers.links import MAX_CANDIDATES, MAX_INSPECT, Platform, ProductRef, RefKind, find_product_refs
from bot.services.platforms import PLATFORM_NAMES

# Every link has a dot before a letter (its TLD); every 口令 is eight letters or digits in a row.
_REF_HINT = re.compile(rb"\.[A-Za-z]|[A-Za-z0-9]{8}")


# --------------------------------------------------------------------------------------------- gate


def may_be_request(text: str) -> bool:
    """Whether a group message that does not @mention the bot gets an answer (a link, 口令 or command).

    Exact, and fast on the common case: a line that starts with no command word, has no dot before a
    letter and no eight ASCII letters/digits in a row cannot hold a reference, and is rejected without
    any parsing.
    A message that mentions the bot, or a private chat, must bypass it.
    """
    s = text if len(text) <= MAX_INSPECT else text[:MAX_INSPECT]
    first = s[:1]
    if first in COMMAND_FIRST:  # `may_be_command`, inlined: this is the hottest line of the bot
        if COMMAND_HEAD.match(s[:10].lower() if first.isascii() else s) and parse_command(s, mentioned=False):
            return True
    elif first in LEAD and may_be_command(s) and parse_command(s, mentioned=False):
        return True
    if len(s) < 8:  # a link or a 口令 takes at least eight characters
        return False
    ascii_part = s.encode("ascii", "ignore")
    return len(ascii_part) >= 8 and _REF_HINT.search(ascii_part) is not None and bool(find_product_refs(s))


__all__ = [
    "HELP_WHEN_ADDRESSED",
    "HELP_WORDS",
    "MAX_CANDIDATES",
    "MAX_INSPECT",
    "PLATFORM_NAMES",
    "Command",
    "CommandKind",
    "Platform",
    "ProductRef",
    "RefKind",
    "find_product_refs",
    "is_help",
    "may_be_request",
    "parse_command",
    "shown_keyword",
]
