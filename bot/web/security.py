"""Who may use the console: one operator password (Argon2id), server-side sessions, CSRF tokens, a
limit on wrong passwords, and the one-time setup link.

All of it lives in the database (bot/store/web_sessions.py), so several replicas serve one console: a
login on one works on every other, the wrong-password limit counts the attempts made at all of them,
and a setup link works once wherever it is used. Every call goes to a worker thread.

The cookie carries only a random session id (HttpOnly, SameSite=Strict); the database keeps its
SHA-256, so a leaked row is not a usable cookie. Each session's CSRF token, which every form and htmx
call sends back, is derived from the id the same way on every replica. Each session remembers the
password it logged in under (`password_stamp`): storing a new password (`tuike web passwd`, from any
process) deletes every session, and a session under an older password ends on its next request.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine

from bot.store import web_sessions

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 256
MAX_SESSIONS = 256
"""Oldest sessions are dropped past this: a bot has one operator, not a crowd."""

SETUP_LINK_LIFETIME = timedelta(hours=24)
"""A setup link printed to the log works this long (or until a password is set); each start of a
replica with no password prints a new one."""
SETUP_CLAIM_TIMEOUT = timedelta(minutes=2)
"""A setup that took a link and never finished (its process died) gives it back after this."""

log = logging.getLogger(__name__)
_hasher = PasswordHasher()

Clock = Callable[[], float]
"""Seconds since the epoch (`time.time`): every replica compares them, so not a monotonic clock."""
EngineOf = Callable[[], Engine]
"""The store's engine, read at each call (the console's services may be given another)."""


def digest(secret: str) -> str:
    """What the database keeps of a session id or a setup code: its SHA-256 (both are random,
    32 and 24 bytes: a plain hash cannot be turned back into them)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def csrf_of(session_id: str) -> str:
    """A session's CSRF token, the same on every replica and not computable from the stored row."""
    return hashlib.sha256(b"tuike csrf\0" + session_id.encode("utf-8", "surrogatepass")).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Constant-time check; False for a wrong password or a damaged hash (never raises)."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str:
    """Why this password is not acceptable ('' when it is), in Chinese for the page and the CLI."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"密码至少 {MIN_PASSWORD_CHARS} 个字符"
    if len(password) > MAX_PASSWORD_CHARS:
        return f"密码最多 {MAX_PASSWORD_CHARS} 个字符"
    if password.strip() != password:
        return "密码首尾不能是空格"
    return ""


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def password_stamp(stored_hash: str | None) -> str:
    """A short fingerprint of the stored password hash: a session remembers the one it logged in
    under, and ends when the stored hash changes (`tuike web passwd`, from another process)."""
    return hashlib.sha256((stored_hash or "").encode()).hexdigest()[:16]


@dataclass
class WebSession:
    id: str
    """The cookie's value (the database has only its `digest`)."""
    csrf: str
    last_seen: float
    stamp: str = ""
    """`password_stamp` of the hash in force when this session logged in."""


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass
class Sessions:
    engine: EngineOf
    idle_seconds: float
    clock: Clock = time.time

    @property
    def idle(self) -> timedelta:
        return timedelta(seconds=self.idle_seconds)

    @property
    def touch_after(self) -> timedelta:
        """How stale `last_seen` may get before a request writes it again (a tenth of the idle time,
        at most a minute): the idle timeout is that much early at worst."""
        return timedelta(seconds=min(60.0, self.idle_seconds / 10))

    async def create(self, stamp: str = "") -> WebSession:
        session_id = secrets.token_urlsafe(32)
        now = self.clock()
        await asyncio.to_thread(
            web_sessions.add_session,
            self.engine(),
            digest(session_id),
            stamp,
            _at(now),
            self.idle,
            MAX_SESSIONS,
        )
        return WebSession(session_id, csrf_of(session_id), now, stamp)

    async def get(self, session_id: str) -> WebSession | None:
        """The live session, its idle timer restarted; None when unknown, expired, or logged in under
        a password that is no longer the stored one (then it is deleted). Database errors propagate."""
        now = self.clock()
        row, stored = await asyncio.to_thread(
            web_sessions.live_session,
            self.engine(),
            digest(session_id),
            _at(now),
            self.idle,
            self.touch_after,
        )
        if row is None:
            return None
        if not same(password_stamp(stored), row.stamp):
            log.info("web console: a session ended because the password changed")
            await self.drop(session_id)
            return None
        return WebSession(session_id, csrf_of(session_id), now, row.stamp)

    async def drop(self, session_id: str) -> None:
        await asyncio.to_thread(web_sessions.drop_session, self.engine(), digest(session_id))


@dataclass
class LoginLimiter:
    """Wrong passwords per client address per minute, and overall (4× that) against spread attacks,
    counted in the database across every replica. The overall count holds back only addresses with a
    wrong password of their own in the minute: a crowd of addresses must not keep the operator, who
    has none, out."""

    engine: EngineOf
    per_minute: int
    clock: Clock = time.time

    async def attempt(self, client: str) -> int:
        """0 when a login attempt may go ahead — it is then already counted as wrong, so parallel
        attempts (at any replica) cannot all pass the check first; `succeeded` takes it back — else
        how many seconds to wait (the attempt is not counted)."""
        wait = await asyncio.to_thread(
            web_sessions.count_attempt,
            self.engine(),
            client,
            _at(self.clock()),
            self.per_minute,
            self.per_minute * 4,
        )
        return max(1, int(wait + 0.999)) if wait > 0 else 0

    async def succeeded(self, client: str) -> None:
        await asyncio.to_thread(web_sessions.forgive, self.engine(), client)


@dataclass(frozen=True)
class SetupToken:
    """A one-time setup link's code, as printed to the log (the database has only its `digest`)."""

    value: str


@dataclass
class SetupLinks:
    """The one-time links printed to the log while no password is set. A link printed by one replica
    works at every replica, and once: the first setup through any link takes it (`claim`), and a
    password stored voids them all."""

    engine: EngineOf
    clock: Clock = time.time

    async def issue(self) -> SetupToken:
        token = SetupToken(secrets.token_urlsafe(24))
        now = _at(self.clock())
        await asyncio.to_thread(
            web_sessions.add_setup_link, self.engine(), digest(token.value), now, SETUP_LINK_LIFETIME
        )
        return token

    async def accepts(self, given: str) -> bool:
        if not given:
            return False
        return await asyncio.to_thread(
            web_sessions.setup_link_open,
            self.engine(),
            digest(given),
            _at(self.clock()),
            SETUP_LINK_LIFETIME,
            SETUP_CLAIM_TIMEOUT,
        )

    async def claim(self, given: str) -> bool:
        """Accept `given` and use the link up in one step: of several requests at once, at any
        replica and with any link, one gets it. `release` gives it back when that one sets no
        password after all."""
        if not given:
            return False
        return await asyncio.to_thread(
            web_sessions.claim_setup_link,
            self.engine(),
            digest(given),
            _at(self.clock()),
            SETUP_LINK_LIFETIME,
            SETUP_CLAIM_TIMEOUT,
        )

    async def release(self, given: str) -> None:
        await asyncio.to_thread(web_sessions.release_setup_link, self.engine(), digest(given))
