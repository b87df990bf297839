"""Taobao/Tmall links (and 闲鱼's, recognised so the member hears it is no alliance product)."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from bot.leagues.links import LinkMatch, code_shape_ok, real_token, under

HOSTS = ("taobao.com", "tmall.com", "tmall.hk", "tb.cn", "goofish.com")

_ID_PARAM = re.compile(r"(?:^|[?&;])(?:amp;)?(?:id|itemId|item_id)=(\d{5,15})(?=$|[&#;])")
"""`id=` (the item id) anywhere in the query; `tk=` carries a 口令 in m.tb.cn share links."""
_TK_PARAM = re.compile(r"(?:^|[?&;])(?:amp;)?tk=([A-Za-z0-9]{8,20})(?=$|[&#;%])")
_A_M_PATH = re.compile(r"^/i(\d{5,15})\.htm$")
_A_M_HOSTS = frozenset({"a.m.taobao.com", "a.m.tmall.com"})
_ITEM_PATH = re.compile(r"^/(?:list/)?item/(\d{5,15})\.htm$")
"""world.taobao.com/item/<id>.htm (淘宝全球), www.taobao.com/list/item/<id>.htm (shared from search pages)."""
_WRAPPED = re.compile(r"(?:^|[?&;])(?:amp;)?(?:h5Url|h5url|url)=([^&#;]{10,600})")
"""The app-opening page m.taobao.com/tbopen/index.html?h5Url=<the product page, encoded>."""
_XIANYU_HOSTS = frozenset({"2.taobao.com", "s.2.taobao.com"})
"""闲鱼 (second-hand) pages live under taobao.com but are not alliance products."""


def recognise(host: str, path: str, query: str) -> LinkMatch | None:
    if (
        under(host, "goofish.com")
        or host in _XIANYU_HOSTS
        or (under(host, "taobao.com") and "idlefish" in path.lower())
    ):
        return LinkMatch("short_link", not_product="xianyu") if path.strip("/") or query else None
    tk = _TK_PARAM.search(query)
    code = tk.group(1) if tk and code_shape_ok(tk.group(1)) else None
    if under(host, "tb.cn"):
        return LinkMatch("short_link", code=code) if real_token(path) or code else None
    if host in ("s.click.taobao.com", "uland.taobao.com"):
        return LinkMatch("short_link", code=code) if path.strip("/") or query else None
    m = _ID_PARAM.search(query)
    if m is None and host in _A_M_HOSTS:
        m = _A_M_PATH.match(path)
    if m is None and under(host, "taobao.com"):
        m = _ITEM_PATH.match(path)
    if m is None:
        return _wrapped(query)
    return LinkMatch("item", m.group(1), code)


def _wrapped(query: str) -> LinkMatch | None:
    """The product page an app-opening link carries encoded in its query (one level, never a link to
    another site)."""
    w = _WRAPPED.search(query)
    if w is None:
        return None
    inner = urlsplit(unquote(w.group(1)))
    host = (inner.hostname or "").lower().rstrip(".")
    if not host or not under(host, "taobao.com", "tmall.com", "tmall.hk") or _WRAPPED.search(inner.query):
        return None
    return recognise(host, inner.path, inner.query)
