"""PDD goods pages (yangkeduo.com / pinduoduo.com, by goods_sign or goods_id) and its short links."""

from __future__ import annotations

import re

from bot.leagues.links import LinkMatch, real_token

HOSTS = ("yangkeduo.com", "pinduoduo.com", "a7q.cn")

_SIGN = re.compile(r"(?:^|[?&;])(?:amp;)?goods_sign=([A-Za-z0-9_\-]{10,120})(?=$|[&#;])")
_ID = re.compile(r"(?:^|[?&;])(?:amp;)?goods_id=(\d{5,15})(?=$|[&#;])")
_GOODS_PAGE = re.compile(r"^/(?:goods\d?|duo_coupon_landing)\.html$")


def recognise(host: str, path: str, query: str) -> LinkMatch | None:
    if host == "a7q.cn":  # the PDD app's own share short links
        return LinkMatch("short_link") if path.strip("/") and real_token(path.rsplit("/", 1)[-1]) else None
    if host == "p.pinduoduo.com":
        return LinkMatch("short_link") if real_token(path) else None
    m = _SIGN.search(query) or _ID.search(query)
    if m:
        return LinkMatch("item", m.group(1))
    # A goods page shared from the app carries only a share token (goods2.html?ps=…): resolve it.
    if _GOODS_PAGE.match(path) and query:
        return LinkMatch("short_link")
    return None
