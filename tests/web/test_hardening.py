"""Issue 33, the console's part: what a probe got past the login wall, the limits and the pages.
Each test reproduced its item before the fix; the fuzz suite (tests/fuzz/test_console_fuzz.py) keeps
throwing the same kinds of input at every page."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

import httpx
import pytest

from bot.web import app as web_app
from tests.web.conftest import PASSWORD, Console


@dataclass
class VerifySpy:
    """Counts password checks (a fast stand-in for Argon2) and the most that ran at once."""

    calls: int = 0
    running: int = 0
    most: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def __call__(self, stored: str, password: str) -> bool:
        with self._lock:
            self.calls += 1
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            return password == PASSWORD
        finally:
            with self._lock:
                self.running -= 1


@pytest.fixture
def verify_spy(monkeypatch: pytest.MonkeyPatch) -> VerifySpy:
    spy = VerifySpy()
    monkeypatch.setattr(web_app, "verify_password", spy)
    return spy


async def post_login(client: httpx.AsyncClient, password: str, **headers: str) -> httpx.Response:
    if not client.cookies.get("tuike_login"):
        await client.get("/login")
    token = client.cookies.get("tuike_login") or ""
    return await client.post(
        "/login", data={"csrf_token": token, "password": password, "next": "/"}, headers=headers
    )


# -- 2: the login limit under concurrency ---------------------------------------------------------------


async def test_parallel_wrong_passwords_are_counted_before_they_are_checked(
    console: Console, verify_spy: VerifySpy
) -> None:
    """150 parallel wrong passwords from one address got 149 checks; the limit is 5 a minute."""
    client = console.client()
    await client.get("/login")
    answers = await asyncio.gather(*(post_login(client, f"wrong {i}") for i in range(30)))
    statuses = sorted(a.status_code for a in answers)
    limit = console.services.settings.web.login_attempts_per_minute
    assert verify_spy.calls == limit
    assert statuses == [401] * limit + [429] * (30 - limit)
    assert verify_spy.most <= web_app.MAX_CONCURRENT_VERIFIES
