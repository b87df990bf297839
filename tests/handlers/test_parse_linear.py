"""No message can freeze the bot: parsing is linear in the text, and capped on top of that.

Each adversarial input is 1 MB, shaped after what made the old recogniser quadratic (an unclosed title
bracket run, thousands of link + 口令 pairs) and after every per-candidate path of the new one. Times are
ratios to parsing 1 MB of ordinary chat in the same process, in CPU time, so the test holds on a slow or
busy machine: a linear parser stays within a small multiple, a quadratic one is hundreds of times slower
at this size.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from bot.handlers.parse import MAX_INSPECT, find_product_refs, may_be_request, parse_command

MB = 1_000_000
LINEAR_BOUND = 40.0
"""Uncapped: adversarial time ÷ plain-text time. Measured 0.5–12 on a loaded 2-core machine."""
CAPPED_BOUND = 0.25
"""Capped (what the bot runs): adversarial time ÷ uncapped plain-text time. Measured ≤ 0.02."""


def fill(unit: str, size: int = MB) -> str:
    return (unit * (size // len(unit) + 1))[:size]


CHAT = (
    "今天天气不错，晚上一起吃火锅吗\n哈哈哈哈哈\n好的，谢谢老板\n明天几点开会？\n"
    "买了个新手机，拍照挺好的 😂\n有人拼车去机场吗，明早7点\nok 收到 v2.0 更新了\n"
)

ADVERSARIAL = {
    "unclosed title brackets": "淘宝 (abcd1234) " + fill("「", MB - 20),
    "links and codes": fill("http://a.com ¥abcd1234¥ "),
    "dotted run": fill("a."),
    "alnum run": fill("a"),
    "闲鱼 markers and links": fill("闲鱼APP m.tb.cn/h.Ab3dEf "),
    "redirect links in one share": "【淘宝】" + fill("https://kurl.cn/Zx8Cv6 "),
    "weak codes inside titles": "淘宝 " + fill("「(Ab3dEf7Gh9J) "),
    "client tags": fill("CZ3457 Ab3dEf7Gh9J "),
    "currency signs": fill("￥"),
    "xx:/ prefixes": fill("1:/！"),
}


def _seconds(fn: Callable[[str], object], text: str) -> float:
    start = time.process_time()
    fn(text)
    return time.process_time() - start


@pytest.fixture(scope="module")
def plain_seconds() -> float:
    plain = fill(CHAT)
    return min(_seconds(lambda t: find_product_refs(t, limit=None), plain) for _ in range(3))


def _ratio_within(fn: Callable[[str], object], text: str, base: float, bound: float) -> float:
    """Best of up to three runs, stopping at the first within the bound (a busy machine gets retries)."""
    best = float("inf")
    for _ in range(3):
        best = min(best, _seconds(fn, text) / base)
        if best <= bound:
            break
    return best


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_parsing_is_linear(name: str, plain_seconds: float) -> None:
    ratio = _ratio_within(
        lambda t: find_product_refs(t, limit=None), ADVERSARIAL[name], plain_seconds, LINEAR_BOUND
    )
    assert ratio <= LINEAR_BOUND, f"{name}: {ratio:.1f}× plain text"


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_what_the_bot_runs_is_capped(name: str, plain_seconds: float) -> None:
    text = ADVERSARIAL[name]

    def bot_path(t: str) -> None:
        if may_be_request(t):
            find_product_refs(t)
        parse_command(t, mentioned=True)

    ratio = _ratio_within(bot_path, text, plain_seconds, CAPPED_BOUND)
    assert ratio <= CAPPED_BOUND, f"{name}: {ratio:.3f}× parsing 1 MB of plain text"


def test_the_cap_reads_a_share_text_at_the_top_of_a_long_message() -> None:
    share = "【淘宝】https://m.tb.cn/h.5AMOUBE?tk=o63GWJTAyv1 CZ0002 「小米充电宝」\n"
    refs = find_product_refs(share + fill(CHAT, 200_000))
    assert [r.code for r in refs] == ["o63GWJTAyv1"]
    assert find_product_refs(fill(CHAT, 200_000) + share) == []


def test_a_link_cut_by_the_cap_is_dropped_not_read_short() -> None:
    link = "https://item.taobao.com/item.htm?id=612345678901"
    text = "x" * (MAX_INSPECT - 20) + " " + link
    assert find_product_refs(text) == []
    assert [r.id for r in find_product_refs(text, limit=None)] == ["612345678901"]
