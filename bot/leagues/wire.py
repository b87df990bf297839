"""Every JSON text a league sends is read here, and comes out as text every database can store.

Real feeds carry half an emoji: a title cut inside a surrogate pair arrives as the escape `\\ud83d`
with no partner (or as the raw bytes of one), and `json.loads` hands back a `str` holding a lone
surrogate. No UTF-8 encoding of it exists, so the first write of that answer (the stored answer, the
link cache, the request log) raised `UnicodeEncodeError … surrogates not allowed` on SQLite and on
PostgreSQL alike, and the member got the apology. A NUL (`\\u0000`) is refused by PostgreSQL's text.

Cleaning once where the answer is decoded — not column by column downstream — means a new league, a
new cache or a new template never meets such a string. Each league client decodes with `loads` (the
JSON gateways' shared `FormGatewayClient.decode`, the WeChat APIs' `WechatApi`, and a league's own
inner JSON strings, as JD nests them).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
"""NUL, and surrogates: after decoding, a code point in D800–DFFF in a `str` is always a lone one (a
proper pair has become one astral character)."""

_SUSPECT = re.compile(rb"\\u(?:[dD][89a-fA-F]|0000)|\x00|\xed[\xa0-\xbf]")
"""What in the raw text may decode to such a character: a surrogate or NUL escape, a NUL byte, the
UTF-8-style bytes of a surrogate (`json.loads` decodes bytes with `surrogatepass`). An answer without
any is returned as decoded, without a walk (most answers; a proper pair escape does trigger one)."""


def clean_text(value: str) -> str:
    """`value` without NUL and lone surrogates."""
    return _UNSTORABLE.sub("", value) if _UNSTORABLE.search(value) else value


def loads(content: bytes | str, *, exact: bool = False) -> Any:
    """The decoded JSON `content`, every string (keys too) clean; `exact` reads non-integer numbers as
    `Decimal` (money in yuan with decimals). Raises ValueError for malformed JSON, like `json.loads`."""
    data = json.loads(content, parse_float=Decimal) if exact else json.loads(content)
    raw = content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
    if not _SUSPECT.search(raw):
        return data
    return clean(data)


def clean(data: Any) -> Any:
    """`data` (decoded JSON) with every string cleaned, changed in place where it is a container.

    Iterative, so an answer as deep as `json.loads` accepts is walked without running out of stack."""
    if isinstance(data, str):
        return clean_text(data)
    stack: list[Any] = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if any(
                _UNSTORABLE.search(key) for key in node
            ):  # keys that become equal: the last wins, as in JSON
                items = list(node.items())
                node.clear()
                node.update((clean_text(key), value) for key, value in items)
            for key, value in node.items():
                if isinstance(value, str):
                    node[key] = clean_text(value)
                elif isinstance(value, dict | list):
                    stack.append(value)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                if isinstance(value, str):
                    node[index] = clean_text(value)
                elif isinstance(value, dict | list):
                    stack.append(value)
    return data
