"""WeChat-shop product share links (store.weixin.qq.com/shop/a/…); weixin.qq.com/sph/… is a video."""

from __future__ import annotations

import re

from bot.leagues.links import LinkMatch

HOSTS = ("store.weixin.qq.com",)

_PATH = re.compile(r"^/shop/a/[A-Za-z0-9_\-]+/?$")


def recognise(host: str, path: str, query: str) -> LinkMatch | None:
    return LinkMatch("short_link") if host == "store.weixin.qq.com" and _PATH.match(path) else None
