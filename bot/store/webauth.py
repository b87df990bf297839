"""The web console's operator password hash (one row; the hash, never the password)."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.store.models import WebAuth, utcnow


def password_hash(engine: Engine) -> str | None:
    with Session(engine) as session:
        row = session.exec(select(WebAuth).order_by(WebAuth.id)).first()  # type: ignore[arg-type]
        return row.password_hash if row else None


def set_password_hash(engine: Engine, new_hash: str) -> None:
    with Session(engine) as session:
        row = session.exec(select(WebAuth).order_by(WebAuth.id)).first()  # type: ignore[arg-type]
        if row is None:
            row = WebAuth(password_hash=new_hash)
        row.password_hash = new_hash
        row.updated_at = utcnow()
        session.add(row)
        session.commit()
