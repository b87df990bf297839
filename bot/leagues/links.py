"""What a league package needs to recognise its own product links (`<league>/links.py`).

Each league owns the hosts it serves (`LeaguePlugin.link_hosts`) and a `recognise(host, path, query)`
that says what a link on them is; `bot.handlers.links` finds the URLs in a message, asks the league whose
hosts match, and turns the answer into a `ProductRef`. Pure and linear: no I/O, anchored patterns.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

LinkKind = Literal["item", "short_link"]


@dataclass(frozen=True, slots=True)
class LinkMatch:
    """A league's reading of one link: a product page (`item`, with the id its API takes) or a short
    or share link to resolve (`short_link`), perhaps carrying a 口令 (`code`); `not_product` names why
    the link is recognised but cannot be promoted (a 闲鱼 listing, a brand page)."""

    kind: LinkKind
    ident: str | None = None
    code: str | None = None
    not_product: str | None = None


Recognise = Callable[[str, str, str], "LinkMatch | None"]
"""`recognise(host, path, query)`: host lower-cased without a trailing dot."""

_TOKEN = re.compile(r"^/?(?:h\.)?([A-Za-z0-9_\-]{4,})/?$")


def under(host: str, *domains: str) -> bool:
    """Host is a domain or its subdomain; lookalikes (`taobao.com.example.cn`, `fakejd.com`) are not."""
    return any(host == d or host.endswith("." + d) for d in domains)


def real_token(path: str) -> bool:
    """A short-link token is a real token, not a placeholder in prose ("m.tb.cn/h.xxx", "u.jd.com/…")."""
    m = _TOKEN.match(path)
    return m is not None and len(set(m.group(1).lower())) > 1


def code_shape_ok(code: str) -> bool:
    """A 口令 is random base62: at least one letter, so prices (`￥199￥`) and numbers never match."""
    return not code.isdigit() and any(c.isalpha() for c in code)
