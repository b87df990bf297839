"""Issue 31, the console's part: several replicas over one database serve one console. A login made at
one works at every other, a new password ends every session everywhere, the wrong-password limit
counts the attempts made at all of them, and a setup link works once wherever it is used. Each test
runs on SQLite and on PostgreSQL (the `store` fixture); two run a second replica as a real
`tuike web` process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, select

from bot.chat.asgi import AsgiServer
from bot.store import web_sessions, webauth
from bot.store.groups import ensure_group, find_group
from bot.store.models import WebAuth, WebSessionRow, WebSetupLink
from bot.web import app as web_app
from bot.web.app import build_app
from bot.web.security import hash_password
from tests.web.conftest import (
    PASSWORD,
    Console,
    browser_login,
    csrf_of,
    login,
    serve_console,
)

ROOT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def replicas(
    tmp_path: Path, store: Engine, count: int = 2, password: bool = True
) -> AsyncIterator[list[Console]]:
    """`count` consoles, each its own app and port, over the one database `store`."""
    running: list[Console] = []
    generators = []
    try:
        for n in range(count):
            home = tmp_path / f"replica{n}"
            home.mkdir()
            generator = serve_console(home, store, password=password)
            generators.append(generator)
            running.append(await anext(generator))
        yield running
    finally:
        for generator in reversed(generators):
            await generator.aclose()


def with_cookie(console: Console, logged_in: httpx.AsyncClient) -> httpx.AsyncClient:
    """A client of `console` carrying the session cookie and CSRF header another console gave."""
    client = console.client()
    client.cookies.set("tuike_session", logged_in.cookies["tuike_session"])
    client.headers["X-CSRF-Token"] = logged_in.headers["X-CSRF-Token"]
    return client


@asynccontextmanager
async def clocked(console: Console, now: list[float]) -> AsyncIterator[httpx.AsyncClient]:
    """A client of another app over `console`'s database, on its own port, whose clock is `now[0]`
    (seconds since the epoch): replicas that the test moves through time together."""
    server = AsgiServer(build_app(console.services, clock=lambda: now[0]), "127.0.0.1", 0, name="clocked")
    port = await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            yield client
    finally:
        await server.stop()


# -- sessions -------------------------------------------------------------------------------------------


async def test_a_login_on_one_replica_is_a_login_on_the_other(tmp_path: Path, store: Engine) -> None:
    group = ensure_group(store, "r1@chatroom", "一群")
    async with replicas(tmp_path, store) as (a, b):
        at_a = await a.logged_in()
        at_b = with_cookie(b, at_a)
        page = await at_b.get("/groups")
        assert page.status_code == 200 and "一群" in page.text
        assert await csrf_of(at_b) == at_a.headers["X-CSRF-Token"]  # the same token on every replica
        blocked = await at_b.post(f"/groups/{group.id}/blocked", data={"blocked": "1"})
        assert blocked.status_code in (200, 303), blocked.text
        kept = find_group(store, "r1@chatroom")
        assert kept is not None and kept.blocked
        assert (await b.client().get("/groups")).status_code == 303  # no cookie, no page

        assert (
            await at_b.post("/logout", data={"csrf_token": at_a.headers["X-CSRF-Token"]})
        ).status_code == 303
        ended = await at_a.get("/groups")  # logged out at b: logged out at a
        assert ended.status_code == 303 and "expired=1" in ended.headers["location"]


async def test_the_database_keeps_no_usable_cookie(tmp_path: Path, store: Engine) -> None:
    async with replicas(tmp_path, store) as (a, b):
        at_a = await a.logged_in()
        cookie = at_a.cookies["tuike_session"]
        with Session(store) as session:
            rows = session.exec(select(WebSessionRow)).all()
        assert len(rows) == 1
        stored = " ".join(str(value) for value in rows[0].model_dump().values())
        assert cookie not in stored and at_a.headers["X-CSRF-Token"] not in stored
        thief = b.client()
        thief.cookies.set("tuike_session", rows[0].token_hash)  # a leaked row, tried as a cookie
        refused = await thief.get("/groups")
        assert refused.status_code == 303 and refused.headers["location"].startswith("/login")
        assert (await at_a.get("/groups")).status_code == 200  # the real one still works


async def test_a_new_password_ends_every_session_on_every_replica(tmp_path: Path, store: Engine) -> None:
    async with replicas(tmp_path, store) as (a, b):
        first, second = await a.logged_in(), await b.logged_in()
        second_at_a = with_cookie(a, second)
        assert (await second_at_a.get("/")).status_code == 200
        # what `tuike web passwd` does, on any host
        await asyncio.to_thread(webauth.set_password_hash, store, hash_password("a new password"))
        for client in (first, second, second_at_a, with_cookie(b, first)):
            ended = await client.get("/groups")
            assert ended.status_code == 303 and "expired=1" in ended.headers["location"]
        assert web_sessions.session_count(store) == 0
        assert (await login(b.client(), PASSWORD)).status_code == 401
        fresh = b.client()
        assert (await login(fresh, "a new password")).status_code == 303
        assert (await with_cookie(a, fresh).get("/")).status_code == 200


async def test_a_session_under_an_older_password_ends_at_the_next_request(
    tmp_path: Path, store: Engine
) -> None:
    """A hash written another way (an older `tuike web passwd`, a restored backup) deletes no rows:
    the session still ends, at whichever replica sees it next."""
    async with replicas(tmp_path, store) as (a, b):
        at_a = await a.logged_in()
        with Session(store) as session:
            session.execute(update(WebAuth).values(password_hash=hash_password("restored password")))
            session.commit()
        ended = await with_cookie(b, at_a).get("/groups")
        assert ended.status_code == 303 and "expired=1" in ended.headers["location"]
        assert web_sessions.session_count(store) == 0
        assert (await at_a.get("/groups")).status_code == 303


async def test_an_idle_session_expires_everywhere_and_expired_rows_are_pruned(
    tmp_path: Path, store: Engine
) -> None:
    now = [1_800_000_000.0]
    async for console in serve_console(tmp_path, store):
        idle = console.services.settings.web.session_hours * 3600
        async with clocked(console, now) as at_one, clocked(console, now) as at_two:
            await login(at_one)
            at_two.cookies.set("tuike_session", at_one.cookies["tuike_session"])
            for step in range(4):  # used at one replica, then the other: alive past twice its idle time
                now[0] += idle / 2
                assert (await (at_one if step % 2 else at_two).get("/")).status_code == 200
            now[0] += idle + 1
            expired = await at_two.get("/groups")
            assert expired.status_code == 303 and "expired=1" in expired.headers["location"]
            assert web_sessions.session_count(store) == 0  # the expired row went with it

            await login(at_one)
            now[0] += idle + 1
            await login(at_two)
            assert web_sessions.session_count(store) == 1  # the idle one was pruned by the new login


# -- the wrong-password limit -----------------------------------------------------------------------------


@pytest.fixture
def verify_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Password checks made (a fast stand-in for Argon2)."""
    calls: list[str] = []

    def verify(_stored: str, password: str) -> bool:
        calls.append(password)
        return password == PASSWORD

    monkeypatch.setattr(web_app, "verify_password", verify)
    return calls


