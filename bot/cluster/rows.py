"""The cluster's two tables, read and written in single PostgreSQL transactions.

Every time here is the database's (`now()`), never a host's: replicas on hosts whose clocks disagree
by seconds still agree on who holds a lease and until when. Decisions are made by the rows themselves:
a conditional `INSERT … ON CONFLICT DO UPDATE … WHERE` registers a replica only when no live one has its
id, leases are renewed by `UPDATE … WHERE holder = me AND expires_at > now()`, and free or expired leases
are taken with `SELECT … FOR UPDATE SKIP LOCKED`, so two replicas never take the same one.
"""

from __future__ import annotations

import math
import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

STATEMENT_MS = 5000
"""A beat's statements give up after this long (a locked row, a database in trouble)."""


class ReplicaTaken(Exception):
    """Another live replica runs under this replica id (the text says which, Chinese first)."""


class Replaced(Exception):
    """This replica's row was taken by a newer start under the same id: it must serve nothing more."""


@dataclass(frozen=True)
class Me:
    """This replica: its id (`[cluster] replica_id`) and what tells this start from any other."""

    replica_id: str
    host: str
    pid: int
    incarnation: str

    @classmethod
    def here(cls, replica_id: str) -> Me:
        return cls(replica_id, socket.gethostname(), os.getpid(), uuid.uuid4().hex)


@dataclass(frozen=True)
class Beat:
    """What one heartbeat found: the accounts this replica holds now and how many it may hold."""

    held: frozenset[str]
    live: int
    fair: int
    """Its share: accounts ÷ live replicas rounded up, or down while another replica has less."""


def lease_engine(url: str, lease_seconds: float) -> Engine:
    """A small engine of the cluster's own, so a busy product pool never delays a renewal, that gives
    up on an unreachable database within about a third of a lease instead of hanging."""
    seconds = max(1, math.ceil(lease_seconds / 3))
    connect_args: dict[str, Any] = {
        "connect_timeout": seconds,
        "tcp_user_timeout": seconds * 1000,
        "keepalives": 1,
        "keepalives_idle": seconds,
        "keepalives_interval": 1,
        "keepalives_count": 2,
    }
    return create_engine(
        make_url(url),
        pool_size=1,
        max_overflow=2,
        pool_timeout=seconds,
        pool_pre_ping=True,
        hide_parameters=True,
        connect_args=connect_args,
    )


def bound_idle_transactions(engine: Engine, seconds: float) -> None:
    """Every session of `engine` (the product's own) ends a transaction left idle longer than
    `seconds`: a replica paused (SIGSTOP) or cut off in the middle of one would otherwise hold its row
    locks (a push claim, a mark) and keep the replica that takes over from serving."""
    milliseconds = max(1000, int(seconds * 1000))

    def bound(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET idle_in_transaction_session_timeout = {milliseconds}")
        cursor.close()
        dbapi_connection.commit()

    event.listen(engine, "connect", bound)
    engine.dispose()  # connections opened before now get it as they are made again


def _begin(connection: Connection) -> None:
    """Time limits for this transaction: a statement stuck on a lock, or a replica paused (SIGSTOP)
    in the middle of a beat, must not keep the rows it locked from the others for long."""
    connection.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_MS}"))
    connection.execute(text(f"SET LOCAL idle_in_transaction_session_timeout = {STATEMENT_MS}"))


_REGISTER = text(
    """
    INSERT INTO cluster_replicas (replica_id, host, pid, incarnation, started_at, heartbeat_at)
    VALUES (:id, :host, :pid, :inc, now(), now())
    ON CONFLICT (replica_id) DO UPDATE
       SET host = EXCLUDED.host, pid = EXCLUDED.pid, incarnation = EXCLUDED.incarnation,
           started_at = now(), heartbeat_at = now()
     WHERE cluster_replicas.heartbeat_at <= now() - make_interval(secs => :lease)
        OR cluster_replicas.incarnation = :stale
    RETURNING replica_id
    """
)


