"""The filters operator templates use (`yuan`, `percent`, `shorten`, `time`, `date`, `datetime`,
`weekday`, `coupon_summary`, `count`) and the width-aware cutting they share with the renderer's
one-message limit (`cut`).

Amounts are whole fen and ratios parts per million or permille: integer arithmetic only, never a float.
Widths are chat-bubble columns (CJK counts 2), and a cut never parts a character from what clings to it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, tzinfo
from typing import Protocol

from jinja2 import Undefined

ELLIPSIS = "…"

_CLINGING = frozenset("\ufe0e\ufe0f\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff")
"""Variation selectors and skin-tone modifiers: drawn as part of the character before them."""


def _whole(value: object) -> None:
    """A missing variable reports itself as missing, not as a type error in the filter."""
    if isinstance(value, Undefined):
        str(value)  # StrictUndefined raises UndefinedError naming the variable


def yuan(fen: int) -> str:
    """12.90 yuan from 1290 fen, with integer arithmetic: `¥12.90`, `¥0.00`, `-¥5.00`."""
    _whole(fen)
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"yuan expects whole fen (int), got {type(fen).__name__}")
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole}.{cents:02d}"


def _trimmed_decimal(value: int, scale: int) -> str:
    """`value / scale` with as many decimals as needed (no float): 125, 10 -> "12.5"; 90, 10 -> "9"."""
    sign = "-" if value < 0 else ""
    whole, rest = divmod(abs(value), scale)
    if not rest:
        return f"{sign}{whole}"
    digits = len(str(scale)) - 1
    return f"{sign}{whole}.{rest:0{digits}d}".rstrip("0")


def percent(ppm: int) -> str:
    """A parts-per-million ratio as a percentage: 150000 -> `15%`, 125000 -> `12.5%` (2 decimals max)."""
    _whole(ppm)
    if isinstance(ppm, bool) or not isinstance(ppm, int):
        raise TypeError(f"percent expects parts per million (int), got {type(ppm).__name__}")
    hundredths = (abs(ppm) + 50) // 100 * (1 if ppm >= 0 else -1)
    return _trimmed_decimal(hundredths, 100) + "%"


def _short_yuan(fen: int) -> str:
    """Amounts in coupon wording read like price tags: 9900 -> "99", 1990 -> "19.9"."""
    return _trimmed_decimal(fen, 100)


class CouponLike(Protocol):
    """The fields of `bot.leagues.base.Coupon` the summary reads (render does not import leagues)."""

    @property
    def amount_fen(self) -> int: ...
    @property
    def threshold_fen(self) -> int: ...
    @property
    def discount_permille(self) -> int: ...


def coupon_summary(coupon: CouponLike | None) -> str:
    """How shoppers say it: `满99减20`, `无门槛减5元`, `9.5折`, `满199享8.8折`; "" for no coupon."""
    if coupon is None:
        return ""
    if coupon.discount_permille > 0:
        rate = _trimmed_decimal(coupon.discount_permille, 100) + "折"
        if coupon.threshold_fen > 0:
            return f"满{_short_yuan(coupon.threshold_fen)}享{rate}"
        return rate
    if coupon.threshold_fen > 0:
        return f"满{_short_yuan(coupon.threshold_fen)}减{_short_yuan(coupon.amount_fen)}"
    return f"无门槛减{_short_yuan(coupon.amount_fen)}元"


def count(number: int) -> str:
    """Sales as shoppers read them: 356 -> `356`, 23456 -> `2.3万`, 123456789 -> `1.2亿` (rounded down)."""
    _whole(number)
    for scale, unit in ((100_000_000, "亿"), (10_000, "万")):
        if abs(number) >= scale:
            return _trimmed_decimal(number * 10 // scale, 10) + unit
    return str(number)


def char_width(char: str) -> int:
    """Columns a character takes in a chat bubble: CJK wide/fullwidth 2, combining marks 0, else 1."""
    if unicodedata.combining(char) or unicodedata.category(char) == "Cf" or char in _CLINGING:
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def display_width(text: str) -> int:
    return sum(char_width(c) for c in text)


def _clusters(text: str) -> Iterator[str]:
    """Characters with what clings to them (combining marks, variation selectors, ZWJ sequences)."""
    cluster = ""
    for char in text:
        joins = bool(cluster) and (char_width(char) == 0 or cluster.endswith("\u200d"))
        if cluster and not joins:
            yield cluster
            cluster = ""
        cluster += char
    if cluster:
        yield cluster


def shorten(text: str, width: int = 40) -> str:
    """At most `width` display columns, ending in `…` when cut; never splits a character, and cuts
    where a word or phrase ends (a space or punctuation: titles are phrases in a row, and `适用苹…`
    reads badly) unless that would throw away more than half of what fits."""
    text = str(text)
    if display_width(text) <= width:
        return text
    budget = width - display_width(ELLIPSIS)
    kept: list[str] = []
    used = 0
    boundary = 0  # how many clusters end at a word's end
    clusters = list(_clusters(text))
    for i, cluster in enumerate(clusters):
        w = display_width(cluster)
        if used + w > budget:
            if not _ends_word(cluster) and boundary and display_width("".join(kept[:boundary])) * 2 >= budget:
                kept = kept[:boundary]
            break
        kept.append(cluster)
        used += w
        if _ends_word(cluster) or (i + 1 < len(clusters) and _ends_word(clusters[i + 1])):
            boundary = len(kept)
    return "".join(kept).rstrip(_TRAILING) + ELLIPSIS


_WORD_ENDS = " \t\u3000,，、。.;；:：!！?？/|·-—()（）[]【】「」"
_TRAILING = " \t\u3000,，、;；:：/|·-—(（[【「"
"""What a cut title should not end on before its `…` (a closing bracket or full stop stays)."""


def _ends_word(cluster: str) -> bool:
    return cluster[0] in _WORD_ENDS


def _in_zone(moment: datetime, zone: tzinfo) -> datetime:
    """Naive datetimes are UTC: SQLite hands stored UTC times back without a zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone)


