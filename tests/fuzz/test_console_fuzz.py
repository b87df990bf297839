"""Hostile input at every console route, over HTTP on a real server, on SQLite and PostgreSQL: values
that broke pages before (a NUL, the calendar's ends, huge numbers, a lone surrogate, 100 KB), forms
with too many fields, spoofed forwarding headers and parallel guesses at the password. Whatever
arrives, the answer is a page (never a 500, never the database-outage 503), with the security
headers, and the login limit holds. Issue 33 #2, #7, #10, #11, #14 are here as kinds."""

from __future__ import annotations

import asyncio
import itertools
import re

from starlette.routing import Route

from bot.web import app as web_app
from tests.web.conftest import Console, console  # noqa: F401  (the fixture)
from tests.web.test_hardening import VerifySpy, post_login, verify_spy  # noqa: F401  (the fixture)

PARAMETERS = ["q", "account", "from", "to", "page", "group", "league", "status", "sample", "next", "ok"]
HOSTILE = [
    "\x00",
    "a\x00b",
    "9999-12-31",
    "0001-01-01",
    "2026-02-30",
    "-1",
    "99999999999999999999999999",
    "1e309",
    "x" * 30_000,
    "../../etc/passwd",
    "{{ 7*7 }}",
    "<script>alert(1)</script>",
    "'; DROP TABLE groups; --",
    "\u202e\u200b",
]
RAW = ["%ED%A0%BD", "%00%00", "%FF%FE", "%C0%AE%C0%AE", "%"]
"""Sent as they are: a lone surrogate and bad UTF-8 percent-encoded as no browser would."""


def _routes(running: Console, method: str) -> list[str]:
    paths = set()
    for route in running.app.routes:
        if isinstance(route, Route) and route.methods and method in route.methods:
            paths.add(re.sub(r"\{[^}]+\}", "1", route.path).replace("/templates/1", "/templates/help"))
    return sorted(paths)


def _assert_a_page(response, where: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code < 500, (where, response.status_code)
    assert "Traceback" not in response.text, where
    assert "frame-ancestors 'none'" in response.headers.get("content-security-policy", ""), where
    assert response.headers.get("x-frame-options") == "DENY", where


async def test_hostile_query_values_on_every_page_get_a_page(console: Console) -> None:  # noqa: F811
    client = await console.logged_in()
    pages = [p for p in _routes(console, "GET") if p not in ("/logout",)]
    for path, value in itertools.product(pages, HOSTILE):
        name = PARAMETERS[hash((path, value)) % len(PARAMETERS)]
        params = {name: value, "q": value} if name != "q" else {name: value}
        response = await client.get(path, params=params)
        _assert_a_page(response, f"{path}?{name}={value[:20]!r}")
    for path, value in itertools.product(pages, RAW):
        response = await client.get(f"{path}?q={value}&account={value}&to={value}")
        _assert_a_page(response, f"{path}?q={value}")


async def test_forms_with_too_many_fields_on_every_action_are_refused(console: Console) -> None:  # noqa: F811
    anonymous = console.client()
    await anonymous.get("/login")
    client = await console.logged_in()
    fields = {f"f{i}": "\x00" for i in range(1500)}
    for path in _routes(console, "POST"):
        for who, token in (
            (anonymous, anonymous.cookies["tuike_login"]),
            (client, client.headers["X-CSRF-Token"]),
        ):
            response = await who.post(path, data={"csrf_token": token, **fields})
            _assert_a_page(response, path)
            assert response.status_code in (400, 401, 403), path
    assert (await client.get("/")).status_code == 200


async def test_spoofed_and_parallel_guesses_get_no_more_checks_than_the_limit(
    console: Console,  # noqa: F811
    verify_spy: VerifySpy,  # noqa: F811
) -> None:
    client = console.client()
    await client.get("/login")
    guesses = [
        post_login(client, f"guess {i}", **{"X-Forwarded-For": f"198.51.100.{i}", "X-Real-IP": f"10.0.0.{i}"})
        for i in range(40)
    ]
    answers = await asyncio.gather(*guesses)
    limit = console.services.settings.web.login_attempts_per_minute
    assert verify_spy.calls == limit
    assert verify_spy.most <= web_app.MAX_CONCURRENT_VERIFIES
    for answer in answers:
        _assert_a_page(answer, "/login")
