"""The web console's state that every replica shares: sessions, wrong-password counts, setup links.

Kept here rather than in one process's memory so that a login on one replica works on another, a new
password ends every session everywhere, and the login limit counts the attempts made at all of them.
The rules (how long a session lasts, how many wrong passwords a minute) belong to bot/web/security.py;
these functions only read and write the rows, each in one short transaction, and are called from a
worker thread (never on the event loop).

Counting a login attempt must be atomic across processes (checked and counted together, or thirty
parallel guesses all pass the check before any is counted): on PostgreSQL a transaction-level
advisory lock serialises the attempts; on SQLite the transaction starts with a write (the pruning
DELETE), which takes the database's one write lock for the whole transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, func, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.store.models import WebAuth, WebLoginFailure, WebSessionRow, WebSetupLink

WINDOW = timedelta(seconds=60)
"""Wrong passwords count for a minute."""
_LOGIN_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('tuike.web.login:' || current_schema(), 0))"


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# -- sessions ---------------------------------------------------------------------------------------------


def add_session(
    engine: Engine, token_hash: str, stamp: str, now: datetime, idle: timedelta, cap: int
) -> None:
    """Store a new session; sessions idle past `idle` are pruned, and the least recently seen past
    `cap` dropped (a bot has one operator, not a crowd)."""
    with Session(engine) as session:
        session.execute(delete(WebSessionRow).where(col(WebSessionRow.last_seen) < now - idle))
        session.add(WebSessionRow(token_hash=token_hash, stamp=stamp, created_at=now, last_seen=now))
        session.flush()
        count = session.exec(select(func.count()).select_from(WebSessionRow)).one()
        if count > cap:
            oldest = session.exec(
                select(WebSessionRow.token_hash)
                .order_by(col(WebSessionRow.last_seen), col(WebSessionRow.created_at))
                .limit(count - cap)
            ).all()
            session.execute(delete(WebSessionRow).where(col(WebSessionRow.token_hash).in_(oldest)))
        session.commit()


def live_session(
    engine: Engine, token_hash: str, now: datetime, idle: timedelta, touch_after: timedelta
) -> tuple[WebSessionRow | None, str | None]:
    """The session (None when unknown or idle past `idle`: then its row is deleted) and the password
    hash in force now, read together. The session's `last_seen` is moved to `now` when it is older
    than `touch_after`: a page's dozen requests write once, not a dozen times."""
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(WebSessionRow, token_hash)
        stored = session.exec(select(WebAuth.password_hash).order_by(col(WebAuth.id))).first()
        if row is None:
            return None, stored
        seen = _aware(row.last_seen)
        if now - seen > idle:
            session.delete(row)
            session.commit()
            return None, stored
        if now - seen > touch_after:
            # only forward: another replica may have touched it with a later time meanwhile
            session.execute(
                update(WebSessionRow)
                .where(col(WebSessionRow.token_hash) == token_hash, col(WebSessionRow.last_seen) < now)
                .values(last_seen=now)
            )
            session.commit()
            row.last_seen = now
        return row, stored


def drop_session(engine: Engine, token_hash: str) -> None:
    with Session(engine) as session:
        session.execute(delete(WebSessionRow).where(col(WebSessionRow.token_hash) == token_hash))
        session.commit()


def drop_all_sessions(session: Session) -> None:
    """Inside the caller's transaction (the one that stores a new password)."""
    session.execute(delete(WebSessionRow))


def session_count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(WebSessionRow)).one())


# -- wrong passwords -------------------------------------------------------------------------------------


