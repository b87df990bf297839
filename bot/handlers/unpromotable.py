"""Taobao-family links that are not alliance products, recognised before any league call.

闲鱼 (second-hand listings, goofish.com / idleFish pages / 2.taobao.com, or a share text that says 闲鱼)
and 天猫超市 (chaoshi.tmall.com pages, or a share text that says 天猫超市) cannot be promoted: the member
hears why at once instead of a lookup that is bound to fail. Pure functions, no I/O.
"""

from __future__ import annotations

import re

_XIANYU = re.compile(r"goofish\.com|idlefish|2\.taobao\.com|闲鱼", re.IGNORECASE)
_CHAOSHI = re.compile(r"chaoshi\.(?:detail\.)?tmall\.com|天猫超市|猫超", re.IGNORECASE)


def unpromotable_reason(link: str, share_text: str = "") -> str:
    """`xianyu`, `chaoshi` or "" for a link (and, for Taobao, the message it came in)."""
    for text in (link, share_text):
        if text and _XIANYU.search(text):
            return "xianyu"
        if text and _CHAOSHI.search(text):
            return "chaoshi"
    return ""
