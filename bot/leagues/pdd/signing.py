"""PDD router parameters and signing: `UPPER(HEX(MD5(secret + k1v1k2v2… + secret)))`.

Business parameters are flat strings on the wire: lists and objects are compact JSON strings
(`goods_sign_list=["…"]`), booleans `true`/`false`, and empty values are left out entirely — of the
request *and* the signature, so both always agree.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def encode(params: Mapping[str, Any]) -> dict[str, str]:
    """Wire strings for `params`, skipping None, "" and empty lists/objects."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None or value == "" or (isinstance(value, list | tuple | dict) and not value):
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, list | tuple | dict):
            out[key] = json.dumps(
                list(value) if isinstance(value, tuple) else value, ensure_ascii=False, separators=(",", ":")
            )
        else:
            out[key] = str(value)
    return out


def sign(params: Mapping[str, str], secret: str) -> str:
    """The md5 signature of `params` (wire strings; `sign` itself and empty values left out)."""
    body = "".join(f"{k}{v}" for k, v in sorted(params.items()) if k != "sign" and v != "")
    return hashlib.md5(f"{secret}{body}{secret}".encode()).hexdigest().upper()
