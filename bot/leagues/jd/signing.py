"""JOS request signing: `UPPER(HEX(MD5(secret + k1v1k2v2… + secret)))` over the non-empty parameters.

Keys sort in ASCII order, so `360buy_param_json` comes first. The business JSON is serialised once,
compactly, by `param_json`, and that one string is both signed and sent: a second serialisation could
differ by a space or key order and the gateway would refuse the signature.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


def sign(params: Mapping[str, str], secret: str) -> str:
    """The JOS md5 signature of `params` (the `sign` key itself, if present, is left out)."""
    body = "".join(f"{k}{v}" for k, v in sorted(params.items()) if k != "sign" and v != "")
    return hashlib.md5(f"{secret}{body}{secret}".encode()).hexdigest().upper()


def param_json(body: Mapping[str, Any]) -> str:
    """The business object as the compact JSON string that is signed and sent (UTF-8, no spaces)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def timestamp(now: float) -> str:
    """`now` (Unix seconds) as JOS wants it: `yyyy-MM-dd HH:mm:ss` in Beijing time."""
    return datetime.fromtimestamp(now, UTC).astimezone(BEIJING).strftime(TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> datetime:
    """A JOS time string (Beijing time) as an aware UTC datetime; ValueError when malformed."""
    return datetime.strptime(text.strip(), TIMESTAMP_FORMAT).replace(tzinfo=BEIJING).astimezone(UTC)
