"""The console's ASGI app: the login wall, CSRF on every change, error pages, and every page's routes.

`Gate` (an ASGI middleware, so it sees every request before any page does):
- every path but the login, setup, health and static ones needs a live session; a browser is sent to
  the login page (an htmx call gets 401 with `HX-Redirect`), told when its session expired. Sessions
  are in the database (any replica serves any login): when it cannot be read, such a path gets the
  "database unreachable" page, and nothing runs;
- every request that is not GET/HEAD must carry the session's CSRF token (form field `csrf_token` or
  header `X-CSRF-Token`); login and setup forms carry a token bound to a cookie instead. The body is
  read here (bounded) and handed on unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, quote, urlencode

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from bot.render.worker import PreviewWorker
from bot.store import webauth
from bot.web.pages import ALL_PAGES
from bot.web.security import (
    LoginLimiter,
    Sessions,
    SetupLinks,
    WebSession,
    hash_password,
    password_problem,
    password_stamp,
    same,
    verify_password,
)
from bot.web.services import WebServices
from bot.web.views import error_page, page

log = logging.getLogger(__name__)

SESSION_COOKIE = "tuike_session"
LOGIN_COOKIE = "tuike_login"
PUBLIC = frozenset({"/login", "/setup", "/healthz", "/favicon.ico"})
SESSIONLESS = frozenset({"/healthz", "/favicon.ico"})
"""Paths (with /static/) that never look at the session: no database read for them."""
MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_FIELDS = 1000
"""Fields a posted form may have (the broadcast form, the biggest, has a few dozen)."""
MAX_CONCURRENT_VERIFIES = 2
"""Password checks (Argon2: ~0.7 s of a core and 64 MB each) running at once; more wait their turn."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
STATIC = Path(__file__).resolve().parent / "static"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _secure(request: Request) -> bool:
    """HTTPS as the browser sees it: a trusted proxy's X-Forwarded-Proto has set the scheme already."""
    return request.url.scheme == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="strict", secure=_secure(request), path="/"
    )


def safe_next(target: str) -> str:
    """Only a path on this site (never `//evil` or a full URL) may be returned to after login."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


class Gate:
    def __init__(self, app: ASGIApp, sessions: Sessions) -> None:
        self.app = app
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_security_headers(send)
        scope["query_string"] = without_nul(scope.get("query_string", b""))
        request = Request(scope)
        path = request.url.path
        public = path in PUBLIC or path.startswith("/static/")
        session_id = request.cookies.get(SESSION_COOKIE, "")
        session = None
        if session_id and path not in SESSIONLESS and not path.startswith("/static/"):
            try:
                session = await self.sessions.get(session_id)
            except (OperationalError, DBAPIError) as exc:
                if not public:  # neither let in nor sent to log in again: the database is down
                    await (await database_error(request, exc))(scope, receive, send)
                    return
        scope.setdefault("state", {})["session"] = session
        if not public and session is None:
            await self._to_login(request, expired=bool(session_id))(scope, receive, send)
            return
        if request.method in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive, MAX_BODY_BYTES)
        if body is None:
            await error_page(request, 413, "提交的内容太大了")(scope, receive, send)
            return
        expected = session.csrf if session is not None else request.cookies.get(LOGIN_COOKIE, "")
        try:
            given = request.headers.get("x-csrf-token", "") or _form_field(request, body, "csrf_token")
            _count_fields(request, body)
        except ValueError:
            log.warning(
                "web console: %s %s with more than %d form fields refused", request.method, path, MAX_FIELDS
            )
            response = error_page(request, 400, "表单的项太多了", "这个操作没有执行。")
            await response(scope, receive, send)
            return
        if not expected or not given or not same(given, expected):
            log.warning("web console: %s %s without a valid CSRF token refused", request.method, path)
            response = error_page(
                request, 403, "这个操作没有执行", "表单已过期或不是从后台页面提交的。请刷新页面后再试。"
            )
            await response(scope, receive, send)
            return
        await self.app(scope, _replay(body), send)

    def _to_login(self, request: Request, *, expired: bool) -> Response:
        target = "/login?next=" + quote(
            request.url.path + (f"?{request.url.query}" if request.url.query else "")
        )
        if expired:
            target += "&expired=1"
        if request.headers.get("hx-request"):
            return PlainTextResponse("login required", status_code=401, headers={"HX-Redirect": target})
        if request.method not in SAFE_METHODS:
            return error_page(request, 401, "登录已过期", "这个操作没有执行。请重新登录后再试一次。")
        return RedirectResponse(target, status_code=303)


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""Only the console's own scripts run (htmx and the few in static/), and no other site may frame a
page: 「标记已付」 and the broadcast confirm cannot be clickjacked. Inline styles stay allowed (htmx
adds its indicator style, charts carry theirs); inline scripts and `javascript:` links do not."""
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),  # browsers that predate frame-ancestors
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