def count_attempt(engine: Engine, client: str, now: datetime, per_client: int, overall: int) -> float:
    """Count a login attempt from `client` as wrong (until `forgive`), unless the limits hold it back;
    returns 0 when counted, else how many seconds until it may be tried (> 0).

    The limits: `per_client` attempts a minute from one address, and `overall` from all addresses
    together — the overall one only against an address with a wrong password of its own in the
    minute, so a crowd of addresses cannot keep the operator (who has none) out."""
    since = now - WINDOW
    with Session(engine) as session:
        if engine.dialect.name == "postgresql":
            session.execute(text(_LOGIN_LOCK))
        # the first statement writes: on SQLite it takes the write lock for the whole transaction
        session.execute(delete(WebLoginFailure).where(col(WebLoginFailure.at) <= since))
        mine_count, mine_first = session.exec(
            select(func.count(), func.min(WebLoginFailure.at)).where(
                col(WebLoginFailure.client) == client,
                col(WebLoginFailure.forgiven).is_(False),
                col(WebLoginFailure.at) > since,
            )
        ).one()
        waits: list[float] = []
        if mine_count:
            if mine_count >= per_client and mine_first is not None:
                waits.append((WINDOW - (now - _aware(mine_first))).total_seconds())
            all_count, all_first = session.exec(
                select(func.count(), func.min(WebLoginFailure.at)).where(col(WebLoginFailure.at) > since)
            ).one()
            if all_count >= overall and all_first is not None:
                waits.append((WINDOW - (now - _aware(all_first))).total_seconds())
        if waits:
            session.commit()  # keeps the pruning
            return max(max(waits), 0.001)
        session.add(WebLoginFailure(client=client, at=now))
        session.commit()
        return 0.0


def forgive(engine: Engine, client: str) -> None:
    """The attempt was right: `client`'s wrong ones stop counting against it."""
    with Session(engine) as session:
        session.execute(
            update(WebLoginFailure)
            .where(col(WebLoginFailure.client) == client, col(WebLoginFailure.forgiven).is_(False))
            .values(forgiven=True)
        )
        session.commit()


def failure_count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(WebLoginFailure)).one())


# -- setup links -----------------------------------------------------------------------------------------


def add_setup_link(engine: Engine, code_hash: str, now: datetime, lifetime: timedelta) -> None:
    """Store a new link; links past `lifetime` are pruned."""
    with Session(engine) as session:
        session.execute(delete(WebSetupLink).where(col(WebSetupLink.created_at) <= now - lifetime))
        session.add(WebSetupLink(code_hash=code_hash, created_at=now))
        session.commit()


def setup_link_open(
    engine: Engine, code_hash: str, now: datetime, lifetime: timedelta, claim_timeout: timedelta
) -> bool:
    """Whether the link exists, is within its lifetime and no setup through it is running."""
    with Session(engine) as session:
        row = session.get(WebSetupLink, code_hash)
        if row is None or now - _aware(row.created_at) >= lifetime:
            return False
        return row.claimed is None or row.claimed_at is None or now - _aware(row.claimed_at) >= claim_timeout


def claim_setup_link(
    engine: Engine, code_hash: str, now: datetime, lifetime: timedelta, claim_timeout: timedelta
) -> bool:
    """Take the link for one setup: True for exactly one caller at a time across every link and
    replica (the unique `claimed`); a claim older than `claim_timeout` (its process died midway) is
    taken over."""
    with Session(engine) as session:
        try:
            session.execute(
                update(WebSetupLink)
                .where(
                    col(WebSetupLink.claimed).is_not(None),
                    col(WebSetupLink.claimed_at) <= now - claim_timeout,
                )
                .values(claimed=None, claimed_at=None)
            )
            taken = session.execute(
                update(WebSetupLink)
                .where(
                    col(WebSetupLink.code_hash) == code_hash,
                    col(WebSetupLink.claimed).is_(None),
                    col(WebSetupLink.created_at) > now - lifetime,
                )
                .values(claimed=1, claimed_at=now)
            )
            session.commit()
        except IntegrityError:  # another link is being used for a setup right now
            session.rollback()
            return False
        return bool(taken.rowcount)  # type: ignore[attr-defined]


def release_setup_link(engine: Engine, code_hash: str) -> None:
    """The setup through it set no password after all: the link may be used again."""
    with Session(engine) as session:
        session.execute(
            update(WebSetupLink)
            .where(col(WebSetupLink.code_hash) == code_hash)
            .values(claimed=None, claimed_at=None)
        )
        session.commit()


def drop_all_setup_links(session: Session) -> None:
    """Inside the caller's transaction (the one that stores the password): no link is needed now."""
    session.execute(delete(WebSetupLink))
