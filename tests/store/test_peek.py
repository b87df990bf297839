"""`bot.store.peek`: what the console reads from an SQLite file before the engine opens must agree with
what the engine reads, and it must never mistake a file that needs migrating for one that does not."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from bot.store import db, peek
from bot.store.groups import blocked_rooms, ensure_group, set_blocked


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///data/tuike.db", Path("data/tuike.db")),
        ("sqlite:////srv/tuike/tuike.db", Path("/srv/tuike/tuike.db")),
        ("sqlite+pysqlite:///data/推客.db", Path("data/推客.db")),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///data/tuike.db?mode=ro", None),  # options: left to SQLAlchemy
        ("postgresql+psycopg://tuike@db/tuike", None),
    ],
)
def test_only_a_plain_sqlite_file_is_read_directly(url: str, path: Path | None) -> None:
    assert peek.sqlite_file(url) == path


def test_the_head_read_from_the_files_is_alembics() -> None:
    assert peek.head_from_files() == db.head_revision()


def test_a_file_is_at_head_only_when_its_schema_needs_nothing(tmp_path: Path, engine: Engine) -> None:
    url = engine.url.render_as_string()
    assert peek.at_head(url) == Path(str(engine.url.database))

    missing = f"sqlite:///{tmp_path / 'none' / 'tuike.db'}"
    assert peek.at_head(missing) is None
    assert not (tmp_path / "none").exists(), "reading must not create the file"

    empty = tmp_path / "empty.db"
    empty.touch()
    assert peek.at_head(f"sqlite:///{empty}") is None, "no schema yet: the migrations run first"

    db.downgrade(engine, "-1")
    assert peek.at_head(url) is None, "one revision behind: the migrations run first"


def test_the_blocked_rooms_read_directly_are_the_engines(engine: Engine) -> None:
    path = Path(str(engine.url.database))
    assert peek.blocked_rooms(path) == frozenset()
    blocked = ensure_group(engine, "r1@chatroom", "一群")
    ensure_group(engine, "r2@chatroom", "二群")
    set_blocked(engine, blocked.id or 0, True)
    assert peek.blocked_rooms(path) == blocked_rooms(engine) == frozenset({"r1@chatroom"})


def test_a_missing_file_is_an_error_not_an_empty_list(tmp_path: Path) -> None:
    """The router keeps its last list when a read fails; an empty answer would unblock every group."""
    with pytest.raises(FileNotFoundError):
        peek.blocked_rooms(tmp_path / "gone.db")


def test_a_file_whose_revision_table_is_empty_is_not_at_head(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM alembic_version"))
    assert peek.at_head(engine.url.render_as_string()) is None
