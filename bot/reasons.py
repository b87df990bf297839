"""One short reason for an exception, for log lines and operator messages.

Many exceptions carry no text (httpx's `ReadTimeout()`, `ConnectError('')`, a bare `TimeoutError`), and
`f"failed ({exc})"` then logs `failed ()`: the reason falls back to the exception's type name.
"""

from __future__ import annotations


def reason(exc: BaseException) -> str:
    """`HTTP 502` for an exception with text, `ReadTimeout` for one without; always one line."""
    text = str(exc).strip().splitlines()[0].strip() if str(exc).strip() else ""
    return text or type(exc).__name__
