"""Recognise product links and 口令 in a chat message. Pure functions, no I/O, linear time.

Taobao share texts carry one product in up to three forms (short link, its ``tk=`` code, a 淘口令 between
currency signs). They come back as ONE reference, the most specific form: an item id if a link gives one,
else the short link with the code filled in as ``code`` (so the caller can query the code directly or
resolve the link), else the bare 淘口令. JD share texts work the same way (``3.cn`` link, ``jkl=@…@``, the
``NN:/！…！`` 口令).

Not everything that looks like a Taobao share is a product: a 闲鱼 listing rides on m.tb.cn too and comes
back labelled ``not_product="xianyu"`` (so the member hears why, without a lookup); a sentence that only
mentions a domain ("淘宝链接是 m.tb.cn 开头") is nothing; links of platforms no league serves (唯品会,
抖音, 小红书) come back under their own platform, never mistaken for another one.

Cost: every pattern here is a single left-to-right scan (no nested quantifiers over unbounded spans);
per-candidate work looks at a bounded neighbourhood, and span lookups use bisection. Only the first
`MAX_INSPECT` characters of a message are read: a share text is a few hundred characters, a list of a
dozen of them a few thousand; anything longer is an article or a forward, not a request.
(`bot.handlers.parse` puts this together with the command grammar of `bot.handlers.commands`.)
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Literal
from urllib.parse import SplitResult, urlsplit

from bot.config import Settings
from bot.leagues import registry
from bot.leagues.links import Recognise, code_shape_ok, real_token, under
from bot.leagues.plugin import LeaguePlugin, load

Platform = str
"""A registered league's name (`bot.leagues.registry`; `taobao` covers Tmall and Tmall Global too), or
`xiaohongshu` / `douyin`: recognised so the member hears "暂不支持" instead of a wrong guess."""
RefKind = Literal["item", "short_link", "tpwd"]
MAX_INSPECT = 4000
"""Characters of a message the recogniser reads (the rest is ignored). Long messages are not share texts,
and the cap bounds the work any one message can cost the event loop."""


MAX_CANDIDATES = 100
"""Link or 口令 candidates the recogniser judges per message: a list of a dozen share texts has a few dozen;
a message with hundreds is a flood. With `MAX_INSPECT`, this keeps the worst message to a fraction of a
millisecond, so parsing never needs to leave the event loop."""


@dataclass(frozen=True, slots=True)
class ProductRef:
    """One product the member pointed at.

    kind ``item``: the product id is in the text (``id`` set). ``short_link``: a link that must be
    resolved by redirect or league API (``id`` None; ``code`` set when the share text carried a 口令).
    ``tpwd``: a bare share 口令 (``code`` set, ``url`` None) — a 淘口令, or a JD 口令 when ``platform`` is
    ``jd``. For PDD, ``id`` is the ``goods_sign`` when the link carries one (what the 多多进宝 APIs take),
    else the numeric ``goods_id``. Ids are strings: never assume digits.
    """

    platform: Platform
    kind: RefKind
    id: str | None
    code: str | None
    url: str | None
    """The link as written in the message (trailing punctuation removed), or None."""
    start: int
    """Offset in the text where the reference begins; references come back in this order."""
    not_product: str | None = None
    """Why this is not an alliance product, or None for a product: ``xianyu`` (a 闲鱼 second-hand listing:
    its share text rides on m.tb.cn like a Taobao one). Answer it with an explanation, never a lookup."""
    title: str | None = None
    """The product title the share text quotes (「…」 or 『…』 in the same paragraph), for a short link or
    口令: when the league cannot read the code (expired, someone else's), the title is searched instead."""


# --------------------------------------------------------------------------------------------- scanning

# ASCII only: a URL ends at the first Chinese character or punctuation (，。）「 ...), so
# "…htm?id=123，快看" never swallows the comma. `$`, `(`, `)`, `[`, `]` are left out because they delimit
# 淘口令 and Markdown links.
_URL_CHARS = r"A-Za-z0-9\-._~:/?#@&+,;=%!*"
_URL = (
    rf"[Hh][Tt][Tt][Pp][Ss]?://[{_URL_CHARS}]+"
    # Scheme-less with its slashes ("//3.cn/…", copied from a page's markup), read as the host onwards.
    rf"|(?<![A-Za-z0-9:/])//(?:[A-Za-z0-9\-]+\.)+(?:com|cn|hk)(?![A-Za-z0-9\-])(?::\d+)?(?:/[{_URL_CHARS}]*)?"
    # Without a scheme only hosts under the TLDs the platforms use, not glued to a word or an e-mail.
    rf"|(?<![A-Za-z0-9@._/\-])(?:[A-Za-z0-9\-]+\.)+(?:com|cn|hk)(?![A-Za-z0-9\-])(?::\d+)?(?:/[{_URL_CHARS}]*)?"
)
# One scan finds links and 口令 candidates (a run of 8-20 letters and digits), so a candidate never
# starts inside a link and no span needs checking afterwards.
_SCAN = re.compile(rf"(?P<url>{_URL})|(?<![A-Za-z0-9])(?P<code>[A-Za-z0-9]{{8,20}})(?![A-Za-z0-9])")
URL_RE = re.compile(_URL)
"""A link anywhere in a text (what a search keyword must not carry)."""
_TRAILING = ".,;:?!~&#*"

_ANY_ID_PARAM = re.compile(r"(?:^|[?&;])(?:amp;)?id=(\d{5,25})(?=$|[&#;])")
_XHS_GOODS_PATH = re.compile(r"^/goods-detail/([0-9a-fA-F]{16,32})/?$")


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
    not_product: str | None = None
    needs: str = ""
    """A condition on the surrounding text: "shop" (a video/note link counts only in a shopping share),
    "taobao" (a link on an unknown host counts only inside a Taobao share text)."""


_Make = Callable[..., "_Found"]
"""found(platform, kind, ident=None, code=None, needs="") → the reference for the link being classified."""


def _classify(url: str, start: int) -> _Found | None:
    parts = _split(url)
    if parts is None or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    path, query = parts.path, parts.query
    end = start + len(url)

    def found(
        platform: Platform, kind: RefKind, ident: str | None = None, code: str | None = None, needs: str = ""
    ) -> _Found:
        return _Found(platform, kind, ident, code, url, start, end, needs=needs)

    own = _OWN_HOSTS.get(host)
    for plugin, recognise in _recognisers():
        if plugin.name == own or under(host, *plugin.link_hosts):
            match = recognise(host, path, query)
            if match is None:
                return None
            ref = found(plugin.name, match.kind, match.ident, match.code)
            ref.not_product = match.not_product
            return ref
    return _elsewhere(host, path, query, found)


_OWN_HOSTS: dict[str, str] = {}
"""The operator's own domains (a shop's storefront) → the league whose links they carry; set from the
config when a process starts (`use_own_hosts`)."""


def use_own_hosts(settings: Settings) -> None:
    """Read links on the enabled leagues' configured own domains (`LeaguePlugin.own_hosts`) as theirs,
    for the rest of this process: the operator's shop at shop.example.com, not only *.myshopify.com."""
    hosts: dict[str, str] = {}
    for plugin in registry.LEAGUES:
        if plugin.own_hosts and plugin.links and plugin.enabled(settings):
            for host in load(plugin.own_hosts)(plugin.table(settings)):
                hosts[host] = plugin.name
    _OWN_HOSTS.clear()
    _OWN_HOSTS.update(hosts)


@cache
def _recognisers() -> tuple[tuple[LeaguePlugin, Recognise], ...]:
    """Each registered league with link hosts, and its recogniser (loaded once)."""
    return tuple((plugin, load(plugin.links)) for plugin in registry.LEAGUES if plugin.links)


def _elsewhere(host: str, path: str, query: str, found: _Make) -> _Found | None:
    """The platforms no league serves (recognised so the member hears so); else a third-party redirect
    host that may wrap a Taobao product."""
    # weixin.qq.com/sph/… is a Channels video, not a product: nothing to do.
    if under(host, "jinritemai.com"):
        m = _ANY_ID_PARAM.search(query)
        return found("douyin", "item", m.group(1)) if m else None
    if host in ("v.douyin.com", "z.douyin.com"):
        return found("douyin", "short_link", needs="shop") if real_token(path) else None
    if under(host, "xiaohongshu.com"):
        m = _XHS_GOODS_PATH.match(path)
        return found("xiaohongshu", "item", m.group(1)) if m else None
    if host == "xhslink.com":
        return found("xiaohongshu", "short_link", needs="shop") if path.strip("/") else None
    if path.strip("/") and host.rpartition(".")[2].isalpha() and not under(host, "qq.com", "goofish.com"):
        # Taobao share texts from third-party tools wrap the product in their own redirect host.
        return found("taobao", "short_link", needs="taobao")
    return None


# --------------------------------------------------------------------------------------------- 口令

_JOINERS = "\ufe0f\ufe0e\u200d\u200b"
_SKIP = " \u3000" + _JOINERS
"""Between a 口令 and its delimiter: spaces, emoji variation selectors, zero-width joiners."""
_CLIENT_TAG = re.compile(r"[A-Z]{2}\d{4}")
# Parentheses, slashes and emoji appear in ordinary chat ("(iPhone15Pro)", "/Documents/") and in product
# titles ("「手机壳适用(iPhone15Pro)」"). A code between them counts only when it is the message's one
# Taobao signal (no link, no strong code), sits outside a title, and the message talks about Taobao, as
# every real share text does.
_WEAK_MARKS = frozenset("()（）《》〈〉/／|｜")
_TAOBAO_CONTEXT = re.compile(r"淘宝|淘寳|淘♂寳|tao宝|天猫|淘口令|口令|手淘|tb|taobao|tmall", re.IGNORECASE)
_TAOBAO_SHARE = re.compile(
    r"【(?:淘宝|天猫|手淘)|淘宝搜索|(?:打开|打開|咑閞)👉?(?:淘宝|淘寳|手淘|天猫)|淘♂寳|淘寳|tao宝|淘口令",
    re.IGNORECASE,
)
_JD_CONTEXT = re.compile(r"京东|jd\.com|3\.cn", re.IGNORECASE)
_TAOBAO_NAMED = re.compile(r"淘宝|淘寳|淘♂寳|tao宝|天猫|手淘|taobao|tmall|tb\.cn", re.IGNORECASE)
_TITLE_RE = re.compile(r"「[^「」\n]*」|『[^『』\n]*』|【[^【】\n]*】")
_PERCENT = frozenset("%％")
_JD_MARKS = frozenset("！!")
_JD_OR_YEN = frozenset("！!￥¥")
_XX_PREFIX = re.compile(r"(?<!\d)\d{1,3}:/[ \u3000]*$")
_COPY_VERB = ("复制", "復制", "覆制", "復zhi", "复zhi")
# What 闲鱼's own share texts say (not every mention of 闲鱼: "闲鱼上没有，淘宝这个便宜 <link>" is a request).
_XIANYU = re.compile(
    r"【闲鱼】|【閑魚】|在闲鱼发布|打开闲鱼|打開閑魚|闲鱼(?:APP|App|app|号)|goofish|xianyu", re.IGNORECASE
)
_NEWLINE = re.compile(r"\n")
_SHOP_CONTEXT = re.compile(r"商品|商城|店铺|橱窗|下单|购买")


def _mixed(code: str) -> bool:
    """Random base62 mixes at least two of upper case, lower case and digits; words rarely do."""
    return (
        sum((any(c.isupper() for c in code), any(c.islower() for c in code), any(c.isdigit() for c in code)))
        >= 2
    )


def _category(ch: str) -> str:
    return unicodedata.category(ch) if ch else ""


def _left(text: str, i: int) -> tuple[str, int, bool]:
    """The delimiter left of offset i (skipping spaces and one client tag), its offset, and if a tag was seen."""
    tag = False
    j = i - 1
    for _ in range(2):
        stop = j - 4
        while j >= 0 and j > stop and text[j] in _SKIP:
            j -= 1
        if (
            not tag
            and j >= 5
            and _CLIENT_TAG.fullmatch(text, j - 5, j + 1)
            and (j < 6 or not text[j - 6].isalnum())
        ):
            tag = True
            j -= 6
            continue
        break
    return (text[j] if j >= 0 else ""), j, tag


def _right(text: str, i: int) -> tuple[str, int, bool]:
    """The delimiter right of offset i (exclusive end of a code), like `_left`."""
    tag = False
    j = i
    n = len(text)
    for _ in range(2):
        stop = j + 4
        while j < n and j < stop and text[j] in _SKIP:
            j += 1
        if (
            not tag
            and j + 6 <= n
            and _CLIENT_TAG.fullmatch(text, j, j + 6)
            and (j + 6 == n or not text[j + 6].isalnum())
        ):
            tag = True
            j += 6
            continue
        break
    return (text[j] if j < n else ""), j, tag


def _code_at(text: str, start: int, end: int) -> tuple[_Found, bool] | None:
    """A 口令 candidate judged by its neighbours: (reference, strong) or None.

    Strong: a currency-like sign on either side (￥ ¥ $ € £ ₤ ₳ ₴ … — every Unicode currency sign), the
    `NN:/` prefix of newer share texts, a copy verb right before it (`1復制(…)`), or a client tag next to it
    (`CZ3457`). Weak: bracket, slash or emoji marks around it (`(…)`, `《…《`, `👈…啊`).
    """
    code = text[start:end]
    if not code_shape_ok(code):
        return None
    lch, lpos, ltag = _left(text, start)
    rch, rpos, rtag = _right(text, end)
    if rch in _PERCENT:  # `￥9BDF5AC4A2A7D3%`: the pre-2020 JD 口令, which no API looks up any more
        return None
    lcat, rcat = _category(lch), _category(rch)
    if (lch.isascii() and lch.isalnum()) or (rch.isascii() and rch.isalnum()):
        return None
    before = text[max(0, lpos - 7) : lpos + 1]
    xx = _XX_PREFIX.search(text, max(0, lpos - 7), lpos + 1) if lpos >= 0 else None
    if xx is None and lch in _JD_OR_YEN:
        xx = _XX_PREFIX.search(text, max(0, lpos - 7), lpos)
    platform: Platform = "taobao"
    if xx is not None and (lch in _JD_MARKS or rch in _JD_MARKS):
        platform = "jd"
    # The reference starts at its left delimiter when there is one (`￥` of `￥…￥`, `(` of `(…)`).
    at = lpos if lpos >= 0 and lcat[:1] in ("S", "P") else start
    found = _Found(platform, "tpwd", None, code, None, at, end)
    copy = before.endswith(_COPY_VERB) or before[:-1].endswith(_COPY_VERB)
    # One currency sign is enough only when it touches the code: "iPhone15Pro ￥5999" is a price.
    ladj = lpos >= 0 and not text[lpos + 1 : start].strip(_JOINERS)
    radj = rpos < len(text) and not text[end:rpos].strip(_JOINERS)
    if lcat == "Sc" and rcat == "Sc":
        return found, True
    if ladj and radj and _wrapped_share_code(text, code, lch, rch, lpos, lcat, rcat):
        return found, True
    if (lcat == "Sc" and ladj) or (rcat == "Sc" and radj) or xx is not None or ltag or rtag or copy:
        return found, True
    lmark = lch in _WEAK_MARKS or lcat[:1] == "S"  # symbols: emoji, ~ ^ < > and the like
    rmark = rch in _WEAK_MARKS or rcat[:1] == "S"
    weak = (lmark and (rmark or rcat == "Lo")) or (rmark and lcat == "Lo")
    if weak and ladj and radj and _mixed(code):  # marks around a code touch it: "(…)", "👈…啊"
        return found, False
    return None


_POINTER_PREFIX = re.compile("\\d{1,3}\U0001f448[\ufe0f\ufe0e]?$")
"""`1👈`: the prefix of the newer Taobao share text, right before the character that opens the code."""
_TPWD_LEN = 11
"""A Taobao share code is eleven random base62 characters."""


def _wrapped_share_code(text: str, code: str, lch: str, rch: str, lpos: int, lcat: str, rcat: str) -> bool:
    """A Taobao share code in the wrappings its apps use instead of ￥…￥, strong without a word of
    Taobao around it: a different emoji on each side ("🎵e2Nocj7Tx1g📲"), or the newer `数字👈` format with the
    code between the same Chinese character twice ("1👈啊5NKkX84wYdk啊"). Eleven characters mixing upper
    case, lower case and digits, as a random code does and a word between emoji ("🎉HappyNewYear🎉") does not."""
    if len(code) != _TPWD_LEN or not (
        any(c.isupper() for c in code) and any(c.islower() for c in code) and any(c.isdigit() for c in code)
    ):
        return False
    if lcat == "So" and rcat == "So":
        return lch != rch  # one emoji on both sides is decoration: "🔥iPhone15Pro🔥"
    return lch == rch and lcat == "Lo" and _POINTER_PREFIX.search(text, max(0, lpos - 5), lpos) is not None


# --------------------------------------------------------------------------------------------- refs


def _spans_contain(spans: list[tuple[int, int]], starts: list[int], pos: int) -> bool:
    i = bisect_right(starts, pos) - 1
    return i >= 0 and spans[i][0] <= pos < spans[i][1]


_BLANK_LINE = re.compile(r"\n[ \t\u3000]*\n")


def _pair_codes(text: str, found: list[_Found]) -> list[_Found]:
    """Fold a 口令 into the link of the same platform next to it when both are one share text.

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
            if link.platform != ref.platform or link.kind == "tpwd" or link.paired:
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


def _paragraphs(text: str) -> tuple[list[tuple[int, int]], list[int]]:
    spans: list[tuple[int, int]] = []
    at = 0
    for m in _BLANK_LINE.finditer(text):
        spans.append((at, m.start()))
        at = m.end()
    spans.append((at, len(text)))
    return spans, [a for a, _ in spans]


def _nearest(
    found: list[_Found], starts: list[int], newlines: list[int], pos: int, lo: int, hi: int
) -> _Found | None:
    """The reference nearest to offset pos within [lo, hi): one on the same line first, then the closer."""
    i = bisect_right(starts, pos)
    best: _Found | None = None
    best_key = (0, 0)
    for f in found[max(0, i - 1) : i + 1]:
        if not (lo <= f.start < hi):
            continue
        a, b = (pos, f.start) if f.start > pos else (f.end, pos)
        key = (bisect_right(newlines, b) - bisect_right(newlines, a), max(0, b - a))
        if best is None or key < best_key:
            best, best_key = f, key
    return best


def _scan(text: str, most: int | None, cut: int | None) -> tuple[list[_Found], list[_Found], list[_Found]]:
    """Links and 口令 candidates, judged; at most `most` candidates; one that runs into `cut` (where a long
    message was cut off) is dropped rather than read short."""
    links: list[_Found] = []
    strong: list[_Found] = []
    weak: list[_Found] = []
    for n, m in enumerate(_SCAN.finditer(text)):
        if most is not None and n >= most:
            break
        if m.end() == cut:
            break
        if m.lastgroup == "url":
            url = m.group(0).rstrip(_TRAILING)
            at = m.start()
            if url.startswith("//"):  # "//3.cn/…": the link is the host onwards, like "3.cn/…"
                url, at = url[2:], at + 2
            if url:
                ref = _classify(url, at)
                if ref is not None:
                    links.append(ref)
            continue
        judged = _code_at(text, m.start(), m.end())
        if judged is not None:
            (strong if judged[1] else weak).append(judged[0])
    return links, strong, weak


def _in_context(text: str, found: list[_Found]) -> list[_Found]:
    """Apply what the surrounding text says: a 闲鱼 share is labelled not-a-product; video/note links count
    only in a shopping share; an unknown-host link counts only inside a Taobao share text with no other link."""
    if not found or (not any(f.needs for f in found) and _XIANYU.search(text) is None):
        return found
    paras, para_starts = _paragraphs(text)
    starts = [f.start for f in found]
    newlines = [m.start() for m in _NEWLINE.finditer(text)] if "\n" in text else []
    xianyu: set[int] = set()
    for m in _XIANYU.finditer(text):
        lo, hi = paras[bisect_right(para_starts, m.start()) - 1]
        ref = _nearest(found, starts, newlines, m.start(), lo, hi)
        if ref is not None and ref.platform == "taobao" and ref.kind != "item":
            xianyu.add(id(ref))
    links_in: dict[int, int] = {}
    for f in found:
        if f.kind != "tpwd":
            p = bisect_right(para_starts, f.start) - 1
            links_in[p] = links_in.get(p, 0) + 1
    says: dict[int, tuple[bool, bool]] = {}
    out: list[_Found] = []
    for f in found:
        if id(f) in xianyu:
            f.not_product = "xianyu"
        if f.needs:
            p = bisect_right(para_starts, f.start) - 1
            if p not in says:  # each paragraph is read once, however many links it holds
                para = text[paras[p][0] : paras[p][1]]
                says[p] = (_SHOP_CONTEXT.search(para) is not None, _TAOBAO_SHARE.search(para) is not None)
            shop, taobao = says[p]
            if f.needs == "shop" and not shop:
                continue
            if f.needs == "taobao" and (links_in[p] > 1 or not taobao):
                continue
        out.append(f)
    return out


def find_product_refs(text: str, *, limit: int | None = MAX_INSPECT) -> list[ProductRef]:
    """Every product reference in the message, in order of appearance, each product once.

    Only the first `limit` characters and `MAX_CANDIDATES` link or 口令 candidates are read (None reads
    everything; tests use it to show the scan is linear); a link cut by the limit is dropped rather than
    read short.
    """
    cut = None
    if limit is not None and len(text) > limit:
        text = text[:limit]
        cut = limit
    links, strong, weak = _scan(text, None if limit is None else MAX_CANDIDATES, cut)
    codes = strong
    if (
        weak
        and not strong
        and not any(f.platform == "taobao" for f in links)
        and _TAOBAO_CONTEXT.search(text)
    ):
        titles = [m.span() for m in _TITLE_RE.finditer(text)]
        title_starts = [a for a, _ in titles]
        codes = [f for f in weak if not _spans_contain(titles, title_starts, f.start)]
    found = sorted(links + codes, key=lambda f: f.start) if codes else links
    # A strong code reads as Taobao unless the message is a JD share and not a Taobao one: one that
    # says 京东 in its words (a JD link beside a ￥…￥ code is two products, as a JD share carries its
    # code inside the link, `jkl=`).
    if (
        codes
        and _JD_CONTEXT.search(URL_RE.sub(" ", text) if links else text)
        and not _TAOBAO_NAMED.search(text)
    ):
        for f in codes:
            f.platform = "jd"
    found = _in_context(text, found)
    if codes and links:
        found = _pair_codes(text, found)
    title_at = _quoted_titles(text) if any(f.kind != "item" for f in found) else None
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
        title = title_at(f.start) if title_at is not None and f.kind != "item" else None
        out.append(ProductRef(f.platform, f.kind, f.id, f.code, f.url, f.start, f.not_product, title))
    return out


_QUOTED_TITLE = re.compile(r"「([^「」\n]{4,100})」|『([^『』\n]{4,100})』")


def _quoted_titles(text: str) -> Callable[[int], str | None]:
    """offset → the title quoted in the paragraph of that offset (the first one), or None."""
    _paras, starts = _paragraphs(text)
    by_para: dict[int, str] = {}
    for m in _QUOTED_TITLE.finditer(text):
        p = bisect_right(starts, m.start()) - 1
        title = " ".join((m.group(1) or m.group(2)).split())
        if p not in by_para and title and not _XIANYU.search(title):
            by_para[p] = title

    def at(pos: int) -> str | None:
        return by_para.get(bisect_right(starts, pos) - 1)

    return at


def _url_key(url: str) -> str:
    """The same short link with or without scheme, in any host case, is one product."""
    _scheme, sep, rest = url.partition("://")
    rest = rest if sep else url
    host, slash, tail = rest.partition("/")
    host = host.lower()
    if host.endswith("tb.cn") or host in _TOKEN_PATH_HOSTS:
        tail = tail.partition("?")[0]  # the token is the path; `?tk=` repeats the code, `?s=` tracks
    return host + slash + tail


_TOKEN_PATH_HOSTS = frozenset({"u.jd.com", "3.cn"})
"""Short-link hosts whose path alone names the product (the query only tracks the share)."""