async def post_login(client: httpx.AsyncClient, password: str) -> httpx.Response:
    if not client.cookies.get("tuike_login"):
        await client.get("/login")
    data = {"csrf_token": client.cookies.get("tuike_login") or "", "password": password, "next": "/"}
    return await client.post("/login", data=data)


async def test_wrong_passwords_count_at_every_replica(
    tmp_path: Path, store: Engine, verify_calls: list[str]
) -> None:
    async with replicas(tmp_path, store) as (a, b):
        limit = a.services.settings.web.login_attempts_per_minute
        at_a, at_b = a.client(), b.client()
        for n in range(limit):
            assert (await post_login(at_a if n % 2 else at_b, f"wrong {n}")).status_code == 401
        for client in (at_a, at_b, a.client(), b.client()):  # even the right password waits now
            held = await post_login(client, PASSWORD)
            assert held.status_code == 429 and "秒后再试" in held.text
        assert len(verify_calls) == limit


async def test_parallel_guesses_at_two_replicas_get_the_limit_between_them(
    tmp_path: Path, store: Engine, verify_calls: list[str]
) -> None:
    async with replicas(tmp_path, store) as (a, b):
        limit = a.services.settings.web.login_attempts_per_minute
        clients = [a.client() for _ in range(15)] + [b.client() for _ in range(15)]
        for client in clients:
            await client.get("/login")
        answers = await asyncio.gather(*(post_login(c, f"wrong {n}") for n, c in enumerate(clients)))
        assert sorted(r.status_code for r in answers) == [401] * limit + [429] * (30 - limit)
        assert len(verify_calls) == limit


