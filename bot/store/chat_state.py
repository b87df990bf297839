"""What a chat channel keeps across restarts, keyed by (account, key): an iLink bot token and long-poll
cursor, a gateway's webhook secret. Small strings; one row each."""

from __future__ import annotations

from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.store.models import ChatState, utcnow


def get(engine: Engine, account: str, key: str) -> str | None:
    with Session(engine) as session:
        statement = select(ChatState.value).where(ChatState.account == account, ChatState.key == key)
        return session.exec(statement).first()


def put(engine: Engine, account: str, key: str, value: str) -> None:
    for _ in range(2):  # a concurrent first insert of the same key: the second pass updates it
        with Session(engine) as session:
            row = session.exec(
                select(ChatState).where(ChatState.account == account, ChatState.key == key)
            ).first()
            if row is None:
                row = ChatState(account=account, key=key, value=value)
            else:
                row.value, row.updated_at = value, utcnow()
            session.add(row)
            try:
                session.commit()
                return
            except IntegrityError:
                session.rollback()
    raise RuntimeError(f"could not store chat state {account}/{key}")


def forget(engine: Engine, account: str, key: str) -> None:
    with Session(engine) as session:
        session.execute(delete(ChatState).where(ChatState.account == account, ChatState.key == key))  # type: ignore[arg-type]
        session.commit()
