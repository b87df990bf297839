"""Issue 33, the console's part: what a probe got past the login wall, the limits and the pages.
Each test reproduced its item before the fix; the fuzz suite (tests/fuzz/test_console_fuzz.py) keeps
throwing the same kinds of input at every page."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from bot.web import app as web_app
from tests.helpers import tuike
from tests.web.conftest import PASSWORD, Console, console_settings, login, serve_console


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


# -- 7: X-Forwarded-For only from configured proxies ----------------------------------------------------


async def test_forwarded_for_from_an_unconfigured_peer_is_not_believed(
    console: Console, verify_spy: VerifySpy
) -> None:
    """25 spoofed addresses from loopback got 20 checks instead of 5 (uvicorn trusted loopback)."""
    client = console.client()
    for i in range(25):
        await post_login(client, "wrong", **{"X-Forwarded-For": f"203.0.113.{i}"})
    assert verify_spy.calls == console.services.settings.web.login_attempts_per_minute


async def test_many_addresses_behind_a_trusted_proxy_never_lock_the_operator_out(
    tmp_path: Path, store: Engine, verify_spy: VerifySpy
) -> None:
    """Behind a configured proxy each address counts on its own, and an address with no wrong
    password of its own is never turned away by the overall count."""
    settings = console_settings(tmp_path, trusted_proxies=["127.0.0.1"])
    async for console in serve_console(tmp_path, store, settings=settings):
        client = console.client()
        for i in range(25):
            wrong = await post_login(client, "wrong", **{"X-Forwarded-For": f"203.0.113.{i}"})
            assert wrong.status_code == 401
        operator = await post_login(console.client(), PASSWORD, **{"X-Forwarded-For": "198.51.100.7"})
        assert operator.status_code == 303
        # the attacker's addresses, each past nothing on its own, are held by the overall count
        again = await post_login(client, "wrong", **{"X-Forwarded-For": "203.0.113.1"})
        assert again.status_code == 429


# -- 8: the setup link under a race ---------------------------------------------------------------------


async def test_the_setup_link_gives_one_session_however_many_use_it_at_once(
    tmp_path: Path, store: Engine
) -> None:
    """Four concurrent POST /setup with the valid code gave two sessions."""
    async for console in serve_console(tmp_path, store, password=False):
        code = console.setup_token.value
        clients = [console.client() for _ in range(6)]
        for client in clients:
            assert (await client.get(f"/setup?code={code}")).status_code == 200

        async def set_up(client: httpx.AsyncClient, n: int, code: str = code) -> int:
            password = f"{PASSWORD} {n}"
            data = {"csrf_token": client.cookies["tuike_login"], "code": code}
            response = await client.post("/setup", data={**data, "password": password, "again": password})
            return response.status_code

        statuses = await asyncio.gather(*(set_up(c, n) for n, c in enumerate(clients)))
        assert sorted(statuses) == [303] + [403] * 5
        assert sum([(await c.get("/")).status_code == 200 for c in clients]) == 1


# -- 9: a new password ends the sessions at once ---------------------------------------------------------


async def test_tuike_web_passwd_ends_every_session_without_a_restart(
    console: Console,
    write_config,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    """`tuike web passwd` (another process, the same database) left existing sessions valid."""
    client = await console.logged_in()
    assert (await client.get("/")).status_code == 200
    url = console.engine.url.render_as_string(hide_password=False)
    config = write_config(f'[database]\nurl = "{url}"\n')
    done = await asyncio.to_thread(
        tuike, "--config", str(config), "web", "passwd", cwd=tmp_path, input="a new password\n"
    )
    assert done.returncode == 0, done.stderr

    ended = await client.get("/groups")
    assert ended.status_code == 303 and "expired=1" in ended.headers["location"]
    assert (await login(console.client(), PASSWORD)).status_code == 401
    fresh = console.client()
    assert (await login(fresh, "a new password")).status_code == 303
    assert (await fresh.get("/")).status_code == 200


# -- 10: a NUL in a search box ----------------------------------------------------------------------------

NUL_QUERIES = [
    "/groups?q=%00",
    "/groups?q=a%00b",
    "/groups?account=%00",
    "/pushes?account=%00",
    "/orders?q=%00",
    "/rebates?q=%00",
    "/broadcasts/new?q=%00",
]


async def test_a_nul_in_a_query_is_no_database_outage(console: Console) -> None:
    """PostgreSQL refuses text with a NUL; the console answered 503 「数据库暂时连不上」 for it."""
    client = await console.logged_in()
    for path in NUL_QUERIES:
        response = await client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert "数据库暂时连不上" not in response.text, path


# -- 11: forms with too many fields, dates at the ends of the calendar -------------------------------------


async def test_a_form_with_too_many_fields_is_a_clear_400(console: Console) -> None:
    """1,500 fields answered 500 with a traceback per request, logged in or not (POST /login)."""
    anonymous = console.client()
    await anonymous.get("/login")
    token = anonymous.cookies["tuike_login"]
    fields = {f"f{i}": "x" for i in range(1500)}
    response = await anonymous.post("/login", data={"csrf_token": token, **fields})
    assert response.status_code == 400 and "Traceback" not in response.text
    client = await console.logged_in()
    for path in ("/templates/help/preview", "/broadcasts/new", "/logout"):
        response = await client.post(path, data={"csrf_token": client.headers["X-CSRF-Token"], **fields})
        assert response.status_code == 400, path
    assert (await client.get("/")).status_code == 200  # the oversized logout did nothing


@pytest.mark.parametrize(
    "query", ["to=9999-12-31", "from=9999-12-31", "from=0001-01-01", "from=0001-01-01&to=9999-12-31"]
)
async def test_dates_at_the_ends_of_the_calendar_filter_orders(console: Console, query: str) -> None:
    """/orders?to=9999-12-31 and /orders.csv?to=9999-12-31 answered 500 (OverflowError)."""
    client = await console.logged_in()
    assert (await client.get(f"/orders?{query}")).status_code == 200
    assert (await client.get(f"/orders.csv?{query}")).status_code == 200


# -- 14: no framing, no foreign script ----------------------------------------------------------------------


async def test_every_answer_forbids_framing_and_foreign_code(console: Console) -> None:
    """No Content-Security-Policy or X-Frame-Options: 「标记已付」 and the broadcast confirm could be
    clickjacked from a page that frames the console."""
    anonymous = console.client()
    client = await console.logged_in()
    answers = [
        await anonymous.get("/login"),
        await anonymous.get("/groups"),  # the redirect to the login
        await anonymous.get("/static/style.css"),
        await client.get("/"),
        await client.get("/rebates"),
        await client.get("/no-such-page"),
        await client.post("/broadcasts", data={"csrf_token": "forged"}),
    ]
    for answer in answers:
        policy = answer.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in policy, answer.url
        assert "script-src 'self'" in policy, answer.url
        assert answer.headers.get("x-frame-options") == "DENY", answer.url
        assert answer.headers.get("x-content-type-options") == "nosniff", answer.url


async def test_the_console_works_under_its_policy_and_will_not_be_framed(
    console: Console,
    browser_page,  # type: ignore[no-untyped-def]
) -> None:
    """In Chromium: the pages and the htmx live preview run with no policy violation, and a page
    that frames the console gets nothing."""
    from tests.web.conftest import browser_login

    violations: list[str] = []
    browser_page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    await browser_login(browser_page, console)
    for path in ("/", "/groups", "/orders", "/rebates", "/broadcasts/new", "/templates"):
        await browser_page.goto(console.url + path)
    await browser_page.goto(console.url + "/templates/help")
    await browser_page.fill("textarea[name=source]", "框架测试 {{ 1 + 1 }}")
    await browser_page.locator("text=框架测试 2").first.wait_for()
    assert violations == []

    await browser_page.goto(console.url + "/no-such-page")
    await browser_page.set_content(f'<iframe id="f" src="{console.url}/rebates"></iframe>')
    frame = await (await browser_page.query_selector("#f")).content_frame()  # type: ignore[union-attr]
    await frame.wait_for_load_state()
    assert "返利" not in await frame.content()
