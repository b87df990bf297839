"""One process of many runs a job (the order sync), and a process that dies lets go of it at once.

Two things are decided in the database, so that any number of processes on one store agree:

- **Who runs it now** (`JobLock.hold`). On PostgreSQL, a session-level advisory lock
  (`pg_try_advisory_lock`) on a connection kept open while the job runs: when the holder dies —
  SIGKILL, OOM, a lost machine — its connection closes and PostgreSQL releases the lock with it.
  On SQLite (one machine), a lease row in `job_locks` that the holder renews while it is alive (every
  third of its lifetime, from a task beside the job), so a dead holder blocks the job for one short
  lifetime at most, and not at all when its process is visibly gone from this machine (the holder
  names its host and pid). The earlier lease lived 15 minutes and was renewed only between the
  sync's windows, so a killed sync blocked every retry for a quarter of an hour.
- **Whether this interval's run is done** (`JobLock.claim_turn`). Each process schedules the job
  every interval on its own clock; holding the lock only kept two runs from overlapping, so with two
  processes the job ran twice an interval (and the leagues were asked twice). The first run of an
  interval writes when the next may start (a row `<name>:next` in `job_locks`, under the lock); a
  scheduled run before then does nothing. A run asked for by hand (`tuike orders sync`) runs anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.store.models import JobLock as LeaseRow
from bot.store.models import utcnow

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
"""How long an SQLite lease lasts unless renewed (the holder renews it every third of that)."""
TURN_SLACK = 0.1
"""A scheduled run may start this fraction of an interval early (two processes' timers never tick
together), at most `MAX_SLACK`."""
MAX_SLACK = timedelta(seconds=30)
_KEY_SPACE = b"tuike.job\0"


def holder_name() -> str:
    """`host:pid:random`: who holds a lease (the host and pid tell a dead holder on this machine)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def advisory_key(name: str, schema: str) -> int:
    """The signed 64-bit PostgreSQL advisory lock key of job `name` on the tables of `schema` (advisory
    locks are per database: two stores in two schemas of one database must not share a lock)."""
    digest = hashlib.blake2b(_KEY_SPACE + f"{schema}\0{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _gone(holder: str) -> bool:
    """Whether `holder` names a process of this machine that no longer exists."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # someone else's process: alive
        return False
    return False


class JobBusy(Exception):
    """Another process holds the job's lock."""


class JobLock:
    """The lock and the turn of job `name` on `engine` (see the module docstring).

    `clock` is the lease's time (UTC); `renew_every` the real seconds between an SQLite holder's
    renewals (a third of `lease` unless given)."""

    def __init__(
        self,
        engine: Engine,
        name: str,
        *,
        lease: timedelta = LEASE,
        clock: Callable[[], datetime] = utcnow,
        renew_every: float | None = None,
        holder: str | None = None,
    ) -> None:
        self.engine = engine
        self.name = name
        self.lease = lease
        self.clock = clock
        self.renew_every = renew_every if renew_every is not None else lease.total_seconds() / 3
        self.holder = holder or holder_name()
        self.postgres = engine.dialect.name == "postgresql"

    # -- holding ------------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """Hold the lock for the block; `JobBusy` at once when another process holds it."""
        if self.postgres:
            held = await asyncio.to_thread(self._advisory_lock)
            if held is None:
                raise JobBusy(self.name)
            try:
                yield
            finally:
                await asyncio.to_thread(self._advisory_unlock, held)
            return
        if not await asyncio.to_thread(self._take_lease):
            raise JobBusy(self.name)
        renewing = asyncio.get_running_loop().create_task(self._renew())
        try:
            yield
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            await asyncio.to_thread(self._drop_lease)

    def _advisory_lock(self) -> tuple[Connection, int] | None:
        """A connection holding the job's advisory lock (and its key), kept out of the pool until
        unlocked; None when another session holds it."""
        connection = self.engine.connect()
        try:
            schema = str(connection.execute(text("SELECT current_schema()")).scalar())
            key = advisory_key(self.name, schema)
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(CAST(:key AS bigint))"), {"key": key}
            ).scalar()
            connection.commit()  # the lock is the session's: no transaction stays open while the job runs
        except BaseException:
            connection.invalidate()
            connection.close()
            raise
        if not got:
            connection.close()
            return None
        return connection, key

    def _advisory_unlock(self, held: tuple[Connection, int]) -> None:
        connection, key = held
        try:
            connection.execute(text("SELECT pg_advisory_unlock(CAST(:key AS bigint))"), {"key": key})
            connection.commit()
        except Exception:  # the session is in doubt: end it, which lets go of its locks
            log.warning("job %s: unlocking failed; closing its database session instead", self.name)
            connection.invalidate()
        finally:
            connection.close()

    def _take_lease(self) -> bool:
        """Take or renew the lease for this holder; False while another live holder's lease runs."""
        now = self.clock()
        with Session(self.engine) as session:
            row = session.exec(select(LeaseRow).where(LeaseRow.name == self.name)).first()
            if row is not None and row.holder != self.holder:
                expires = (
                    row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=now.tzinfo)
                )
                if expires >= now and not _gone(row.holder):
                    return False
            result = session.exec(
                update(LeaseRow)
                .where(col(LeaseRow.name) == self.name)
                .where(col(LeaseRow.holder) == (row.holder if row is not None else self.holder))
                .values(holder=self.holder, expires_at=now + self.lease)
            )
            session.commit()
            if result.rowcount:
                return True
            if row is not None:  # another process changed it between our read and our write
                return False
            session.add(LeaseRow(name=self.name, holder=self.holder, expires_at=now + self.lease))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return False
            return True

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.renew_every)
            try:
                kept = await asyncio.to_thread(self._take_lease)
            except Exception:
                log.warning("job %s: renewing the lease failed; trying again", self.name, exc_info=True)
                continue
            if not kept:
                log.warning("job %s: the lease was taken over while this process still ran it", self.name)

    def _drop_lease(self) -> None:
        with Session(self.engine) as session:
            session.exec(
                delete(LeaseRow).where(col(LeaseRow.name) == self.name, col(LeaseRow.holder) == self.holder)
            )
            session.commit()

    # -- one run per interval ----------------------------------------------------------------------

    def claim_turn(self, interval: timedelta) -> bool:
        """Whether this interval's scheduled run is still to do, and if so, this process's (the next
        may start one interval from now, less a little slack). Call it while holding the lock."""
        now = self.clock()
        slack = min(interval * TURN_SLACK, MAX_SLACK)
        turn = f"{self.name}:next"
        with Session(self.engine) as session:
            row = session.exec(select(LeaseRow).where(LeaseRow.name == turn)).first()
            if row is not None:
                due = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=now.tzinfo)
                if now < due:
                    return False
                row.expires_at, row.holder = now + interval - slack, self.holder
                session.add(row)
            else:
                session.add(LeaseRow(name=turn, holder=self.holder, expires_at=now + interval - slack))
            try:
                session.commit()
            except IntegrityError:  # another process wrote the first turn at the same moment
                session.rollback()
                return False
        return True
