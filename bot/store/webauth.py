"""The web console's operator password hash (one row; the hash, never the password).

Storing a new password ends every console session and voids every setup link, in the same
transaction: on every replica at once, since they all read the same rows."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.store.models import WebAuth, utcnow
from bot.store.web_sessions import drop_all_sessions, drop_all_setup_links


def password_hash(engine: Engine) -> str | None:
    with Session(engine) as session:
        row = session.exec(select(WebAuth).order_by(WebAuth.id)).first()  # type: ignore[arg-type]
        return row.password_hash if row else None


def set_password_hash(engine: Engine, new_hash: str) -> None:
    with Session(engine) as session:
        row = session.exec(select(WebAuth).order_by(WebAuth.id)).first()  # type: ignore[arg-type]
        if row is not None and row.password_hash == new_hash:
            return  # the same hash (same salt): nothing changes, no session ends
        if row is None:
            row = WebAuth(password_hash=new_hash)
        row.password_hash = new_hash
        row.updated_at = utcnow()
        session.add(row)
        drop_all_sessions(session)
        drop_all_setup_links(session)
        session.commit()
