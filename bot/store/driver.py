"""The driver's own cursor in a transaction, for the few statements on a hot path (a push's claim, an
order-sync window) where SQLAlchemy's per-statement and per-value work cost more than the database's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine


@contextmanager
def driver_transaction(engine: Engine) -> Iterator[Any]:
    """A cursor in a transaction on a pooled connection (its connect-time set-up included): committed
    when the block ends, rolled back when it raises."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            yield cursor
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            cursor.close()
    finally:
        connection.close()  # back to the pool
