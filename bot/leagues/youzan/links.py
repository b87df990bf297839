"""Youzan links a member may paste: an item page, or a shop's page that is no one item.

Item pages: `h5.youzan.com/v2/goods/<alias>`, `shop<kdtId>.m.youzan.com/v2/goods/<alias>`, the legacy
`h5.koudaitong.com/v2/goods/<alias>`. The shop's home page (`/v2/showcase/homepage`, `/v2/feature/…`, a
bare host) is recognised so the member hears it is not a product (`not_product="shop_home"`). Pure and
linear: anchored patterns, no I/O.
"""

from __future__ import annotations

import re

from bot.leagues.links import LinkMatch

HOSTS = ("youzan.com", "koudaitong.com")
_ITEM = re.compile(r"^/v2/goods/([A-Za-z0-9]{4,40})/?$")


def recognise_link(host: str, path: str, query: str) -> LinkMatch | None:
    m = _ITEM.match(path)
    if m:
        return LinkMatch("item", m.group(1))
    if host in ("youzan.com", "www.youzan.com", "open.youzanyun.com") and not path.strip("/"):
        return None  # the company's site, not a shop
    if path.startswith(("/v2/showcase/", "/v2/feature/", "/wscshop/", "/v2/home")) or not path.strip("/"):
        return LinkMatch("short_link", not_product="shop_home")
    return None
