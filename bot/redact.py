"""Secrets never reach a log line, an exception text shown to the operator, or the CLI's output.

Four nets, because a secret can surface anywhere text is built:

* `mask_url` shows a database URL with its password as `***`, and never raises, even for a URL that
  does not parse (whose password would otherwise be echoed in the error);
* `register` remembers the secret values of this process (config secrets, the database password,
  league access tokens as they are issued) and `mask` replaces any of them in a text;
* `SecretFilter` runs `mask` over every log record a handler formats: message, arguments and
  traceback. `install` puts it on the root logger's handlers;
* `mask_output` passes everything the command line prints (stdout and stderr, whatever prints it) through
  `mask`: a league or gateway that echoes the request in its error would otherwise put the secret on
  the operator's screen, into a script's JSON or a CI log.

The engines are also built with `hide_parameters=True` (bot.store.db), so a failing statement never
logs the values it was given: members' ids and words, tokens.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import traceback
import types
from collections.abc import Callable, Iterable
from typing import Any, TextIO
from urllib.parse import quote, quote_plus

from pydantic import BaseModel, SecretStr

MASK = "***"
_MIN_SECRET = 4
"""Shorter values would mask ordinary words; no real secret is this short."""

_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][\w+.-]*://[^/:@\s]*:)(?P<password>[^@\s]*)(?P<at>@)")
_TOKEN_PARAMETER = re.compile(
    r"(?P<head>(?:access_token|token|secret|password|sign)=)(?P<value>[^&\s'\"]+)", re.I
)
_SECRET_NAMES = ("secret", "token", "password", "app_key", "appkey")

_lock = threading.Lock()
_secrets: frozenset[str] = frozenset()


def _spellings(value: str) -> set[str]:
    """A secret as a server may echo it: as it is, escaped inside a JSON string, percent-encoded."""
    return {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        quote(value, safe=""),
        quote_plus(value, safe=""),
    }


def register(*values: str) -> None:
    """Remember secret values; `mask` replaces them (and their JSON and URL spellings) from now on, in
    every thread."""
    global _secrets
    fresh = {
        spelled
        for v in values
        if isinstance(v, str) and len(v) >= _MIN_SECRET
        for spelled in _spellings(v)
        if len(spelled) >= _MIN_SECRET
    }
    if fresh - _secrets:
        with _lock:
            _secrets = _secrets | fresh


def forget_all() -> None:
    """For tests: start from no known secrets."""
    global _secrets
    with _lock:
        _secrets = frozenset()


def mask(text: str) -> str:
    """`text` with every known secret, URL password and `token=`-style value replaced by `***`."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    text = _URL_PASSWORD.sub(lambda m: m["head"] + MASK + m["at"] if m["password"] else m[0], text)
    return _TOKEN_PARAMETER.sub(lambda m: m["head"] + MASK, text)


def mask_url(url: str) -> str:
    """A database URL fit to print: password masked; never raises, whatever `url` holds."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return mask(url)


def url_password(url: str) -> str | None:
    """The password in a database URL, if there is one (also in a URL that does not parse)."""
    match = _URL_PASSWORD.search(url)
    return match["password"] or None if match else None


def secret_values(settings: BaseModel) -> list[str]:
    """Every secret a settings tree holds: `SecretStr` fields, fields named like secrets, URL passwords."""
    found: list[str] = []
    for name, value in settings:
        if isinstance(value, BaseModel):
            found.extend(secret_values(value))
        elif isinstance(value, tuple | list):  # tables of tables, e.g. [[chat.gateway.accounts]]
            for item in value:
                if isinstance(item, BaseModel):
                    found.extend(secret_values(item))
        elif isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, str):
            if any(word in name.lower() for word in _SECRET_NAMES) and not name.endswith("_mode"):
                found.append(value)
            password = url_password(value)
            if password:
                found.append(password)
    return found


class SecretFilter(logging.Filter):
    """Masks the formatted message and the traceback of every record; the record is kept, not dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: show what there is, masked
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = mask(message), None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = mask("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True


def _masked_excepthook(
    kind: type[BaseException], value: BaseException, tb: types.TracebackType | None
) -> None:
    sys.stderr.write(mask("".join(traceback.format_exception(kind, value, tb))))


def install(handlers: Iterable[logging.Handler] | None = None) -> None:
    """Put one `SecretFilter` on each handler (the root logger's by default), and mask what an
    uncaught exception prints too; idempotent."""
    for handler in handlers if handlers is not None else logging.getLogger().handlers:
        if not any(isinstance(f, SecretFilter) for f in handler.filters):
            handler.addFilter(SecretFilter())
    sys.excepthook = _masked_excepthook


class MaskedStream:
    """A text stream that writes through `mask`, a line at a time (a secret is never split between two
    writes: `print` and `json.dump` write in pieces); `flush` writes what is left of a line. Everything
    else (encoding, isatty, fileno) is the wrapped stream's; its binary `buffer` is not offered, so
    nothing reaches the screen around the mask."""

    def __init__(self, stream: TextIO) -> None:
        self.wrapped = stream
        self._pending = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        with self._lock:
            self._pending += text
            if "\n" in self._pending:
                lines, _, self._pending = self._pending.rpartition("\n")
                self.wrapped.write(mask(lines + "\n"))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self.wrapped.write(mask(self._pending))
                self._pending = ""
        self.wrapped.flush()

    def __getattr__(self, name: str) -> Any:
        if name == "buffer":
            raise AttributeError(name)
        return getattr(self.wrapped, name)


def mask_output() -> Callable[[], None]:
    """Put `MaskedStream` on `sys.stdout` and `sys.stderr` (the command line calls this once, for every
    command); returns what puts the streams back, flushed."""
    before = sys.stdout, sys.stderr
    if not isinstance(sys.stdout, MaskedStream) and sys.stdout is not None:
        sys.stdout = MaskedStream(sys.stdout)
    if not isinstance(sys.stderr, MaskedStream) and sys.stderr is not None:
        sys.stderr = MaskedStream(sys.stderr)

    def restore() -> None:
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, MaskedStream):
                stream.flush()
        sys.stdout, sys.stderr = before

    return restore
