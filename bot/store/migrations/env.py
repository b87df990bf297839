"""Alembic environment: runs on the engine the caller hands over (see bot.store.db.upgrade)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

engine: Engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
