"""What a chat channel keeps across restarts, keyed by (account, key): an iLink bot token and long-poll
cursor, a gateway's webhook secret, whether a gateway account is logged in. Small strings; one row each.

Also the webhook messages an account has handled (`claim_message`, keys `seen:<message id>`), so a
gateway resending one after a restart — or to another process of the same account — is not answered
twice; `prune_seen` keeps that bounded (a day or two's worth, at most `SEEN_CAPACITY` rows)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

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


def put_new(engine: Engine, account: str, key: str, value: str) -> str:
    """Store `value` unless the key has one already; returns the stored value. Two processes starting
    at once (replicas of one account) end up with the same, the first one's."""
    with Session(engine) as session:
        session.add(ChatState(account=account, key=key, value=value))
        try:
            session.commit()
            return value
        except IntegrityError:
            session.rollback()
    stored = get(engine, account, key)
    if stored is None:  # forgotten between the two statements: ours then
        put(engine, account, key, value)
        return value
    return stored


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


SEEN_PREFIX = "seen:"
SEEN_RETENTION = timedelta(days=2)
"""How long a handled message is remembered: gateways resend within minutes, hours at most."""
SEEN_CAPACITY = 50_000
"""The most handled messages one account remembers, whatever the retention (a busy account's day)."""


def claim_message(engine: Engine, account: str, message_id: str) -> bool:
    """True the first time `message_id` is claimed for `account`; False when it was handled before (in
    this process or another, before a restart). The unique (account, key) makes the claim atomic."""
    with Session(engine) as session:
        session.add(ChatState(account=account, key=(SEEN_PREFIX + message_id)[:128], value=""))
        try:
            session.commit()
            return True
        except IntegrityError:
            session.rollback()
            return False


def prune_seen(
    engine: Engine,
    account: str,
    *,
    now: datetime | None = None,
    retention: timedelta = SEEN_RETENTION,
    capacity: int = SEEN_CAPACITY,
) -> int:
    """Forget the account's handled messages older than `retention`, and all but the newest `capacity`;
    returns how many were forgotten."""
    seen = (col(ChatState.account) == account, col(ChatState.key).startswith(SEEN_PREFIX))
    with Session(engine) as session:
        cutoff = (now or utcnow()) - retention
        old = session.execute(delete(ChatState).where(*seen, col(ChatState.updated_at) < cutoff))
        forgotten = int(old.rowcount or 0)  # type: ignore[attr-defined]
        oldest_kept = session.exec(
            select(ChatState.id).where(*seen).order_by(col(ChatState.id).desc()).offset(capacity - 1).limit(1)
        ).first()
        if oldest_kept is not None:
            over = session.execute(delete(ChatState).where(*seen, col(ChatState.id) < oldest_kept))
            forgotten += int(over.rowcount or 0)  # type: ignore[attr-defined]
        session.commit()
    return forgotten