async def test_the_limit_lifts_after_a_minute_and_old_counts_are_pruned(
    tmp_path: Path, store: Engine, verify_calls: list[str]
) -> None:
    now = [1_800_000_000.0]
    async for console in serve_console(tmp_path, store):
        limit = console.services.settings.web.login_attempts_per_minute
        async with clocked(console, now) as at_one, clocked(console, now) as at_two:
            for n in range(limit):
                await post_login(at_one if n % 2 else at_two, "wrong")
            now[0] += 30
            held = await post_login(at_two, PASSWORD)
            assert held.status_code == 429 and "30 秒后再试" in held.text
            now[0] += 30
            assert (await post_login(at_two, PASSWORD)).status_code == 303
            # the minute-old ones are gone; the right one stays, forgiven, in the overall count
            assert web_sessions.failure_count(store) == 1


# -- setup links ------------------------------------------------------------------------------------------


async def test_a_setup_link_works_once_at_whichever_replica(tmp_path: Path, store: Engine) -> None:
    async with replicas(tmp_path, store, password=False) as (a, b):
        code_a, code_b = a.setup_token.value, b.setup_token.value
        with Session(store) as session:
            hashes = {row.code_hash for row in session.exec(select(WebSetupLink)).all()}
        assert len(hashes) == 2 and code_a not in hashes and code_b not in hashes  # kept hashed
        client = b.client()
        form = await client.get(f"/setup?code={code_a}")  # printed by a, opened at b
        assert form.status_code == 200 and 'type="password"' in form.text
        data = {"csrf_token": client.cookies["tuike_login"], "code": code_a}
        done = await client.post("/setup", data={**data, "password": PASSWORD, "again": PASSWORD})
        assert done.status_code == 303
        assert (await with_cookie(a, _with_csrf(client, await csrf_of(client))).get("/")).status_code == 200

        for console, code in ((a, code_a), (a, code_b), (b, code_b)):
            again = console.client()
            assert (await again.get(f"/setup?code={code}")).status_code == 410
            await again.get("/login")
            data = {"csrf_token": again.cookies["tuike_login"], "code": code}
            used = await again.post(
                "/setup", data={**data, "password": "another one!", "again": "another one!"}
            )
            assert used.status_code == 403 and "设置链接无效" in used.text
        stored = webauth.password_hash(store)
        assert stored is not None and web_app.verify_password(stored, PASSWORD)
        with Session(store) as session:
            assert session.exec(select(WebSetupLink)).all() == []


def _with_csrf(client: httpx.AsyncClient, token: str) -> httpx.AsyncClient:
    client.headers["X-CSRF-Token"] = token
    return client


async def test_setups_at_two_replicas_at_once_give_one_password_and_one_session(
    tmp_path: Path, store: Engine
) -> None:
    async with replicas(tmp_path, store, password=False) as (a, b):
        entries = [(a, a.setup_token.value), (b, b.setup_token.value)] * 3
        clients = []
        for console, code in entries:
            client = console.client()
            assert (await client.get(f"/setup?code={code}")).status_code == 200
            clients.append((client, code))

        async def set_up(client: httpx.AsyncClient, code: str, n: int) -> int:
            password = f"{PASSWORD} {n}"
            data = {"csrf_token": client.cookies["tuike_login"], "code": code}
            return (
                await client.post("/setup", data={**data, "password": password, "again": password})
            ).status_code

        statuses = await asyncio.gather(*(set_up(c, code, n) for n, (c, code) in enumerate(clients)))
        assert sorted(statuses) == [303] + [403] * 5
        assert sum([(await c.get("/")).status_code == 200 for c, _ in clients]) == 1
        assert web_sessions.session_count(store) == 1


async def test_a_setup_that_sets_no_password_gives_the_link_back(tmp_path: Path, store: Engine) -> None:
    async with replicas(tmp_path, store, password=False) as (a, b):
        code = a.setup_token.value
        client = b.client()
        await client.get(f"/setup?code={code}")
        data = {"csrf_token": client.cookies["tuike_login"], "code": code}
        short = await client.post("/setup", data={**data, "password": "short", "again": "short"})
        assert short.status_code == 400 and "至少 8 个字符" in short.text
        again = a.client()
        assert (await again.get(f"/setup?code={code}")).status_code == 200
        data = {"csrf_token": again.cookies["tuike_login"], "code": code}
        assert (
            await again.post("/setup", data={**data, "password": PASSWORD, "again": PASSWORD})
        ).status_code == 303


# -- a second process ---------------------------------------------------------------------------------------


