"""Meituan's S-Ca header signing (docs/takeout.md): HMAC-SHA256 over the method, the body's MD5 and the
signed headers, keyed with the app secret.

    stringToSign = "POST\\n" + Content-MD5 + "\\n" + "S-Ca-App:" + key + "\\n"
                 + "S-Ca-Timestamp:" + ms + "\\n" + path

`Content-MD5` is base64 of the 16 raw MD5 bytes of the body (not hex); the body enters only through it,
so the same bytes that were hashed must be sent. `path` is the URL's path (with a query string, its
pairs sorted by key).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

SIGNED_HEADERS = ("S-Ca-App", "S-Ca-Timestamp")


def content_md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode("ascii")


def string_to_sign(method: str, md5: str, headers: Mapping[str, str], path: str) -> str:
    """The text signed: the headers named in `headers` sorted by name, each `Name:value`."""
    lines = [method.upper(), md5]
    lines += [f"{name}:{headers[name]}" for name in sorted(headers)]
    return "\n".join(lines) + "\n" + path


def signature(secret: str, text: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_headers(app_key: str, secret: str, body: bytes, path: str, timestamp_ms: int) -> dict[str, str]:
    """Every header a call carries (besides Content-Type), for these body bytes at this moment."""
    md5 = content_md5(body)
    named = {"S-Ca-App": app_key, "S-Ca-Timestamp": str(timestamp_ms)}
    return {
        **named,
        "Content-MD5": md5,
        "S-Ca-Signature-Headers": ",".join(SIGNED_HEADERS),
        "S-Ca-Signature": signature(secret, string_to_sign("POST", md5, named, path)),
    }


def verify(secret: str, method: str, md5: str, headers: Mapping[str, str], path: str, given: str) -> bool:
    """Whether `given` is the signature of this request (what the sandbox's face checks)."""
    return hmac.compare_digest(given, signature(secret, string_to_sign(method, md5, headers, path)))
