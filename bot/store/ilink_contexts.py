"""iLink members' context tokens, kept across restarts: the bot can answer a member only with the
token of their latest message, for about a day and about ten messages. In memory only, a restart (or
another replica taking the bot over) could answer nobody who wrote before it.

The tokens are secrets of sorts (whoever has one may write to that member): nothing here logs them,
and the engines hide statement parameters from their errors (bot.store.db).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.store.models import IlinkContext
from bot.store.text import clean


@dataclass(frozen=True, slots=True)
class Context:
    """A member's latest context token, when it came, and what was sent on it."""

    user_id: str
    token: str
    received_at: datetime
    sent: int = 0
    refused: bool = False


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes: they were stored as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def keep(engine: Engine, account: str, contexts: Iterable[Context]) -> None:
    """Store members' new tokens (one transaction for a poll's batch); a new token starts its window
    over: nothing sent on it yet, not refused."""
    fresh = {c.user_id: c for c in contexts}
    if not fresh:
        return
    for _ in range(2):  # a concurrent first insert for the same member: the second pass updates it
        with Session(engine) as session:
            users = [clean(user, 128, key=True) for user in fresh]
            rows = session.exec(
                select(IlinkContext).where(
                    IlinkContext.account == account, col(IlinkContext.user_id).in_(users)
                )
            ).all()
            existing = {row.user_id: row for row in rows}
            for user, context in fresh.items():
                row = existing.get(clean(user, 128, key=True))
                if row is None:
                    row = IlinkContext(account=account, user_id=user, token=context.token)
                row.token, row.received_at = context.token, context.received_at
                row.sent, row.refused = context.sent, context.refused
                session.add(row)
            try:
                session.commit()
                return
            except IntegrityError:
                session.rollback()
    raise RuntimeError(f"could not store the iLink contexts of {account}")


def note_sent(engine: Engine, account: str, user_id: str, token: str, *, sent: int, refused: bool) -> None:
    """What was sent on `token` so far (and whether iLink refused it); a newer token the member's next
    message brought (maybe to another replica) is left alone."""
    with Session(engine) as session:
        row = session.exec(
            select(IlinkContext).where(
                IlinkContext.account == account,
                IlinkContext.user_id == clean(user_id, 128, key=True),
                IlinkContext.token == token,
            )
        ).first()
        if row is None:
            return
        row.sent, row.refused = max(row.sent, sent), row.refused or refused
        session.add(row)
        session.commit()


def load(engine: Engine, account: str, since: datetime) -> list[Context]:
    """The account's tokens received after `since` (those older cannot be answered on), oldest first."""
    with Session(engine) as session:
        rows = session.exec(
            select(IlinkContext)
            .where(IlinkContext.account == account, col(IlinkContext.received_at) > since)
            .order_by(col(IlinkContext.received_at))
        ).all()
        return [Context(r.user_id, r.token, _aware(r.received_at), r.sent, r.refused) for r in rows]


def prune(engine: Engine, account: str, before: datetime) -> int:
    """Forget the account's tokens received before `before` (past their window); returns how many."""
    with Session(engine) as session:
        gone = session.execute(
            delete(IlinkContext).where(
                col(IlinkContext.account) == account, col(IlinkContext.received_at) < before
            )
        )
        session.commit()
        return int(gone.rowcount or 0)  # type: ignore[attr-defined]
