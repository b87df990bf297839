"""Recognise what a member asks for: product links, 淘口令, keyword searches and commands.

Pure functions, no I/O. Recognition is strict on hosts (a lookalike such as `taobao.com.example.cn` is
not Taobao) and on shapes (`￥199￥` is a price, not a 淘口令), because a false positive makes the bot
answer ordinary chat — the fastest way to get it removed from a group.

Precedence: a message that carries a product reference is a link request, whatever else it says;
otherwise it may be a command. Bare numbers never classify: JD SKUs and Taobao ids overlap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, urlsplit

Platform = Literal["taobao", "jd", "pdd", "channels"]
RefKind = Literal["item", "short_link", "tpwd"]
CommandKind = Literal["search", "help", "subscribe", "unsubscribe", "subscription_status"]


@dataclass(frozen=True, slots=True)
class ProductRef:
    platform: Platform
    kind: RefKind
    """item: the product id is in the text; short_link: a link to resolve; tpwd: a 淘口令."""
    id: str | None
    code: str | None
    url: str | None
    start: int
    """Offset in the text where the reference begins."""


@dataclass(frozen=True, slots=True)
class Command:
    kind: CommandKind
    arg: str


# A URL runs until whitespace, a CJK character, or punctuation that real share texts put after links.
_URL = re.compile(
    r"(?:https?://)?(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}(?::\d+)?(?:/[^\s\u3000-\u303f\u4e00-\u9fff\uff00-\uffef「」【】《》“”‘’<>\"']*)?",
    re.ASCII,
)
# 淘口令: a currency-like delimiter, 8–20 alphanumerics with at least one letter, a closing delimiter.
# Brackets and slashes are delimiters too, but only inside a Taobao share text: "(iPhone15Pro)" in
# ordinary chat is a phone, not a code.
_TPWD_DELIMS = "￥¥$€£₤₳¢₴₰₵₲₪《"
_LOOSE_DELIMS = _TPWD_DELIMS + "()（）/"


def _tpwd_pattern(delims: str) -> re.Pattern[str]:
    cls = "[" + re.escape(delims) + "]"
    return re.compile(cls + r"([A-Za-z0-9]{8,20})" + cls)


_TPWD = _tpwd_pattern(_TPWD_DELIMS)
_TPWD_LOOSE = _tpwd_pattern(_LOOSE_DELIMS)
_SHARE_MARKERS = ("淘宝", "天猫", "手淘", "tb.cn", "打开")
_TK_PARAM = re.compile(r"[?&]tk=([A-Za-z0-9]{8,20})")
_DIGITS = re.compile(r"^\d{5,15}$")

_TRAILING = ".,;:!?)]}'\"，。；：！？、）"


def _host_is(host: str, *domains: str) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def _query_id(query: dict[str, list[str]], *names: str) -> str | None:
    for name in names:
        for value in query.get(name, []):
            if _DIGITS.match(value):
                return value
    return None


def _classify(url: str, start: int) -> ProductRef | None:
    full = url if "://" in url else "https://" + url
    try:
        parts = urlsplit(full)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    path = parts.path
    query = parse_qs(parts.query)

    def ref(platform: Platform, kind: RefKind, pid: str | None = None, code: str | None = None) -> ProductRef:
        return ProductRef(platform, kind, pid, code, url, start)

    # Taobao and Tmall
    if _host_is(host, "m.tb.cn", "tb.cn"):
        if path.startswith("/h.") or len(path) > 1:
            tk = query.get("tk", [None])[0]
            return ref(
                "taobao", "short_link", code=tk if tk and re.fullmatch(r"[A-Za-z0-9]{8,20}", tk) else None
            )
        return None
    if _host_is(host, "s.click.taobao.com", "uland.taobao.com"):
        return ref("taobao", "short_link") if len(path) > 1 or parts.query else None
    if _host_is(host, "taobao.com", "tmall.com", "tmall.hk"):
        m = re.match(r"^/i(\d{5,15})\.htm", path)
        if host == "a.m.taobao.com" and m:
            return ref("taobao", "item", m.group(1))
        pid = _query_id(query, "id", "itemId", "item_id")
        if pid:
            return ref("taobao", "item", pid)
        return None
    # JD
    if _host_is(
        host, "item.jd.com", "item.jd.hk", "item.m.jd.com", "wqitem.jd.com", "jingfen.jd.com", "npcitem.jd.hk"
    ):
        m = re.search(r"/(?:product/|detail/)?(\d{5,15})\.html", path)
        if m:
            return ref("jd", "item", m.group(1))
        pid = _query_id(query, "wareId", "sku", "skuId")
        return ref("jd", "item", pid) if pid else None
    if _host_is(host, "u.jd.com", "3.cn") and len(path) > 1:
        return ref("jd", "short_link")
    if _host_is(host, "union-click.jd.com") and (len(path) > 1 or parts.query):
        return ref("jd", "short_link")
    # Pinduoduo
    if _host_is(host, "p.pinduoduo.com") and len(path) > 1:
        return ref("pdd", "short_link")
    if _host_is(host, "yangkeduo.com", "pinduoduo.com"):
        pid = _query_id(query, "goods_id")
        if pid:
            return ref("pdd", "item", pid)
        if query.get("goods_sign"):
            return ref("pdd", "short_link")
        return None
    # WeChat Channels shop (小店); weixin.qq.com/sph/… is a video, not a product
    if host == "store.weixin.qq.com" and re.match(r"^/shop/a/[A-Za-z0-9_-]+", path):
        return ref("channels", "short_link")
    return None


def _strip_trailing(url: str) -> str:
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


def find_product_refs(text: str) -> list[ProductRef]:
    """Product references in order of appearance; a share text carrying one product twice is one."""
    found: list[ProductRef] = []
    taken: list[tuple[int, int]] = []
    codes_in_links: set[str] = set()
    for match in _URL.finditer(text):
        url = _strip_trailing(match.group(0))
        start = match.start()
        if start > 0 and (
            (text[start - 1].isalnum() and text[start - 1].isascii()) or text[start - 1] in "@."
        ):
            continue  # part of a longer token, e.g. an e-mail address
        ref = _classify(url, start)
        if ref is None:
            continue
        found.append(ref)
        taken.append((start, start + len(url)))
        if ref.code:
            codes_in_links.add(ref.code)
    pattern = _TPWD_LOOSE if any(m in text for m in _SHARE_MARKERS) else _TPWD
    for match in pattern.finditer(text):
        code = match.group(1)
        if code.isdigit() or not any(c.isalpha() for c in code):
            continue  # ￥199￥ is a price
        if any(a <= match.start() < b for a, b in taken):
            continue
        if code in codes_in_links:
            continue  # the same product already found as a link carrying tk=<code>
        if (
            found
            and any(r.platform == "taobao" and r.kind == "short_link" for r in found)
            and _share_text(text)
        ):
            # one share text = one product: the 口令 completes the short link already found
            for i, r in enumerate(found):
                if r.platform == "taobao" and r.kind == "short_link" and r.code is None:
                    found[i] = ProductRef(r.platform, r.kind, r.id, code, r.url, r.start)
                    break
            continue
        found.append(ProductRef("taobao", "tpwd", None, code, None, match.start()))
    found.sort(key=lambda r: r.start)
    unique: list[ProductRef] = []
    seen: set[tuple[str, str]] = set()
    for ref in found:
        key = (ref.platform, ref.id or ref.code or ref.url or "")
        if key not in seen:
            seen.add(key)
            unique.append(ref)
    return unique


def _share_text(text: str) -> bool:
    """A single-product share text from the Taobao app (one 【…】 header, one link)."""
    return text.count("http") <= 1


# -- commands ----------------------------------------------------------------------------------

_SEARCH = re.compile(
    r"^(?:找|搜|买|查|搜索|查找|find|search)(?:一下|一找|一搜)?\s*[:：]?\s*(.+)$", re.IGNORECASE | re.DOTALL
)
_HELP = frozenset({"帮助", "help", "菜单", "/help", "使用说明"})
_QUOTES = "「」『』“”\"'《》【】"
_END_PUNCT = "。！？!?～~，,、.；;"
MAX_KEYWORD = 30
MAX_MENTIONED_TEXT = 40


def _clean_keyword(raw: str) -> str:
    keyword = raw.strip().strip(_QUOTES).strip()
    keyword = keyword.rstrip(_END_PUNCT).strip().strip(_QUOTES).strip()
    return re.sub(r"\s+", " ", keyword)


def parse_command(text: str, *, mentioned: bool) -> Command | None:
    """The command in a message, or None. A bare keyword counts only when the bot was addressed."""
    line = text.strip()
    if not line:
        return None
    lowered = line.lower()
    if lowered in _HELP:
        return Command("help", "")
    if line in ("订阅状态", "查看订阅"):
        return Command("subscription_status", "")
    for word, kind in (("订阅", "subscribe"), ("退订", "unsubscribe"), ("取消订阅", "unsubscribe")):
        if line == word or line.startswith(word + " ") or line.startswith(word + "\u3000"):
            return Command(kind, line[len(word) :].strip())  # type: ignore[arg-type]
    match = _SEARCH.match(line)
    if match:
        keyword = _clean_keyword(match.group(1))
        if keyword and len(keyword) <= MAX_KEYWORD and "\n" not in keyword:
            return Command("search", keyword)
        return None
    if mentioned and len(line) <= MAX_MENTIONED_TEXT and "\n" not in line:
        keyword = _clean_keyword(line)
        if keyword:
            return Command("search", keyword)
    return None


_FIRST_CHARS = frozenset("找搜买查帮订退取菜fFsShH/")
_CHEAP_MARKERS = (".", "￥", "¥", "$", "€", "£", "₤", "₳", "¢", "₴", "₰", "₵", "₲", "₪", "《", "(", "（")


def may_be_request(text: str) -> bool:
    """A cheap pre-filter for the ignore path: False means this line is certainly not for the bot."""
    stripped = text.lstrip()
    if not stripped:
        return False
    if stripped[0] in _FIRST_CHARS:
        return True
    return any(marker in text for marker in _CHEAP_MARKERS)