@asynccontextmanager
async def tuike_web(tmp_path: Path, store: Engine) -> AsyncIterator[str]:
    """`tuike web` in its own process over `store`, on a free port; yields its address."""
    url = store.url.render_as_string(hide_password=False)
    home = tmp_path / "second"
    home.mkdir()
    config = home / "config.toml"
    config.write_text(
        f'[bot]\ndata_dir = "{(home / "data").as_posix()}"\n'
        f'[templates]\ndir = "{(home / "templates").as_posix()}"\n'
        f'[database]\nurl = "{url}"\n[web]\nlisten = "127.0.0.1:0"\n',
        encoding="utf-8",
    )
    with (home / "log.txt").open("w") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "--config",
            str(config),
            "web",
            cwd=home,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            assert process.stdout is not None
            async with asyncio.timeout(120):  # a guard against a hang: the address comes once it listens
                while True:
                    line = (await process.stdout.readline()).decode()
                    assert line, f"tuike web ended: {(home / 'log.txt').read_text()}"
                    if "web console: http://" in line:
                        break
            yield line.split("web console: ")[1].split()[0]
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(30):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()


async def test_a_second_process_counts_the_same_wrong_passwords(
    tmp_path: Path, store: Engine, console: Console
) -> None:
    async with tuike_web(tmp_path, store) as second:
        limit = console.services.settings.web.login_attempts_per_minute
        async with httpx.AsyncClient(base_url=second) as there:
            here = console.client()
            for n in range(limit):
                assert (await post_login(here if n % 2 else there, f"wrong {n}")).status_code == 401
            for client in (here, there):
                held = await post_login(client, PASSWORD)
                assert held.status_code == 429 and "秒后再试" in held.text


async def test_a_browser_logged_in_at_one_replica_opens_pages_at_another(
    tmp_path: Path,
    store: Engine,
    console: Console,
    browser_page: Any,
) -> None:
    ensure_group(store, "r9@chatroom", "跨机器的群")
    page = browser_page
    async with tuike_web(tmp_path, store) as second:
        await browser_login(page, console)
        await page.goto(second + "/groups")  # same host, another port: the browser sends the cookie
        assert page.url == second + "/groups"
        await page.wait_for_selector("text=跨机器的群")
        await page.screenshot(path=str(console.shots / "second-replica.png"), full_page=True)
        [cookie] = [c["value"] for c in await page.context.cookies() if c["name"] == "tuike_session"]
        await page.click('form[action="/logout"] button')  # logging out there ...
        await page.wait_for_url(second + "/login")
        await page.goto(console.url + "/groups")
        await page.wait_for_url(lambda url: "/login" in url)
        assert await page.locator('input[type="password"]').count() == 1
        kept = console.client()  # ... ended the session here too, had the cookie been kept
        kept.cookies.set("tuike_session", cookie)
        ended = await kept.get("/groups")
        assert ended.status_code == 303 and "expired=1" in ended.headers["location"]


async def test_a_cookie_that_is_no_session_is_sent_to_log_in(console: Console) -> None:
    """Garbage, a huge value, a value with characters no id has: a login page, never an error."""
    for value in (b"x" * 4000, "不是会话".encode(), b"\xff\xfe%00", b""):
        client = console.client()
        response = await client.get("/groups", headers={b"Cookie": b"tuike_session=" + value})
        assert response.status_code == 303, value
        assert response.headers["location"].startswith("/login?next=/groups")
    assert web_sessions.session_count(console.engine) == 0


async def test_a_burst_of_requests_at_two_replicas_while_others_log_in_all_get_their_pages(
    tmp_path: Path, store: Engine
) -> None:
    """Every request here moves the session's last-seen time (the clock jumps past the touch interval
    between rounds) while logins write beside them: none may fail on a busy database."""
    now = [1_800_000_000.0]
    async for console in serve_console(tmp_path, store):
        async with clocked(console, now) as at_one, clocked(console, now) as at_two:
            await login(at_one)
            at_two.cookies.set("tuike_session", at_one.cookies["tuike_session"])
            for _ in range(3):
                now[0] += 61
                others = [httpx.AsyncClient(base_url=(at_one, at_two)[n % 2].base_url) for n in range(4)]
                console.clients.extend(others)  # closed with the console
                answers = await asyncio.gather(
                    *(at_one.get("/groups") for _ in range(10)),
                    *(at_two.get("/groups") for _ in range(10)),
                    *(login(c) for c in others),
                )
                assert [a.status_code for a in answers] == [200] * 20 + [303] * 4
        assert web_sessions.session_count(store) == 1 + 3 * 4
