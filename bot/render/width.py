"""Columns that line up in a terminal when names are Chinese: a CJK character takes two columns.

`str.ljust` counts characters, so a table padded with it drifts right by one column per Chinese
character; the CLI's tables (`tuike report`, `tuike quota`, `tuike templates list`) pad with these.
"""

from __future__ import annotations

import unicodedata


def display_width(text: str) -> int:
    """Terminal columns `text` takes: wide and full-width characters two, combining marks none."""
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def clip(text: str, width: int) -> str:
    """`text` cut to at most `width` columns (a cut name ends in …)."""
    if display_width(text) <= width:
        return text
    out, used = "", 0
    for char in text:
        step = display_width(char)
        if used + step > width - 1:
            break
        out, used = out + char, used + step
    return out + "…"


def ljust(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


def rjust(text: str, width: int) -> str:
    return " " * max(0, width - display_width(text)) + text
