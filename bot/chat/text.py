"""Text the bot reads from what members paste, on every channel that carries cards or @-mentions.

A pasted card becomes text so handlers that only read text recognise it:

* a url-link card gives its URL, and on a second line its title when it has one;
* a mini-program card gives, on the first line, `https://store.weixin.qq.com/shop/a/<token>` when its page
  path carries a WeChat Channels product short link (plain or URL-encoded), otherwise
  `miniprogram://<appid>/<pagePath>`; on a second line its title when it has one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote

_CHANNELS_PRODUCT = re.compile(r"(?:https?://)?store\.weixin\.qq\.com/shop/a/([A-Za-z0-9]+)")


def url_card_text(url: str, title: str = "") -> str:
    """The text a pasted url-link card becomes: its URL, then its title."""
    return "\n".join(part for part in (url.strip(), title.strip()) if part)


def mini_program_card_text(appid: str, page_path: str, title: str = "", username: str = "") -> str:
    """The text a pasted mini-program card becomes; see the module docstring for the form."""
    path = page_path.strip()
    link = ""
    candidate = path
    for _ in range(3):  # page paths carry their parameters URL-encoded, sometimes twice
        match = _CHANNELS_PRODUCT.search(candidate)
        if match:
            link = f"https://store.weixin.qq.com/shop/a/{match.group(1)}"
            break
        decoded = unquote(candidate)
        if decoded == candidate:
            break
        candidate = decoded
    if not link:
        link = f"miniprogram://{appid.strip() or username.strip() or 'unknown'}/{path.lstrip('/')}"
    return "\n".join(part for part in (link, title.strip()) if part)


def strip_mention(text: str, names: Iterable[str]) -> tuple[str, bool]:
    """Remove `@name` of the bot (WeChat puts U+2005 after it) and say whether there was one.

    Only the bot's own names are removed: "@小红 帮助" is not addressed to the bot and must not read as
    "帮助".
    """
    alternatives = sorted({name for name in names if name}, key=len, reverse=True)
    if not alternatives:
        return text, False
    pattern = re.compile("@(?:" + "|".join(map(re.escape, alternatives)) + r")(?:[\u2005 ]|$)")
    stripped, count = pattern.subn("", text)
    if not count:
        return text, False
    return re.sub(r"[ \u2005]{2,}", " ", stripped).strip(), True
