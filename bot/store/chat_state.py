"""What a chat channel keeps across restarts, keyed by (account, key): an iLink bot token and long-poll
cursor, a gateway's webhook secret, whether a gateway account is logged in. Small strings; one row each."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

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


STATUS_KEY = "status"


@dataclass(frozen=True, slots=True)
class AccountStatus:
    """Whether the account was logged in when its channel last looked, since when, and why not (in the
    words the operator reads). Kept in the store so the web console, which may run in another process
    (`tuike web`), can tell the operator that an account needs a QR scan."""

    online: bool
    since: datetime
    why: str = ""


def put_status(engine: Engine, account: str, status: AccountStatus) -> None:
    value = {"online": status.online, "since": status.since.isoformat(), "why": status.why}
    put(engine, account, STATUS_KEY, json.dumps(value, ensure_ascii=False))


def get_status(engine: Engine, account: str) -> AccountStatus | None:
    """The account's last recorded status; None when none was recorded (or the row is unreadable)."""
    raw = get(engine, account, STATUS_KEY)
    if not raw:
        return None
    try:
        value = json.loads(raw)
        return AccountStatus(bool(value["online"]), datetime.fromisoformat(value["since"]), str(value["why"]))
    except (ValueError, KeyError, TypeError):
        return None