def _with_security_headers(send: Send) -> Send:
    """`send` adding `SECURITY_HEADERS` to every answer: pages, redirects, errors, static files."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            names = {name.lower() for name, _ in message.get("headers", [])}
            extra = [(name, value) for name, value in SECURITY_HEADERS if name not in names]
            message["headers"] = [*message.get("headers", []), *extra]
        await send(message)

    return sending


def without_nul(query: bytes) -> bytes:
    """The query string with every NUL taken out of its names and values. No page means one, and
    PostgreSQL refuses text that holds one (a search for it looked like a database outage)."""
    if b"%00" not in query and b"\x00" not in query:
        return query
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    return urlencode([(k.replace("\x00", ""), v.replace("\x00", "")) for k, v in pairs]).encode("ascii")


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


def _urlencoded(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")


def _form_field(request: Request, body: bytes, name: str) -> str:
    """The field's first value; ValueError past `MAX_FIELDS` fields."""
    if not _urlencoded(request):
        return ""
    values = parse_qs(body.decode("utf-8", "replace"), max_num_fields=MAX_FIELDS).get(name, [])
    return values[0] if values else ""


def _count_fields(request: Request, body: bytes) -> None:
    """ValueError for a form with more than `MAX_FIELDS` fields (also when the token came in a header):
    refused here, as a 400, before a page parses it."""
    if _urlencoded(request) and body.count(b"&") + body.count(b";") >= MAX_FIELDS:
        raise ValueError("too many fields")


def client_of(request: Request) -> str:
    return request.client.host if request.client else "?"


def current_session(request: Request) -> WebSession:
    session = request.state.session
    assert isinstance(session, WebSession)  # the gate lets no one without a session this far
    return session


# -- login, setup, logout -----------------------------------------------------------------------------


