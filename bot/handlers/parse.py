"""Recognise product links, 淘口令 and commands in a chat message. Pure functions, no I/O.

Most group messages are ordinary chat the bot must ignore, so the ignore path is built for speed:
`may_be_request` answers with one ``startswith`` and one compiled regex, and everything else
(URL classification, share-text merging, command grammar) runs only for the few messages it lets through.

Precedence, as the router applies it:

1. A message with a product reference (`find_product_refs` is not empty) is a link to convert,
   never a command, even when it starts with 找/搜 ("找 https://item.jd.com/1.html" converts the link).
2. Otherwise `parse_command` decides: owner commands (订阅/退订/订阅状态), help, then search.
3. Otherwise silence.

`may_be_request(text) is False` guarantees that step 1 finds nothing and that
``parse_command(text, mentioned=False)`` is None. A message that @mentions the bot (or a private chat,
where the caller passes ``mentioned=True``) may be a plain keyword and must skip the pre-filter.

Taobao share texts carry one product in up to three forms (short link, its ``tk=`` code, a 淘口令 between
currency signs). They come back as ONE reference, the most specific form: an item id if a link gives one,
else the short link with the code filled in as ``code`` (so the caller can query the code directly or
resolve the link), else the bare 淘口令.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import SplitResult, urlsplit

Platform = Literal["taobao", "jd", "pdd", "channels", "union"]
"""`taobao` covers Tmall and Tmall Global too: one league serves them all."""
RefKind = Literal["item", "short_link", "tpwd"]
CommandKind = Literal["search", "help", "subscribe", "unsubscribe", "subscription_status"]


@dataclass(frozen=True, slots=True)
class ProductRef:
    """One product the member pointed at.

    kind ``item``: the product id is in the text (``id`` set). ``short_link``: a link that must be
    resolved by redirect or league API (``id`` None; ``code`` set when the share text carried a 淘口令).
    ``tpwd``: a bare 淘口令 (``code`` set, ``url`` None). For PDD, ``id`` is the ``goods_sign`` when the link
    carries one (what the 多多进宝 APIs take), else the numeric ``goods_id``.
    """

    platform: Platform
    kind: RefKind
    id: str | None
    code: str | None
    url: str | None
    """The link as written in the message (trailing punctuation removed), or None."""
    start: int
    """Offset in the text where the reference begins; references come back in this order."""


@dataclass(frozen=True, slots=True)
class Command:
    kind: CommandKind
    arg: str
    """The keyword for search; the rest of the line for subscribe/unsubscribe; "" otherwise."""


# --------------------------------------------------------------------------------------------- links

# ASCII only: a URL ends at the first Chinese character or punctuation (，。）「 ...), so
# "…htm?id=123，快看" never swallows the comma. `$`, `(` and `)` are left out because they delimit 淘口令.
_URL_CHARS = r"A-Za-z0-9\-._~:/?#@&+,;=%"
_URL_RE = re.compile(
    rf"[Hh][Tt][Tt][Pp][Ss]?://[{_URL_CHARS}]+"
    # Without a scheme only hosts under the TLDs the platforms use, not glued to a word or an e-mail.
    rf"|(?<![A-Za-z0-9@._/:\-])(?:[A-Za-z0-9\-]+\.)+(?:com|cn|hk)\b(?::\d+)?(?:/[{_URL_CHARS}]*)?",
)
_TRAILING = ".,;:?!~&#"

_TB_ID_PARAM = re.compile(r"(?:^|[?&;])(?:amp;)?(?:id|itemId|item_id)=(\d{5,15})(?=$|[&#;])")
_TB_TK_PARAM = re.compile(r"(?:^|[?&;])(?:amp;)?tk=([A-Za-z0-9]{8,20})(?=$|[&#;])")
_TB_A_M_PATH = re.compile(r"^/i(\d{5,15})\.htm$")
_JD_PATH = re.compile(r"^/(?:product/)?(\d{5,15})\.html$")
_JD_QUERY = re.compile(r"(?:^|[?&;])(?:amp;)?(?:wareId|sku|skuId)=(\d{5,15})(?=$|[&#;])")
_PDD_SIGN = re.compile(r"(?:^|[?&;])(?:amp;)?goods_sign=([A-Za-z0-9_\-]{10,120})(?=$|[&#;])")
_PDD_ID = re.compile(r"(?:^|[?&;])(?:amp;)?goods_id=(\d{5,15})(?=$|[&#;])")
_PDD_GOODS_PAGE = re.compile(r"^/(?:goods\d?|duo_coupon_landing)\.html$")
_CHANNELS_PATH = re.compile(r"^/shop/a/[A-Za-z0-9]+/?$")
_UNION_PATH = re.compile(r"^/s/[A-Za-z0-9_\-]+/?$")
"""The mini-program union's promotionUrl: https://mmbizurl.cn/s/017btcGpB."""

