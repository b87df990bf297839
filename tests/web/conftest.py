"""The web console under test: served on a real loopback port by uvicorn, over a real store, driven by
httpx (every action, permission and CSRF check) and by Debian's Chromium through Playwright (what an
operator sees). Screenshots go under each test's temporary folder (`shots/`)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from bot.compose import Composition
from bot.config import Settings
from bot.render.engine import Renderer
from bot.store import webauth
from bot.web.app import build_app
from bot.web.security import SetupToken, hash_password
from bot.web.services import WebServices

PASSWORD = "correct horse battery"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HAVE_CHROMIUM = Path(CHROMIUM).exists()
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
_HASHED = hash_password(PASSWORD)  # once: Argon2 is slow on purpose


@dataclass
class Console:
    """A running console: its address, the services behind it, and ways in."""

    url: str
    services: WebServices
    app: Any
    setup_token: SetupToken
    shots: Path
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def engine(self) -> Engine:
        return self.services.engine

    def client(self) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=self.url, follow_redirects=False, timeout=30)
        self.clients.append(client)
        return client

    async def logged_in(self) -> httpx.AsyncClient:
        """An httpx client with a session; `client.headers['X-CSRF-Token']` carries its CSRF token."""
        client = self.client()
        await login(client)
        return client


async def login(client: httpx.AsyncClient, password: str = PASSWORD) -> httpx.Response:
    form = await client.get("/login")
    token = client.cookies.get("tuike_login") or ""
    assert token, form.text
    response = await client.post("/login", data={"csrf_token": token, "password": password, "next": "/"})
    if response.status_code == 303:
        client.headers["X-CSRF-Token"] = await csrf_of(client)
    return response


async def csrf_of(client: httpx.AsyncClient) -> str:
    """The session's CSRF token, read from a page as a browser would."""
    html = (await client.get("/")).text
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def console_settings(tmp_path: Path, **web: Any) -> Settings:
    return Settings.model_validate(
        {
            "bot": {"data_dir": str(tmp_path / "data")},
            "templates": {"dir": str(tmp_path / "operator-templates")},
            "web": {"enabled": True, "listen": "127.0.0.1:0", **web},
        }
    )


async def serve_console(
    tmp_path: Path, engine: Engine, *, settings: Settings | None = None, password: bool = True, **parts: Any
) -> AsyncIterator[Console]:
    """Serve a console over `engine`; `parts` go to WebServices (leagues=, pushes=, orders=, clock=)."""
    from bot.chat.asgi import AsgiServer

    settings = settings or console_settings(tmp_path)
    if password and webauth.password_hash(engine) != _HASHED:
        # a second console on the same database (another replica) finds the password set: setting it
        # again would be a password change, which ends every session
        webauth.set_password_hash(engine, _HASHED)
    renderer = parts.pop("renderer", None) or Renderer(settings.templates_dir, timezone=settings.bot.timezone)
    composition = Composition(settings, engine, leagues=parts.pop("leagues", None), renderer=renderer)
    services = composition.web_services(**parts)
    app = build_app(services)
    token = await app.state.setup_links.issue()  # as `tuike web` does while no password is set
    server = AsgiServer(app, "127.0.0.1", 0, name="web-console-test")
    port = await server.start()
    shots = tmp_path / "shots"
    shots.mkdir(exist_ok=True)
    console = Console(f"http://127.0.0.1:{port}", services, app, token, shots)
    try:
        yield console
    finally:
        for client in console.clients:
            await client.aclose()
        await server.stop()


@pytest.fixture
async def console(tmp_path: Path, store: Engine) -> AsyncIterator[Console]:
    """The console over an empty store (SQLite, and PostgreSQL when configured), password set."""
    async for running in serve_console(tmp_path, store):
        yield running


@pytest.fixture
async def browser_page(tmp_path: Path) -> AsyncIterator[Any]:
    """A Playwright page in headless Debian Chromium (no browser download). Missing Chromium skips the
    test locally and fails it in CI (`.ci/run` installs the package and sets TUIKE_REQUIRE_BROWSER)."""
    if not HAVE_CHROMIUM:
        if os.environ.get("TUIKE_REQUIRE_BROWSER"):
            pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium); .ci/run installs it")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, env=cjk_font_env(tmp_path)
        )
        context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        context.set_default_timeout(20_000)
        page = await context.new_page()
        try:
            yield page
        finally:
            await context.close()
            await browser.close()


def cjk_font_env(tmp_path: Path) -> dict[str, str]:
    """Chromium's environment with a fontconfig file that adds the Noto Sans CJK font our install already
    carries (for the charts), so screenshots show Chinese without a system font package."""
    import cvttf_NotoSansCJK_Regular as cjk

    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f"<dir>{Path(cjk.__file__).parent}</dir>"
        '<include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
        f"<cachedir>{tmp_path / 'fontcache'}</cachedir>"
        "</fontconfig>",
        encoding="utf-8",
    )
    return {**os.environ, "FONTCONFIG_FILE": str(conf)}


async def browser_login(page: Any, console: Console, password: str = PASSWORD) -> None:
    await page.goto(console.url + "/login")
    await page.fill('input[type="password"]', password)
    await page.click('button[type="submit"]')
    await page.wait_for_url(console.url + "/")
