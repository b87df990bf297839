"""How well a product's title answers a member's keyword: the part every league shares.

A league's search already found the products; the bot then orders them its own way ([deals] rank_by)
and must not lose what the member asked for on the way: `找 苹果手机` wants iPhones above a cable whose
title merely says it fits an iPhone. So a title is scored by how many of the keyword's parts it holds
in its own words (what follows 适用 is what the product fits, not what it is), knowing that 苹果 is
Apple; the ranking orders by that first. The sandbox league's search uses the same normalising.

A member who pastes a product's whole title (`找 <title>`, copied from a deal the bot posted) wants
that product: `title_key` is what two titles are compared by, so the answer is that product alone.
"""

from __future__ import annotations

import re
import unicodedata

BRAND_ALIASES: dict[str, tuple[str, ...]] = {
    "Apple": ("苹果", "apple"),
    "华为": ("huawei",),
    "小米": ("xiaomi", "mi"),
    "荣耀": ("honor",),
    "一加": ("oneplus",),
    "索尼": ("sony",),
    "Anker安克": ("anker", "安克"),
    "漫步者": ("edifier",),
    "倍思": ("baseus",),
    "绿联": ("ugreen",),
    "罗马仕": ("romoss",),
}
"""Other names members use for a brand (the brand's own name always counts)."""

SUITS = "适用"
"""What follows this in a title is what the product fits, not what it is."""

_TOKEN = re.compile(r"[a-z]+|[0-9]+(?:\.[0-9]+)?|[\u3400-\u9fff]+")


def normalise(text: str) -> str:
    """Full width to half width (NFKC) and case folded: `ＩＰＨＯＮＥ` and `iPhone` are `iphone`."""
    return unicodedata.normalize("NFKC", text).casefold()


def title_key(text: str) -> str:
    """A title as compared with a pasted one: its words, numbers and Chinese normalised, without the
    spaces and punctuation between them (`《三体》 全三册` and `三体》全三册` match: a chat client or the
    command parser may drop a bracket or a space on the way)."""
    return "".join(raw_tokens(text))


def is_title(keyword: str, title: str) -> bool:
    """Whether the keyword is the product's whole title (see `title_key`), not just words of it."""
    return bool(title) and title_key(keyword) == title_key(title)


def raw_tokens(text: str) -> list[str]:
    """ASCII words, numbers and Chinese runs apart: `iphone15` → iphone, 15."""
    return _TOKEN.findall(normalise(text))


def is_cjk(token: str) -> bool:
    return "\u3400" <= token[0] <= "\u9fff"


def _same_as() -> dict[str, frozenset[str]]:
    """Each alias → every name of its brand (normalised)."""
    out: dict[str, frozenset[str]] = {}
    for brand, aliases in BRAND_ALIASES.items():
        names = frozenset({normalise(brand), *raw_tokens(brand), *aliases})
        for name in names:
            out[name] = names
    return out


_SAME_AS = _same_as()


def keyword_parts(keyword: str) -> list[str]:
    """ASCII words and numbers; Chinese runs as brand names where they hold one, the rest in pairs of
    characters (蓝牙耳机 → 蓝牙, 牙耳, 耳机), so word order and extra words do not matter."""
    parts: list[str] = []
    for token in raw_tokens(keyword):
        if not is_cjk(token):
            parts.append(token)
            continue
        for name in sorted((n for n in _SAME_AS if is_cjk(n) and n in token), key=len, reverse=True):
            if name in token:
                parts.append(name)
                token = token.replace(name, " ")
        for run in token.split():
            parts.extend([run] if len(run) <= 2 else [run[i : i + 2] for i in range(len(run) - 1)])
    return list(dict.fromkeys(parts))


def title_relevance(keyword: str, title: str) -> int:
    """How many of the keyword's parts the title holds in its own words (0 for none, or no keyword)."""
    main = normalise(title).partition(SUITS)[0]
    words = set(raw_tokens(main))
    score = 0
    for part in keyword_parts(keyword):
        names = _SAME_AS.get(part, frozenset({part}))
        if is_cjk(part):
            hit = any(n in main for n in names)
        else:
            hit = any(n in words or (is_cjk(n) and n in main) for n in names)
        score += hit
    return score
