"""Two reads of an SQLite store with the standard library alone: is the schema at the newest revision,
and which groups has the operator blocked.

Why: SQLAlchemy, SQLModel and the models cost about a third of a second to import, and the console bot
answers its first message (帮助) before it needs them. What it does need from the store is the blocked
list (a blocked group gets no answer) and the knowledge that nothing must be migrated first; both are a
query that sqlite3 answers in a millisecond. Everything else goes through the engine (bot.store.db),
opened meanwhile in the background. Nothing here writes.
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

_FILE_URL = re.compile(r"^sqlite(?:\+pysqlite)?:///(?P<path>[^?]+)$")
_REVISION = re.compile(r'^(down_revision|revision)\s*=\s*"([^"]*)"', re.M)


def sqlite_file(url: str) -> Path | None:
    """The file of a plain SQLite URL (`sqlite:///data/tuike.db`, relative to the working folder as
    SQLAlchemy has it); None for any other database, an in-memory one, or a URL with options."""
    match = _FILE_URL.match(url)
    if match is None or match["path"] == ":memory:":
        return None
    return Path(match["path"])


def head_from_files() -> str | None:
    """The newest revision read straight from the migration files (no Alembic import); None when they
    do not form one chain."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for name, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            (revisions if name == "revision" else parents).add(value)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _connect(path: Path) -> sqlite3.Connection:
    """A connection to an existing file; one that does not exist is an error here, never created."""
    if not path.is_file():
        raise FileNotFoundError(f"no database file at {path}")
    return sqlite3.connect(path, timeout=5)


def revision(path: Path) -> str | None:
    """The schema revision the file is at; None when it has none (or there is no file)."""
    try:
        with closing(_connect(path)) as connection:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except (FileNotFoundError, sqlite3.Error):
        return None
    return str(row[0]) if row else None


def at_head(url: str) -> Path | None:
    """The SQLite file behind `url` when its schema needs no migration (so the engine may open later);
    None otherwise: another database, no file yet, or migrations to run."""
    path = sqlite_file(url)
    if path is None:
        return None
    current = revision(path)
    return path if current is not None and current == head_from_files() else None


def blocked_rooms(path: Path) -> frozenset[str]:
    """Room ids of the groups the operator blocked (as `bot.store.groups.blocked_rooms` reads them)."""
    with closing(_connect(path)) as connection:
        rows = connection.execute("SELECT room_id FROM groups WHERE blocked").fetchall()
    return frozenset(str(room_id) for (room_id,) in rows)