def make_time_filter(zone: tzinfo) -> Callable[[datetime | None, str], str]:
    def time(moment: datetime | None, fmt: str = "%H:%M") -> str:
        """`08:30` in the configured zone; "" for None so `next_run|time` needs no guard."""
        return "" if moment is None else _in_zone(moment, zone).strftime(fmt)

    return time


WEEKDAYS = "一二三四五六日"


def make_date_filter(zone: tzinfo) -> Callable[[datetime | None, str], str]:
    def date(moment: datetime | None, fmt: str = "") -> str:
        """`6月18日` in the configured zone (or strftime `fmt`); "" for None."""
        if moment is None:
            return ""
        local = _in_zone(moment, zone)
        return local.strftime(fmt) if fmt else f"{local.month}月{local.day}日"

    return date


def make_weekday_filter(zone: tzinfo) -> Callable[[datetime | None], str]:
    def weekday(moment: datetime | None) -> str:
        """`周三` in the configured zone; "" for None."""
        return "" if moment is None else "周" + WEEKDAYS[_in_zone(moment, zone).weekday()]

    return weekday


def make_datetime_filter(zone: tzinfo) -> Callable[[datetime | None], str]:
    date, time = make_date_filter(zone), make_time_filter(zone)

    def datetime_(moment: datetime | None) -> str:
        """`6月19日 08:30` in the configured zone; "" for None."""
        return "" if moment is None else f"{date(moment, '')} {time(moment, '%H:%M')}"

    return datetime_


FILTER_NAMES = (
    "yuan",
    "percent",
    "shorten",
    "time",
    "date",
    "datetime",
    "weekday",
    "coupon_summary",
    "count",
)


def cut(text: str, max_chars: int) -> str:
    """Fit one message: cut at the last line break in reach (if it keeps at least half), else at a
    character boundary, and end with `…` so a reader knows something was left out."""
    if len(text) <= max_chars:
        return text
    room = max_chars - len(ELLIPSIS)
    head = text[:room]
    newline = head.rfind("\n")
    if newline >= room // 2:
        return head[:newline].rstrip() + "\n" + ELLIPSIS
    kept = ""
    for cluster in _clusters(text):
        if len(kept) + len(cluster) > room:
            break
        kept += cluster
    return kept + ELLIPSIS
