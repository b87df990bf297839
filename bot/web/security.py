"""Who may use the console: one operator password (Argon2id), server-side sessions, CSRF tokens, and a
limit on wrong passwords.

Sessions live in this process's memory: a restart logs the operator out, which is the safe failure.
Each remembers the password it logged in under (`password_stamp`): a new password, even one set by
`tuike web passwd` in another process, ends every session on its next request.
The cookie carries only a random session id (HttpOnly, SameSite=Strict); each session has its own
CSRF token that every form and htmx call sends back.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 256
MAX_SESSIONS = 256
"""Oldest sessions are dropped past this: a bot has one operator, not a crowd."""

_hasher = PasswordHasher()

Clock = Callable[[], float]


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
    csrf: str
    last_seen: float
    stamp: str = ""
    """`password_stamp` of the hash in force when this session logged in."""


@dataclass
class Sessions:
    idle_seconds: float
    clock: Clock = time.monotonic
    _live: OrderedDict[str, WebSession] = field(default_factory=OrderedDict)

    def create(self, stamp: str = "") -> WebSession:
        session = WebSession(secrets.token_urlsafe(32), secrets.token_urlsafe(32), self.clock(), stamp)
        self._live[session.id] = session
        while len(self._live) > MAX_SESSIONS:
            self._live.popitem(last=False)
        return session

    def get(self, session_id: str) -> WebSession | None:
        """The live session, its idle timer restarted; None when unknown or expired."""
        session = self._live.get(session_id)
        if session is None:
            return None
        now = self.clock()
        if now - session.last_seen > self.idle_seconds:
            del self._live[session_id]
            return None
        session.last_seen = now
        self._live.move_to_end(session_id)
        return session

    def drop(self, session_id: str) -> None:
        self._live.pop(session_id, None)

    def drop_all(self) -> None:
        """After a password change every other login ends."""
        self._live.clear()


@dataclass
class LoginLimiter:
    """Wrong passwords per client address per minute, and overall (4× that) against spread attacks.
    The overall count holds back only addresses with a wrong password of their own in the minute: a
    crowd of addresses must not keep the operator, who has none, out."""

    per_minute: int
    clock: Clock = time.monotonic
    _by_client: dict[str, deque[float]] = field(default_factory=dict)
    _all: deque[float] = field(default_factory=deque)

    def _trim(self, times: deque[float], now: float) -> None:
        while times and now - times[0] >= 60:
            times.popleft()

    def wait_seconds(self, client: str) -> int:
        """0 when a login attempt may go ahead, else how many seconds to wait."""
        now = self.clock()
        waits = []
        mine = self._by_client.get(client)
        if mine is not None:
            self._trim(mine, now)
        if not mine:
            return 0
        for times, cap in ((mine, self.per_minute), (self._all, self.per_minute * 4)):
            self._trim(times, now)
            if len(times) >= cap:
                waits.append(60 - (now - times[0]))
        return max(1, int(max(waits) + 0.999)) if waits else 0

    def failed(self, client: str) -> None:
        """Count an attempt as wrong: called before the password is checked, so parallel attempts
        cannot all pass `wait_seconds` first; `succeeded` takes it back."""
        now = self.clock()
        if len(self._by_client) > 10_000:  # a flood of addresses: forget the quiet ones
            for key in [k for k, v in self._by_client.items() if not v or now - v[-1] >= 60]:
                del self._by_client[key]
        self._by_client.setdefault(client, deque()).append(now)
        self._all.append(now)

    def succeeded(self, client: str) -> None:
        self._by_client.pop(client, None)


@dataclass
class SetupToken:
    """The one-time link printed to the log while no password is set."""

    value: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    used: bool = False

    def accepts(self, given: str) -> bool:
        return not self.used and bool(given) and same(given, self.value)

    def claim(self, given: str) -> bool:
        """Accept `given` and use the link up in one step (no await between): of several requests
        at once, one gets it. `release` gives it back when that one sets no password after all."""
        if not self.accepts(given):
            return False
        self.used = True
        return True

    def release(self) -> None:
        self.used = False
