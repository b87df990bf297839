"""JD product pages (item.jd.com, item.m.jd.com, item.jd.hk …) and JD's short links (u.jd.com, 3.cn)."""

from __future__ import annotations

import re

from bot.leagues.links import LinkMatch, real_token

HOSTS = ("jd.com", "jd.hk", "3.cn")

_PATH = re.compile(r"^/(?:product/)?(\d{5,15})\.html$")
_QUERY = re.compile(r"(?:^|[?&;])(?:amp;)?(?:wareId|sku|skuId)=(\d{5,15})(?=$|[&#;])")
_JKL = re.compile(r"(?:^|[?&;])(?:amp;)?jkl=@?([A-Za-z0-9]{6,20})@?(?=$|[&#;])")
_SHORT_HOSTS = frozenset({"u.jd.com", "union-click.jd.com", "3.cn", "jingfen.jd.com"})


def recognise(host: str, path: str, query: str) -> LinkMatch | None:
    if host not in _SHORT_HOSTS:  # item.jd.com, item.m.jd.com, m.jd.com, wqitem.jd.com, item.jd.hk …
        m = _PATH.match(path) or _QUERY.search(query)
        return LinkMatch("item", m.group(1)) if m else None
    if real_token(path) or query or path.count("/") > 1:
        jkl = _JKL.search(query)
        return LinkMatch("short_link", code=jkl.group(1) if jkl else None)
    return None
