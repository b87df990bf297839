"""TOP request signing (reference §3.2): sorted params concatenated as name+value, hashed, upper hex.

`md5` wraps the string in the secret at both ends; `hmac` (HMAC-MD5) and `hmac-sha256` key the HMAC
with the secret and do not wrap. Empty values and `sign` itself are left out.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Literal

SignMethod = Literal["md5", "hmac", "hmac-sha256"]
SIGN_METHODS: tuple[SignMethod, ...] = ("md5", "hmac", "hmac-sha256")


def sign_base(params: Mapping[str, str]) -> str:
    """`k1v1k2v2…` over the non-empty params except `sign`, names in plain byte order."""
    names = sorted((k for k, v in params.items() if k != "sign" and v != ""), key=lambda k: k.encode())
    return "".join(name + params[name] for name in names)


def sign(params: Mapping[str, str], secret: str, method: SignMethod) -> str:
    base = sign_base(params).encode("utf-8")
    key = secret.encode("utf-8")
    if method == "md5":
        digest = hashlib.md5(key + base + key).hexdigest()
    elif method == "hmac":
        digest = hmac.new(key, base, hashlib.md5).hexdigest()
    elif method == "hmac-sha256":
        digest = hmac.new(key, base, hashlib.sha256).hexdigest()
    else:
        raise ValueError(f"unknown sign_method {method!r}")
    return digest.upper()


def verify(params: Mapping[str, str], secret: str) -> bool:
    """Whether `params["sign"]` is right for `params["sign_method"]` (md5 when absent, as TOP does)."""
    method = params.get("sign_method") or "md5"
    if method not in SIGN_METHODS:
        return False
    given = params.get("sign", "")
    return hmac.compare_digest(given.upper(), sign(params, secret, method))
