"""Every text the store writes is cleaned and bounded the same way on SQLite and PostgreSQL.

Chat platforms hand us whatever members and owners type: NUL characters (PostgreSQL refuses them in
text, SQLite stores them), lone UTF-16 surrogates (no UTF-8 encoding exists, so the driver raises),
and names or ids longer than their columns (PostgreSQL raises, SQLite stores them whole). Left to the
database, one such message got every request in its group the apology, and one row lost a whole
batch of the request log — on PostgreSQL only.

`SafeString(n)` is the column type for every bounded text column. Whatever goes in — an ORM row, a
Core insert or update, or a value compared in a WHERE clause — is passed through `clean`, so the
stored value and later lookups agree. Free text is cut at `n` characters; identifiers (`key=True`)
keep a hash of the whole value when cut, so two long ids that share a prefix stay two rows.
"""

from __future__ import annotations

import re
from hashlib import sha1
from typing import Any

from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
"""NUL, and surrogates: in a Python str a code point in D800–DFFF is always a lone one."""

_HASHED = 12


def clean(value: str, length: int | None = None, *, key: bool = False) -> str:
    """`value` without NUL and lone surrogates, at most `length` characters."""
    text = _UNSTORABLE.sub("", value)
    if length is None or len(text) <= length:
        return text
    if key and length > 2 * _HASHED:
        digest = sha1(value.encode("utf-8", "surrogatepass")).hexdigest()[:_HASHED]
        return text[: length - _HASHED - 1] + "~" + digest
    return text[:length]


class SafeString(TypeDecorator[str]):
    """VARCHAR(length) that cleans and bounds what is bound to it (see the module docstring)."""

    impl = String
    cache_ok = True

    def __init__(self, length: int, *, key: bool = False) -> None:
        super().__init__(length)
        self.length = length
        self.key = key

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, str):
            return clean(value, self.length, key=self.key)
        return value

    def process_literal_param(self, value: Any, dialect: Dialect) -> str:
        return str(self.process_bind_param(value, dialect))

    @property
    def python_type(self) -> type[str]:
        return str


def stored(model: Any, column: str, value: str) -> str:
    """`value` as `model.column` (a `SafeString`) will store it: what to compare a stored value with."""
    kind = model.__table__.c[column].type
    return clean(value, kind.length, key=kind.key) if isinstance(kind, SafeString) else value