def _pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError, ValueError):
        return False
    return False


def register(engine: Engine, me: Me, lease_seconds: float) -> None:
    """Write this replica's row; `ReplicaTaken` while another live replica has the id (its heartbeat
    is younger than a lease). A row left by a process of this host that no longer exists is taken at
    once: a replica restarted under a fixed id need not wait out its old self's lease."""
    params = {"id": me.replica_id, "host": me.host, "pid": me.pid, "inc": me.incarnation}
    with engine.begin() as connection:
        _begin(connection)
        if connection.execute(_REGISTER, {**params, "lease": lease_seconds, "stale": ""}).first():
            return
        row = connection.execute(
            text(
                "SELECT host, pid, incarnation, extract(epoch FROM now() - heartbeat_at) "
                "FROM cluster_replicas WHERE replica_id = :id"
            ),
            {"id": me.replica_id},
        ).first()
        gone = row is not None and row[0] == me.host and row[1] != me.pid and _pid_gone(int(row[1]))
        stale = {**params, "lease": lease_seconds, "stale": row[2] if row is not None else ""}
        if gone and connection.execute(_REGISTER, stale).first():
            return
    if row is None:  # the other start let go between our two statements: try once more
        register(engine, me, lease_seconds)
        return
    host, pid, _inc, age = row
    raise ReplicaTaken(
        f"副本名 {me.replica_id!r} 已经被另一个正在运行的副本使用（主机 {host}，进程 {pid}，"
        f"{float(age):.0f} 秒前还有心跳）。请给这个副本换一个 [cluster] replica_id，"
        f"或者先停掉那一个 / replica id {me.replica_id!r} is in use by a live replica "
        f"(host {host}, pid {pid}, heartbeat {float(age):.0f} s ago)"
    )


def beat(
    engine: Engine, me: Me, accounts: Sequence[str], lease_seconds: float, releasing: Sequence[str] = ()
) -> Beat:
    """One heartbeat, in one transaction: the replica's row, the leases it holds renewed (those in
    `releasing` given up instead), and free or expired ones taken up to its fair share of the accounts
    among the live replicas. `Replaced` when a newer start took this replica's id."""
    lease = {"lease": lease_seconds}
    with engine.begin() as connection:
        _begin(connection)
        alive = connection.execute(
            text(
                "UPDATE cluster_replicas SET heartbeat_at = now() "
                "WHERE replica_id = :id AND incarnation = :inc RETURNING 1"
            ),
            {"id": me.replica_id, "inc": me.incarnation},
        ).first()
        if alive is None:
            raise Replaced(me.replica_id)
        if releasing:
            connection.execute(
                text(
                    "UPDATE account_leases SET holder = '', expires_at = now() "
                    "WHERE holder = :id AND account = ANY(CAST(:accounts AS varchar[]))"
                ),
                {"id": me.replica_id, "accounts": list(releasing)},
            )
        connection.execute(
            text(
                "INSERT INTO account_leases (account, holder, expires_at) "
                "SELECT a, '', to_timestamp(0) FROM unnest(CAST(:accounts AS varchar[])) AS a "
                "ON CONFLICT (account) DO NOTHING"
            ),
            {"accounts": list(accounts)},
        )
        keep = [a for a in accounts if a not in set(releasing)]
        renewed = {
            str(r[0])
            for r in connection.execute(
                text(
                    "UPDATE account_leases SET expires_at = now() + make_interval(secs => :lease) "
                    "WHERE holder = :id AND expires_at > now() "
                    "AND account = ANY(CAST(:accounts AS varchar[])) RETURNING account"
                ),
                {"id": me.replica_id, "accounts": keep, **lease},
            )
        }
        holdings = connection.execute(
            text(
                "SELECT r.replica_id, count(l.account) FROM cluster_replicas AS r "
                "LEFT JOIN account_leases AS l ON l.holder = r.replica_id AND l.expires_at > now() "
                "WHERE r.heartbeat_at > now() - make_interval(secs => :lease) GROUP BY r.replica_id"
            ),
            lease,
        ).all()
        live = max(len(holdings), 1)
        fair = _share(len(accounts), live, [int(n) for rid, n in holdings if rid != me.replica_id])
        taken: set[str] = set()
        wanted = [a for a in keep if a not in renewed]
        if len(renewed) < fair and wanted:
            taken = {
                str(r[0])
                for r in connection.execute(
                    text(
                        """
                        WITH free AS (
                            SELECT account FROM account_leases
                             WHERE account = ANY(CAST(:accounts AS varchar[])) AND expires_at <= now()
                             ORDER BY account
                             LIMIT :want
                               FOR UPDATE SKIP LOCKED)
                        UPDATE account_leases AS l
                           SET holder = :id, expires_at = now() + make_interval(secs => :lease)
                          FROM free WHERE l.account = free.account
                        RETURNING l.account
                        """
                    ),
                    {"id": me.replica_id, "accounts": wanted, "want": fair - len(renewed), **lease},
                )
            }
    return Beat(held=frozenset(renewed | taken), live=live, fair=fair)