def _login_form(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    """The login (or setup) form. Its CSRF token is bound to a cookie, kept while it lasts: a second tab
    or the browser's own requests must not invalidate a form already on screen."""
    token = request.cookies.get(LOGIN_COOKIE, "")
    if not (20 <= len(token) <= 64 and token.replace("-", "").replace("_", "").isalnum()):
        token = secrets.token_urlsafe(24)
    response = page(request, template, {"login_csrf": token, **context}, status=status, title="登录")
    set_cookie(response, request, LOGIN_COOKIE, token, max_age=3600)
    return response


async def login_page(request: Request) -> Response:
    if request.state.session is not None:
        return RedirectResponse("/", status_code=303)
    services: WebServices = request.app.state.services
    no_password = await asyncio.to_thread(webauth.password_hash, services.engine) is None
    message = "登录已过期，请重新登录。" if request.query_params.get("expired") else ""
    context = {"next": safe_next(request.query_params.get("next", "/")), "message": message}
    return _login_form(request, "login.html", {**context, "no_password": no_password})


async def login(request: Request) -> Response:
    services: WebServices = request.app.state.services
    limiter: LoginLimiter = request.app.state.limiter
    form = await request.form()
    target = safe_next(str(form.get("next", "/")))
    client = client_of(request)
    # Checked and counted in one transaction: a hundred parallel guesses, at any replica, see each
    # other's attempts, and a check still running counts as a wrong one until it says otherwise.
    wait = await limiter.attempt(client)
    if wait:
        message = f"密码错误次数太多，请 {wait} 秒后再试。"
        return _login_form(
            request, "login.html", {"next": target, "message": message, "no_password": False}, 429
        )
    stored = await asyncio.to_thread(webauth.password_hash, services.engine)
    password = str(form.get("password", ""))
    if stored is None:
        await limiter.succeeded(client)
        message = "还没有设置密码：请先在服务器上运行 tuike web passwd。"
        return _login_form(
            request, "login.html", {"next": target, "message": message, "no_password": True}, 403
        )
    verifying: asyncio.Semaphore = request.app.state.verifying
    async with verifying:  # Argon2 takes a core and 64 MB per check: a few at a time, the rest queue
        right = await asyncio.to_thread(verify_password, stored, password)
    if not right:
        log.warning("web console: wrong password from %s", client)
        message = "密码不对，请再试一次。"
        return _login_form(
            request, "login.html", {"next": target, "message": message, "no_password": False}, 401
        )
    await limiter.succeeded(client)
    return await _logged_in(request, target, stored)


async def _logged_in(request: Request, target: str, stored_hash: str) -> Response:
    sessions: Sessions = request.app.state.sessions
    session = await sessions.create(password_stamp(stored_hash))
    response = RedirectResponse(target, status_code=303)
    set_cookie(response, request, SESSION_COOKIE, session.id, max_age=None)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    log.info("web console: operator logged in from %s", client_of(request))
    return response


async def setup_page(request: Request) -> Response:
    services: WebServices = request.app.state.services
    links: SetupLinks = request.app.state.setup_links
    if await asyncio.to_thread(webauth.password_hash, services.engine) is not None:
        return error_page(request, 410, "密码已经设置过了", "请直接登录；要修改密码请运行 tuike web passwd。")
    given = request.query_params.get("code", "")
    if not await links.accepts(given):
        return error_page(
            request, 403, "设置链接无效", "这个链接不对或已经用过了。请看机器人日志里最新的设置链接。"
        )
    return _login_form(request, "setup.html", {"code": given, "message": ""})


async def setup(request: Request) -> Response:
    services: WebServices = request.app.state.services
    links: SetupLinks = request.app.state.setup_links
    form = await request.form()
    given = str(form.get("code", ""))
    if await asyncio.to_thread(webauth.password_hash, services.engine) is not None or not await links.claim(
        given
    ):
        return error_page(request, 403, "设置链接无效", "这个链接不对或已经用过了。")
    password, again = str(form.get("password", "")), str(form.get("again", ""))
    problem = password_problem(password) or ("" if password == again else "两次输入的密码不一样")
    if problem:
        await links.release(given)
        return _login_form(request, "setup.html", {"code": given, "message": problem}, 400)
    try:
        stored = await asyncio.to_thread(hash_password, password)
        await asyncio.to_thread(webauth.set_password_hash, services.engine, stored)
    except BaseException:  # a claim left behind would hold every link for SETUP_CLAIM_TIMEOUT
        await asyncio.shield(links.release(given))
        raise
    log.info("web console: operator password set through the setup link")
    return await _logged_in(request, "/", stored)


async def logout(request: Request) -> Response:
    sessions: Sessions = request.app.state.sessions
    await sessions.drop(current_session(request).id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def healthz(_request: Request) -> Response:
    return PlainTextResponse("ok")


async def favicon(_request: Request) -> Response:
    return Response(status_code=204)


# -- errors ---------------------------------------------------------------------------------------------

_HEADLINES = {
    400: "请求有问题",
    403: "没有权限",
    404: "没有这个页面",
    405: "不支持这个操作",
    409: "操作冲突",
    413: "提交的内容太大了",
    429: "操作太频繁了",
}


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headline = _HEADLINES.get(exc.status_code, "出错了")
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != headline else ""
    if detail and detail.isascii():  # Starlette's own English phrases ("Not Found") add nothing
        detail = ""
    return error_page(request, exc.status_code, headline, detail)


async def database_error(request: Request, exc: Exception) -> Response:
    log.warning("web console: database unavailable on %s: %s", request.url.path, type(exc).__name__)
    return error_page(
        request, 503, "数据库暂时连不上", "刚才的操作没有执行，什么都没有改动。请稍后刷新再试。"
    )


async def server_error(request: Request, exc: Exception) -> Response:
    log.error("web console: %s on %s", type(exc).__name__, request.url.path, exc_info=exc)
    return error_page(request, 500, "出错了", "这一步没有完成。详细原因已经写进机器人的日志。")


def build_app(services: WebServices, *, clock: Callable[[], float] | None = None) -> Starlette:
    """The console's app. Its sessions, login limit and setup links are in `services.engine`'s
    database: apps over one database (replicas) serve one console. `clock`: seconds since the epoch."""
    web = services.settings.web
    routes: list[BaseRoute] = [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/setup", setup_page, methods=["GET"]),
        Route("/setup", setup, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/favicon.ico", favicon, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    for module in ALL_PAGES:
        routes.extend(module.routes)
    app = Starlette(
        routes=routes,
        exception_handlers={
            HTTPException: http_error,
            OperationalError: database_error,
            DBAPIError: database_error,
            Exception: server_error,
        },
    )
    clock = clock or time.time

    def engine() -> Engine:
        return services.engine

    sessions = Sessions(engine, idle_seconds=web.session_hours * 3600, clock=clock)
    app.state.services = services
    if services.renderer.worker is None:  # edited text renders where a runaway cannot stop the loop
        services.renderer.worker = PreviewWorker.for_renderer(services.renderer)
    app.state.sessions = sessions
    app.state.limiter = LoginLimiter(engine, web.login_attempts_per_minute, clock=clock)
    app.state.verifying = asyncio.Semaphore(MAX_CONCURRENT_VERIFIES)
    app.state.setup_links = SetupLinks(engine, clock=clock)
    app.add_middleware(Gate, sessions=sessions)
    if web.trusted_proxies:  # outermost: the gate and the login limit see the real client
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(web.trusted_proxies))
    return app