_JD_ITEM_HOSTS = frozenset({"item.jd.com", "item.m.jd.com", "item.jd.hk", "npcitem.jd.hk", "wqitem.jd.com"})
_JD_SHORT_HOSTS = frozenset({"u.jd.com", "union-click.jd.com", "3.cn", "jingfen.jd.com"})


def _under(host: str, *domains: str) -> bool:
    """Host is a domain or its subdomain; lookalikes (`taobao.com.example.cn`, `fakejd.com`) are not."""
    return any(host == d or host.endswith("." + d) for d in domains)


def _split(url: str) -> SplitResult | None:
    try:
        parts = urlsplit(url if "://" in url else "//" + url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return None
    return parts


@dataclass(slots=True)
class _Found:
    """A reference under construction; merged and frozen into a ProductRef at the end."""

    platform: Platform
    kind: RefKind
    id: str | None
    code: str | None
    url: str | None
    start: int
    end: int
    paired: bool = False


def _classify(url: str, start: int) -> _Found | None:
    parts = _split(url)
    if parts is None or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    path, query = parts.path, parts.query
    end = start + len(url)

    def found(platform: Platform, kind: RefKind, ident: str | None = None, code: str | None = None) -> _Found:
        return _Found(platform, kind, ident, code, url, start, end)

    if _under(host, "taobao.com", "tmall.com", "tmall.hk", "tb.cn"):
        tk = _TB_TK_PARAM.search(query)
        code = tk.group(1) if tk and _code_shape_ok(tk.group(1)) else None
        if _under(host, "tb.cn") or host in ("s.click.taobao.com", "uland.taobao.com"):
            if path.strip("/") or query:
                return found("taobao", "short_link", code=code)
            return None
        m = _TB_ID_PARAM.search(query)
        if m is None and host == "a.m.taobao.com":
            m = _TB_A_M_PATH.match(path)
        return found("taobao", "item", m.group(1), code) if m else None
    if _under(host, "goofish.com"):  # 闲鱼: recognised so the member hears it is not promotable
        return found("taobao", "short_link") if path.strip("/") or query else None
    if _under(host, "jd.com", "jd.hk", "3.cn"):
        if host in _JD_ITEM_HOSTS:
            m = _JD_PATH.match(path) or _JD_QUERY.search(query)
            return found("jd", "item", m.group(1)) if m else None
        if host in _JD_SHORT_HOSTS and (path.strip("/") or query):
            return found("jd", "short_link")
        return None
    if _under(host, "yangkeduo.com", "pinduoduo.com"):
        if host == "p.pinduoduo.com":
            return found("pdd", "short_link") if path.strip("/") else None
        m = _PDD_SIGN.search(query) or _PDD_ID.search(query)
        if m:
            return found("pdd", "item", m.group(1))
        # A goods page shared from the app carries only a share token (goods2.html?ps=…): resolve it.
        if _PDD_GOODS_PAGE.match(path) and query:
            return found("pdd", "short_link")
        return None
    if host == "store.weixin.qq.com" and _CHANNELS_PATH.match(path):
        return found("channels", "short_link")
    if host == "mmbizurl.cn" and _UNION_PATH.match(path):
        return found("union", "short_link")
    # weixin.qq.com/sph/… is a Channels video, not a product: nothing to do.
    return None


# --------------------------------------------------------------------------------------------- 淘口令

# Every Unicode currency sign (category Sc), written out so import stays cheap, plus the other
# delimiters real share texts use. ₳ ₴ ₤ € ¥ ￥ $ are all in the range below.
_CURRENCY = "$¢£¤¥֏؋߾߿৲৳৻૱௹฿៛\u20a0-\u20c0꠸﷼﹩＄￠￡￥￦"
_WEAK = "()（）《》/"
_DELIMS = _CURRENCY + _WEAK
# Optional client tag inside the delimiters: "7¥ CZ3457 4xq5WWqXyxC¥ https://m.tb.cn/…".
_TPWD_RE = re.compile(
    rf"([{_DELIMS}])[ \u3000]*(?:[A-Z]{{2}}\d{{4}}[ \u3000]+)?([A-Za-z0-9]{{8,20}})[ \u3000]*([{_DELIMS}])"
)
_STRONG = re.compile(f"[{_CURRENCY}]")
# Parentheses and slashes appear in ordinary chat ("(iPhone15Pro)", "/Documents/") and in product titles
# ("「手机壳适用(iPhone15Pro)」"). A code between two of them counts only when it is the message's one
# Taobao signal (no link, no currency-delimited code), sits outside a title, and the message talks about
# Taobao, as every real share text does.
_TAOBAO_CONTEXT = re.compile(r"淘宝|淘寳|淘♂寳|天猫|淘口令|口令|手淘|tb|taobao|tmall", re.IGNORECASE)
_TITLE_RE = re.compile(r"「[^」\n]*」|『[^』\n]*』|【[^】\n]*】")


def _code_shape_ok(code: str) -> bool:
    """A 淘口令 is random base62: at least one letter, so prices (`￥199￥`) and numbers never match."""
    return not code.isdigit() and any(c.isalpha() for c in code)


def _inside(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(a <= start < b or a < end <= b for a, b in spans)


def _find_codes(text: str, links: list[tuple[int, int]], taobao_link: bool) -> list[_Found]:
    strong: list[_Found] = []
    weak: list[_Found] = []
    for m in _TPWD_RE.finditer(text):
        code = m.group(2)
        if _inside(m.start(), m.end(), links) or not _code_shape_ok(code):
            continue
        found = _Found("taobao", "tpwd", None, code, None, m.start(), m.end())
        if _STRONG.match(m.group(1)) or _STRONG.match(m.group(3)):
            strong.append(found)
        else:
            weak.append(found)
    if strong or not weak or taobao_link or not _TAOBAO_CONTEXT.search(text):
        return strong
    titles = [m.span() for m in _TITLE_RE.finditer(text)]
    return [f for f in weak if not _inside(f.start, f.end, titles)]


# --------------------------------------------------------------------------------------------- refs


def _link_spans(text: str) -> tuple[list[_Found], list[tuple[int, int]]]:
    refs: list[_Found] = []
    spans: list[tuple[int, int]] = []
    for m in _URL_RE.finditer(text):
        url = m.group(0).rstrip(_TRAILING)
        if not url:
            continue
        spans.append((m.start(), m.start() + len(url)))
        ref = _classify(url, m.start())
        if ref is not None:
            refs.append(ref)
    return refs, spans


_BLANK_LINE = re.compile(r"\n[ \t\u3000]*\n")


def _pair_codes(text: str, found: list[_Found]) -> list[_Found]:
    """Fold a 淘口令 into the Taobao link next to it when both are one share text.

    Pair only immediate neighbours (no other reference between them) in the same paragraph, and only
    with a link that has no code yet or the same one. Same line beats across lines, then the nearer wins.
    """
    keep: list[_Found] = []
    for i, ref in enumerate(found):
        if ref.kind != "tpwd":
            keep.append(ref)
            continue
        options: list[tuple[bool, bool, int, _Found]] = []
        for j in (i - 1, i + 1):
            if not 0 <= j < len(found):
                continue
            link = found[j]
            if link.platform != "taobao" or link.kind == "tpwd" or link.paired:
                continue
            if link.code is not None and link.code != ref.code:
                continue
            lo, hi = (link.end, ref.start) if j < i else (ref.end, link.start)
            gap = text[lo:hi]
            if _BLANK_LINE.search(gap):
                continue
            options.append((link.code != ref.code, "\n" in gap, len(gap), link))
        if not options:
            keep.append(ref)
            continue
        link = min(options, key=lambda o: o[:3])[3]
        link.code = ref.code
        link.paired = True
        link.start = min(link.start, ref.start)
    return keep


def find_product_refs(text: str) -> list[ProductRef]:
    """Every product reference in the message, in order of appearance, each product once."""
    links, spans = _link_spans(text)
    codes = _find_codes(text, spans, any(f.platform == "taobao" for f in links))
    found = sorted(links + codes, key=lambda f: f.start) if codes else links
    if codes and links:
        found = _pair_codes(text, found)
    out: list[ProductRef] = []
    seen: set[tuple[str, str, str]] = set()
    for f in sorted(found, key=lambda f: f.start):
        keys = set()
        if f.id is not None:
            keys.add((f.platform, "id", f.id))
        if f.code is not None:
            keys.add((f.platform, "code", f.code))
        if f.url is not None and f.id is None:
            keys.add((f.platform, "url", _url_key(f.url)))
        if keys & seen:
            seen |= keys
            continue
        seen |= keys
        out.append(ProductRef(f.platform, f.kind, f.id, f.code, f.url, f.start))
    return out


def _url_key(url: str) -> str:
    """The same short link with or without scheme, in any host case, is one product."""
    _scheme, sep, rest = url.partition("://")
    rest = rest if sep else url
    host, slash, tail = rest.partition("/")
    host = host.lower()
    if host.endswith("tb.cn"):
        tail = tail.partition("?")[0]  # the token is the path; `?tk=` repeats the code
    return host + slash + tail


# --------------------------------------------------------------------------------------------- commands

_SPACE = " \t\u3000"
_SEPARATORS = _SPACE + ":：,，"
_QUOTES = "「」『』“”\"'‘’【】[]《》<>"
_TRAILING_PUNCT = "。，,.！!？?~～…、；;：:" + _SPACE
_HELP_WORDS = frozenset({"帮助", "help", "/help", "菜单", "功能", "使用说明", "怎么用", "指令", "命令"})
_HELP_WHEN_MENTIONED = frozenset({"", "?", "？", "你好", "您好", "在吗", "在不在", "hi", "hello", "嗨"})
_STATUS_WORDS = frozenset({"订阅状态", "查看订阅", "我的订阅", "订阅列表"})
_SUBSCRIBE_WORDS = ("订阅",)
_UNSUBSCRIBE_WORDS = ("取消订阅", "退订")
# Topics the subscribe command may run into without a space ("订阅直播"); anything else after 订阅 without
# a space is chat ("订阅号今天推的文章…").
_TOPICS = ("每日", "好物", "直播", "日报", "推送", "提醒")
_SEARCH_WORDS = ("帮我找", "帮我搜", "帮忙找", "找", "搜", "买", "查")
_SEARCH_WORDS_EN = ("search", "find")
# What follows 找/买/查 in ordinary chat ("买了个新手机", "找你有事", "查不到"): not a keyword.
_CHAT_AFTER_VERB = (
    *"了过着到不没的得吗呢啊呀吧完好回来去我你他她它谁哪啥么人钱时事个遍",
    "什么",
    "一个",
    "一找",
    "一搜",
    "一查",
    "一买",
    "东西",
    "半天",
    "单",
)
_FILLERS = ("一下", "下", "点")
_MAX_KEYWORD = 40
_MAX_TEXT = 40
_MAX_OWNER_LINE = 100
_SENTENCE_PUNCT = re.compile(r"[，。！？；,!?;]\s*\S")

_PREFIXES = tuple(
    {*_HELP_WORDS, *_STATUS_WORDS, *_SUBSCRIBE_WORDS, *_UNSUBSCRIBE_WORDS, *_SEARCH_WORDS, *_SEARCH_WORDS_EN}
)


def _clean_keyword(raw: str) -> str:
    kw = raw.strip(_SEPARATORS)
    kw = kw.strip(_TRAILING_PUNCT + _QUOTES)
    return " ".join(kw.split())


def _search(rest: str, *, spaced: bool, mentioned: bool) -> Command | None:
    kw = _clean_keyword(rest)
    if not kw or len(kw) > _MAX_KEYWORD or "\n" in rest.strip():
        return None
    if not mentioned:
        if _SENTENCE_PUNCT.search(kw):
            return None
        if not spaced:
            if kw.startswith(_CHAT_AFTER_VERB):
                return None
            for filler in _FILLERS:
                if kw.startswith(filler) and len(kw) > len(filler):
                    kw = _clean_keyword(kw[len(filler) :])
                    break
            if len(kw) < 2:
                return None
    if "." in kw and find_product_refs(kw):
        return None
    return Command("search", kw)


def _owner_arg(rest: str) -> str | None:
    """The rest of an owner command line, or None when the command word only starts a chat sentence."""
    if rest and rest[0] not in _SEPARATORS and not rest.startswith(_TOPICS):
        return None  # "订阅号今天推的文章", "退订了，太吵"
    if "\n" in rest.strip() or len(rest) > _MAX_OWNER_LINE:
        return None
    return " ".join(rest.strip(_SEPARATORS + "。！!").split())


def parse_command(text: str, *, mentioned: bool) -> Command | None:
    """The command in a message, or None for chat.

    `mentioned` is True when the message @mentioned the bot (the caller has stripped the mention) or came
    in a private chat; then a plain short text is a search keyword, an empty one or a greeting asks for help.
    Call it only when `find_product_refs` found nothing: a link is never a command.
    """
    s = text.strip(_SPACE + "\r\n")
    if s.startswith("/") and not s.startswith("//"):
        s = s[1:].lstrip(_SPACE)
    bare = s.rstrip(_TRAILING_PUNCT).lower()
    if bare in _HELP_WORDS or (mentioned and bare in _HELP_WHEN_MENTIONED):
        return Command("help", "")
    if bare in _STATUS_WORDS:
        return Command("subscription_status", "")
    for word in _UNSUBSCRIBE_WORDS:
        if s.startswith(word):
            arg = _owner_arg(s[len(word) :])
            return None if arg is None else Command("unsubscribe", arg)
    for word in _SUBSCRIBE_WORDS:
        if s.startswith(word):
            arg = _owner_arg(s[len(word) :])
            return None if arg is None else Command("subscribe", arg)
    if len(s) > _MAX_TEXT:
        return None
    low = s[:8].lower()
    for word in _SEARCH_WORDS_EN:
        if low.startswith(word) and s[len(word) : len(word) + 1] in (" ", "\u3000", ":", "："):
            return _search(s[len(word) :], spaced=True, mentioned=mentioned)
    for word in _SEARCH_WORDS:
        if s.startswith(word):
            rest = s[len(word) :]
            if not rest.strip(_SEPARATORS):
                return None
            return _search(rest, spaced=rest[0] in _SEPARATORS, mentioned=mentioned)
    if mentioned:
        return _search(s, spaced=True, mentioned=True)
    return None


# --------------------------------------------------------------------------------------------- filter

_HINT_RE = re.compile(
    r"taobao\.|tmall\.|tb\.cn|goofish\.|jd\.|3\.cn|yangkeduo\.|pinduoduo\.|store\.weixin|mmbizurl\."
    rf"|[{_DELIMS}][ \u3000]*(?:[A-Z]{{2}}\d{{4}}[ \u3000]+)?[A-Za-z0-9]{{8,20}}[ \u3000]*[{_DELIMS}]",
    re.IGNORECASE,
)


def may_be_request(text: str) -> bool:
    """Cheap pre-filter: False means no product reference and no command word in the text.

    It does not know about @mentions: a message that mentions the bot must bypass it.
    """
    s = text.lstrip()
    if s[:1] == "/":
        s = s[1:].lstrip()
    if s[:8].lower().startswith(_PREFIXES):
        return True
    return _HINT_RE.search(text) is not None


__all__ = [
    "Command",
    "CommandKind",
    "Platform",
    "ProductRef",
    "RefKind",
    "find_product_refs",
    "may_be_request",
    "parse_command",
]