def _share(accounts: int, live: int, others: Sequence[int]) -> int:
    """How many accounts a replica may hold: the fair share rounded up (free accounts are taken), but
    only the share rounded down while another live replica holds less than that (4 accounts on 3
    replicas end up 2, 1, 1 rather than 2, 2, 0)."""
    low, high = accounts // live, math.ceil(accounts / live)
    return low if low > 0 and any(n < low for n in others) else high


def leave(engine: Engine, me: Me) -> None:
    """A clean stop: every lease of this replica free at once (another takes it on its next beat, not
    after a lease), and its row gone."""
    with engine.begin() as connection:
        _begin(connection)
        mine = connection.execute(
            text("SELECT 1 FROM cluster_replicas WHERE replica_id = :id AND incarnation = :inc FOR UPDATE"),
            {"id": me.replica_id, "inc": me.incarnation},
        ).first()
        if mine is None:  # a newer start has the id (and maybe the leases): leave them alone
            return
        connection.execute(
            text("UPDATE account_leases SET holder = '', expires_at = now() WHERE holder = :id"),
            {"id": me.replica_id},
        )
        connection.execute(
            text("DELETE FROM cluster_replicas WHERE replica_id = :id AND incarnation = :inc"),
            {"id": me.replica_id, "inc": me.incarnation},
        )


@dataclass(frozen=True)
class Replica:
    """A replica as `tuike cluster status` shows it."""

    replica: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    age_seconds: float
    """How long ago its last heartbeat was, by the database's clock."""
    accounts: tuple[str, ...]
    """The accounts whose unexpired lease it holds."""


@dataclass(frozen=True)
class Overview:
    replicas: list[Replica]
    unserved: tuple[str, ...]
    """Accounts known to the cluster that no unexpired lease covers."""


def overview(engine: Engine) -> Overview:
    """Every replica (live or not), the accounts each holds now, and the accounts nobody holds."""
    with engine.connect() as connection:
        leases = connection.execute(
            text("SELECT account, holder, expires_at > now() FROM account_leases ORDER BY account")
        ).all()
        rows = connection.execute(
            text(
                "SELECT replica_id, host, pid, started_at, heartbeat_at, "
                "extract(epoch FROM now() - heartbeat_at) FROM cluster_replicas ORDER BY replica_id"
            )
        ).all()
    held: dict[str, list[str]] = {}
    unserved = []
    for account, holder, valid in leases:
        if valid and holder:
            held.setdefault(str(holder), []).append(str(account))
        else:
            unserved.append(str(account))
    replicas = [
        Replica(
            replica=str(r[0]),
            host=str(r[1]),
            pid=int(r[2]),
            started_at=r[3],
            heartbeat_at=r[4],
            age_seconds=max(0.0, float(r[5])),
            accounts=tuple(held.get(str(r[0]), ())),
        )
        for r in rows
    ]
    return Overview(replicas, tuple(unserved))
