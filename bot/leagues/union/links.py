"""The mini-program union's promotionUrl: https://mmbizurl.cn/s/017btcGpB."""

from __future__ import annotations

import re

from bot.leagues.links import LinkMatch

HOSTS = ("mmbizurl.cn",)

_PATH = re.compile(r"^/s/[A-Za-z0-9_\-]+/?$")


def recognise(host: str, path: str, query: str) -> LinkMatch | None:
    return LinkMatch("short_link") if host == "mmbizurl.cn" and _PATH.match(path) else None
