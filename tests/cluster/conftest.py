"""A migrated PostgreSQL schema of its own per test: the cluster exists only on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from bot.store import db
from tests.helpers import postgres_schema


@pytest.fixture
def cluster_url(pg_url: str) -> Iterator[str]:
    """The URL of a fresh schema at the newest revision (the replicas' processes connect to it)."""
    with postgres_schema(pg_url) as url:
        engine = db.make_engine(url)
        db.upgrade(engine)
        engine.dispose()
        yield url


@pytest.fixture
def pg(cluster_url: str) -> Iterator[Engine]:
    engine = db.make_engine(cluster_url)
    yield engine
    engine.dispose()


def age_leases(engine: Engine, seconds: float) -> None:
    """Move every lease and heartbeat `seconds` into the past, as if that much time went by (by the
    database's clock, the only one the leases read)."""
    with engine.begin() as connection:
        shift = {"s": seconds}
        connection.execute(
            text("UPDATE account_leases SET expires_at = expires_at - make_interval(secs => :s)"), shift
        )
        connection.execute(
            text("UPDATE cluster_replicas SET heartbeat_at = heartbeat_at - make_interval(secs => :s)"), shift
        )
