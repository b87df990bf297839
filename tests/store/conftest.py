"""A migrated store on SQLite and, when TUIKE_TEST_DATABASE_URL is set, on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.store import db
from tests.conftest import PG_ENV
from tests.helpers import postgres_schema


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The same test on both databases: what one stores, the other must store the same way."""
    if request.param == "sqlite":
        engine = db.make_engine(f"sqlite:///{tmp_path / 'store.db'}")
        db.upgrade(engine)
        yield engine
        engine.dispose()
        return
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests need {PG_ENV}")
    with postgres_schema(url) as schema_url:
        engine = db.make_engine(schema_url)
        db.upgrade(engine)
        yield engine
        engine.dispose()
