"""The Alembic migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from bot.store import db
from bot.store.models import Group, PushLog

TABLES = {"groups", "subscriptions", "push_log", "link_cache", "league_tokens", "request_log"}


def _schema_diff(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [d for d in compare_metadata(context, SQLModel.metadata) if d[0] != "remove_table"]


def _exercise(engine: Engine) -> None:
    assert db.current_revision(engine) is None
    before, after = db.upgrade(engine)
    assert before is None
    assert after == db.head_revision()
    assert set(inspect(engine).get_table_names()) >= TABLES
    assert _schema_diff(engine) == []
    # the (group, slot) claim is enforced by the database itself
    with db.session_scope(engine) as session:
        group = Group(room_id="r1@chatroom", name="测试群")
        session.add(group)
        session.flush()
        assert group.id is not None
        session.add(PushLog(group_id=group.id, slot="daily:2026-11-22T08:00", status="claimed"))
    with pytest.raises(IntegrityError), db.session_scope(engine) as session:
        session.add(PushLog(group_id=group.id, slot="daily:2026-11-22T08:00", status="claimed"))
    # upgrading again is a no-op; downgrade to empty and back works
    assert db.upgrade(engine) == (after, after)
    db.downgrade(engine, "base")
    assert not TABLES & set(inspect(engine).get_table_names())
    db.upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= TABLES


def test_migrations_on_sqlite_from_empty(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'sub' / 'fresh.db'}")
    try:
        _exercise(engine)
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        engine.dispose()


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    schema = f"tuike_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(pg_url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_migrations_on_postgresql_from_empty(pg_engine: Engine) -> None:
    _exercise(pg_engine)
