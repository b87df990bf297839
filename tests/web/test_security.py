"""Every page and action is behind the login, every change carries the session's CSRF token, wrong
passwords are limited, sessions expire, and the setup link works once."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from starlette.routing import Route

from bot.store import webauth
from bot.web.security import verify_password
from tests.helpers import tuike
from tests.web.conftest import PASSWORD, Console, browser_login, csrf_of, login, serve_console

PUBLIC = {"/login", "/setup", "/healthz", "/favicon.ico"}


def action_routes(console: Console, method: str) -> list[str]:
    """Every route of the app answering `method`, path parameters filled with 1."""
    paths = []
    for route in console.app.routes:
        if (
            isinstance(route, Route)
            and route.methods
            and method in route.methods
            and route.path not in PUBLIC
        ):
            paths.append(re.sub(r"\{[^}]+\}", "1", route.path))
    return sorted(set(paths))


async def test_every_page_needs_a_login(console: Console) -> None:
    client = console.client()
    pages = action_routes(console, "GET")
    assert "/" in pages and "/groups" in pages
    for path in pages:
        response = await client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next="), path


async def test_every_action_needs_a_login_and_changes_nothing(console: Console) -> None:
    client = console.client()
    for path in action_routes(console, "POST"):
        response = await client.post(path, data={"csrf_token": "x"})
        assert response.status_code in (401, 403), path
        assert "登录" in response.text or "没有执行" in response.text, path


async def test_every_action_refuses_a_form_without_the_csrf_token(console: Console) -> None:
    client = await console.logged_in()
    token = client.headers.pop("X-CSRF-Token")
    posts = action_routes(console, "POST")
    assert "/logout" in posts
    for path in posts:
        response = await client.post(path, data={"anything": "1"})
        assert response.status_code == 403, path
        assert "这个操作没有执行" in response.text, path
        forged = await client.post(path, data={"csrf_token": token[:-2] + "xx"})
        assert forged.status_code == 403, path
    assert (await client.get("/")).status_code == 200  # still logged in: the forged logout did nothing


async def test_login_sets_a_strict_http_only_cookie_and_logout_ends_it(console: Console) -> None:
    client = console.client()
    response = await login(client)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("tuike_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert (await client.get("/")).status_code == 200
    logout = await client.post("/logout", data={"csrf_token": client.headers["X-CSRF-Token"]})
    assert logout.status_code == 303
    assert (await client.get("/")).status_code == 303


async def test_a_wrong_password_gets_no_hint_and_too_many_wait(console: Console) -> None:
    client = console.client()
    wrong = await login(client, "not the password")
    assert wrong.status_code == 401
    assert "密码不对" in wrong.text and PASSWORD not in wrong.text
    for _ in range(console.services.settings.web.login_attempts_per_minute - 1):
        await login(client, "still wrong")
    limited = await login(client)  # even the right one waits now
    assert limited.status_code == 429
    assert "秒后再试" in limited.text
    assert (await client.get("/")).status_code == 303


async def test_an_idle_session_expires_and_the_login_page_says_so(tmp_path: Path, engine) -> None:  # type: ignore[no-untyped-def]
    now = [1000.0]
    from bot.web.app import build_app

    async for running in serve_console(tmp_path, engine):
        running.app = build_app(running.services, clock=lambda: now[0])
        # serve the clock-driven app on its own server
        from bot.chat.asgi import AsgiServer

        server = AsgiServer(running.app, "127.0.0.1", 0, name="expiry")
        port = await server.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                await login(client)
                assert (await client.get("/")).status_code == 200
                now[0] += running.services.settings.web.session_hours * 3600 + 1
                expired = await client.get("/groups")
                assert expired.status_code == 303
                assert "expired=1" in expired.headers["location"]
                page = await client.get(expired.headers["location"])
                assert "登录已过期" in page.text
        finally:
            await server.stop()


async def test_the_setup_link_sets_the_password_once(tmp_path: Path, engine) -> None:  # type: ignore[no-untyped-def]
    async for running in serve_console(tmp_path, engine, password=False):
        client = running.client()
        assert (await client.get("/setup?code=wrong")).status_code == 403
        form = await client.get(f"/setup?code={running.setup_token.value}")
        assert form.status_code == 200 and 'type="password"' in form.text
        token = client.cookies["tuike_login"]
        short = await client.post(
            "/setup",
            data={
                "csrf_token": token,
                "code": running.setup_token.value,
                "password": "short",
                "again": "short",
            },
        )
        assert short.status_code == 400 and "至少 8 个字符" in short.text
        token = client.cookies["tuike_login"]
        done = await client.post(
            "/setup",
            data={
                "csrf_token": token,
                "code": running.setup_token.value,
                "password": PASSWORD,
                "again": PASSWORD,
            },
        )
        assert done.status_code == 303
        assert (await client.get("/")).status_code == 200
        stored = webauth.password_hash(running.engine)
        assert stored is not None and PASSWORD not in stored and verify_password(stored, PASSWORD)
        again = running.client()
        assert (await again.get(f"/setup?code={running.setup_token.value}")).status_code == 410


async def test_an_htmx_call_without_a_session_is_told_where_to_log_in(console: Console) -> None:
    response = await console.client().get("/groups", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")


async def test_login_only_returns_to_paths_on_this_site(console: Console) -> None:
    client = console.client()
    await client.get("/login")
    token = client.cookies["tuike_login"]
    response = await client.post(
        "/login", data={"csrf_token": token, "password": PASSWORD, "next": "//evil.example/steal"}
    )
    assert response.headers["location"] == "/"


def test_tuike_web_passwd_reads_the_password_from_stdin(write_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = write_config("")
    short = tuike("--config", str(config), "web", "passwd", cwd=tmp_path, input="short\n")
    assert short.returncode == 2 and "至少 8 个字符" in short.stderr
    done = tuike("--config", str(config), "web", "passwd", cwd=tmp_path, input=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert "密码已设置" in done.stdout and PASSWORD not in done.stdout + done.stderr


@pytest.mark.usefixtures("console")
async def test_csrf_token_is_on_every_page_for_htmx(console: Console) -> None:
    client = await console.logged_in()
    token = await csrf_of(client)
    html = (await client.get("/")).text
    assert f'"X-CSRF-Token": "{token}"' in html


async def test_login_in_a_real_browser(console: Console, browser_page) -> None:  # type: ignore[no-untyped-def]
    page = browser_page
    await page.goto(console.url + "/groups")
    assert "/login" in page.url
    assert await page.locator('input[type="password"]').count() == 1
    await page.screenshot(path=str(console.shots / "login.png"), full_page=True)
    await page.fill('input[type="password"]', "wrong password!")
    await page.click('button[type="submit"]')
    await page.wait_for_selector("text=密码不对")
    await browser_login(page, console)
    assert await page.locator("header nav a.on").inner_text() == "概览"


async def test_a_database_that_is_briefly_unreachable_gets_a_clear_page_and_changes_nothing(
    console: Console,
) -> None:
    from sqlalchemy import create_engine

    from bot.store.groups import ensure_group, find_group

    group = ensure_group(console.engine, "r1@chatroom", "测试群")
    client = await console.logged_in()
    working = console.services.engine
    console.services.engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/gone")  # refused
    try:
        page = await client.get("/")
        assert page.status_code == 503 and "数据库暂时连不上" in page.text
        action = await client.post(f"/groups/{group.id}/blocked", data={"blocked": "1"})
        assert action.status_code == 503 and "没有执行" in action.text
        assert "Traceback" not in action.text and "psycopg" not in action.text
    finally:
        console.services.engine.dispose()
        console.services.engine = working
    kept = find_group(working, "r1@chatroom")
    assert kept is not None and not kept.blocked
    assert (await client.get("/")).status_code == 200  # back as soon as the database is


async def test_the_log_prints_a_setup_link_that_works_after_secret_masking(
    tmp_path: Path,
    engine,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    from bot.compose import Composition
    from bot.redact import mask
    from bot.web.server import start_web
    from tests.web.conftest import console_settings

    settings = console_settings(tmp_path)
    services = Composition(settings, engine).web_services()
    with caplog.at_level(logging.INFO, logger="bot.web.server"):
        console = await start_web(services)
    try:
        line = mask(next(r.getMessage() for r in caplog.records if "/setup?" in r.getMessage()))
        found = re.search(r"(http://\S+/setup\?code=[\w-]+)", line)
        assert found is not None, line
        async with httpx.AsyncClient() as client:
            form = await client.get(found[1])
        assert form.status_code == 200 and 'type="password"' in form.text
    finally:
        await console.stop()
