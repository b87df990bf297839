"""Vipshop links in a member's text, for the lead to wire into `bot.handlers.parse` (which already knows
the goods pages and `t.vip.com`; this adds the rest of the reference's forms).

`recognise(url)` classifies one URL (as `parse` finds it in a message):

- `("item", goodsId)`: a goods page — `detail.vip.com/detail-<brandId>-<goodsId>.html`,
  `www.vip.com/detail-…`, `m.vip.com/product-…` (also `product-0-…`), any `*.vip.com` / `*.vipshop.com`
  host;
- `("short_link", None)`: a share or affiliate short link that names no goods — `t.vip.com/<code>`
  and `click.union.vip.com/<code>` (the latter is missing from `parse` today); the league reads it with
  `genByVIPUrl`;
- `("not_product", None)`: a Vipshop page that is not one goods (a brand sale, a list, the home page
  with a path): the member should hear it is not a product link rather than silence;
- `None`: not a Vipshop link, or one with nothing in it (`https://www.vip.com/`).

Pure and linear: one `urlsplit`, anchored patterns, no I/O.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from bot.leagues.links import LinkMatch, under

Kind = Literal["item", "short_link", "not_product"]

_GOODS = re.compile(r"^/(?:detail|product)-(\d{1,15})-(\d{5,25})\.html$")
_TOKEN = re.compile(r"^/[A-Za-z0-9_-]{4,64}/?$")
_SHORT_HOSTS = frozenset({"t.vip.com", "click.union.vip.com"})
HOSTS = ("vip.com", "vipshop.com")


def recognise(url: str) -> tuple[Kind, str | None] | None:
    text = url.strip()
    parts = urlsplit(text if "://" in text else "https://" + text)
    return _read((parts.hostname or "").lower(), parts.path)


def _read(host: str, path: str) -> tuple[Kind, str | None] | None:
    if not under(host, *HOSTS):
        return None
    m = _GOODS.match(path)
    if m:
        return "item", m.group(2)
    if host in _SHORT_HOSTS:
        if _TOKEN.match(path) and not path.strip("/").startswith(("deeplink", "redirect")):
            return "short_link", None
        if path.startswith(("/deeplink/", "/redirect.php")):  # the union's own long links
            return "short_link", None
        return None
    if path.strip("/"):
        return "not_product", None
    return None


def recognise_link(host: str, path: str, query: str) -> LinkMatch | None:
    """The league's recogniser (`LeaguePlugin.links`): a page that is not one goods is recognised so
    the member hears that (`not_product="brand_page"`) instead of silence."""
    found = _read(host, path)
    if found is None:
        return None
    kind, ident = found
    if kind == "not_product":
        return LinkMatch("short_link", not_product="brand_page")
    return LinkMatch(kind, ident)
