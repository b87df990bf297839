"""Hostile message generators for the property tests: what an attacker or a bad day sends a bot.

Fragments are glued together at random, so one message may hold a zero-width space inside 订阅, a
link nested in a link, a 淘口令 lookalike and a template injection at once.
"""

from __future__ import annotations

from hypothesis import strategies as st

ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\u2066"]
CONTROL = [chr(c) for c in (*range(0, 32), 127, *range(0x80, 0xA0))]
COMMAND_WORDS = [
    "找",
    "搜",
    "买",
    "查",
    "帮我找",
    "find ",
    "search ",
    "订阅",
    "退订",
    "取消订阅",
    "订阅状态",
    "帮助",
    "help",
    "/",
]
CURRENCIES = list("￥$€₤₳¢¤฿₵₡₫ƒ₲₭£₥₦₱〒₮₩₴₪៛﷼₢ℳ₸₺₼₽")
INJECTIONS = [
    "{{ 7*7 }}",
    "{{ ''.__class__.__mro__ }}",
    "{% for i in range(99999) %}x{% endfor %}",
    "${jndi:ldap://127.0.0.1/a}",
    "'; DROP TABLE groups; --",
    '" OR 1=1 --',
    "<script>alert(1)</script>",
    "%s%s%s%n",
    "../../../../etc/passwd",
    "\\x00\\u0000",
    "@推客小助手",
    "@所有人",
    "\u202egnp.exe",
]
HOSTS = [
    "item.taobao.com/item.htm?id=",
    "detail.tmall.com/item.htm?id=",
    "m.tb.cn/h.",
    "item.jd.com/",
    "u.jd.com/",
    "mobile.yangkeduo.com/goods.html?goods_id=",
    "store.weixin.qq.com/shop/a/",
    "a.m.taobao.com/i",
    "3.cn/",
]

_alnum = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", min_size=0, max_size=24
)
_digits = st.text(alphabet="0123456789", min_size=0, max_size=18)


@st.composite
def links(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["https://", "http://", "HTTPS://", "", "hTtP://"]))
    host = draw(st.sampled_from(HOSTS))
    tail = draw(st.one_of(_digits, _alnum))
    extra = draw(st.sampled_from(["", ".html", "?tk=", "&id=", "#", "&amp;id=1", ".htm", "/"]))
    return scheme + host + tail + extra + draw(_alnum)


@st.composite
def nested_links(draw: st.DrawFn) -> str:
    """A link whose query holds a link whose query holds a link …"""
    depth = draw(st.integers(1, 12))
    out = draw(links())
    for _ in range(depth):
        out = draw(links()) + draw(st.sampled_from(["?u=", "&url=", "?redirect=", "/"])) + out
    return out


@st.composite
def huge_link(draw: st.DrawFn) -> str:
    size = draw(st.integers(1_000, 60_000))
    return draw(st.sampled_from(["https://", ""])) + draw(st.sampled_from(HOSTS)) + "9" * size


@st.composite
def tpwd_noise(draw: st.DrawFn) -> str:
    """淘口令 lookalikes: currency signs or brackets around alphanumerics, often malformed."""
    left = draw(st.sampled_from([*CURRENCIES, "(", "（", "【", "/"]))
    right = draw(st.sampled_from([*CURRENCIES, ")", "）", "】", "/", ""]))
    prefix = draw(st.sampled_from(["", "CZ0001 ", "HU9196 ", " "]))
    return left + prefix + draw(_alnum) + right


def _spice(text: str, noise: list[str], positions: list[int]) -> str:
    for pos, bit in zip(positions, noise, strict=False):
        cut = pos % (len(text) + 1)
        text = text[:cut] + bit + text[cut:]
    return text


@st.composite
def hostile_text(draw: st.DrawFn) -> str:
    """One message built from hostile fragments, with zero-width and control characters sprinkled in."""
    fragment = st.one_of(
        st.text(max_size=40),  # any unicode (no lone surrogates: st.text leaves them out)
        st.sampled_from(COMMAND_WORDS),
        st.sampled_from(INJECTIONS),
        links(),
        nested_links(),
        tpwd_noise(),
        st.text(alphabet=st.sampled_from(ZERO_WIDTH + CONTROL), max_size=12),
        st.just("\n"),
        st.text(alphabet="蓝牙耳机充电宝抽纸手机壳 ，。！？", max_size=20),
    )
    parts = draw(st.lists(fragment, max_size=8))
    sep = draw(st.sampled_from(["", " ", "\u3000", "\n", "\u200b"]))
    text = sep.join(parts)
    noise = draw(st.lists(st.sampled_from(ZERO_WIDTH + CONTROL), max_size=4))
    positions = draw(st.lists(st.integers(0, 10_000), min_size=len(noise), max_size=len(noise)))
    return _spice(text, noise, positions)


def messages() -> st.SearchStrategy[str]:
    """Everything, with the occasional huge link."""
    return st.one_of(hostile_text(), hostile_text(), hostile_text(), huge_link())
