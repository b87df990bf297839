"""Rendering a console page: the layout, the navigation, the CSRF token and Chinese formatting.

These are the console's own templates (bot/web/templates), trusted and autoescaped — not the
operator's message templates, which only ever run in bot.render's sandbox.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from bot.render.filters import yuan

NAV = (
    ("/", "概览"),
    ("/groups", "群"),
    ("/templates", "模板"),
    ("/pushes", "推送"),
    ("/broadcasts", "群发"),
    ("/leagues", "联盟"),
    ("/orders", "订单"),
    ("/rebates", "返利"),
    ("/forward", "线报"),
)

_env: Environment | None = None


def environment() -> Environment:
    global _env
    if _env is None:
        env = Environment(
            loader=PackageLoader("bot.web", "templates"),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.filters["yuan"] = yuan
        env.filters["local"] = local_time
        _env = env
    return _env


def local_time(moment: datetime | None, zone: str = "Asia/Shanghai", fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC moment shown in the operator's zone ('—' for none)."""
    if moment is None:
        return "—"
    return moment.astimezone(ZoneInfo(zone)).strftime(fmt)


def page(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    title: str = "",
) -> HTMLResponse:
    """The page `template` rendered in the layout. A template under `partials/` (an htmx swap) gets
    the same context but no layout of its own."""
    session = getattr(request.state, "session", None)
    settings = request.app.state.services.settings
    values: dict[str, Any] = {
        "request": request,
        "title": title,
        "nav": NAV,
        "path": request.url.path,
        "csrf_token": session.csrf if session is not None else "",
        "logged_in": session is not None,
        "bot_name": settings.bot.name,
        "zone": settings.bot.timezone,
        "notice": request.query_params.get("ok", "")[:200],
    }
    values.update(context or {})
    html = environment().get_template(template).render(values)
    return HTMLResponse(html, status_code=status, headers=NO_STORE)


NO_STORE = {"Cache-Control": "no-store"}
"""Pages show live figures and carry the CSRF token: never cached, never shown from the back button."""


def error_page(request: Request, status: int, headline: str, detail: str = "") -> HTMLResponse:
    return page(
        request,
        "error.html",
        {"headline": headline, "detail": detail, "back": _came_from(request)},
        status=status,
        title=headline,
    )


def _came_from(request: Request) -> str:
    """The page of this console the browser came from (its Referer), for 「返回上一页」 without a
    `javascript:` link the content security policy would block; "" when it came from elsewhere."""
    referer = urlsplit(request.headers.get("referer", ""))
    if (
        referer.netloc != request.url.netloc
        or not referer.path.startswith("/")
        or referer.path.startswith("//")
    ):
        return ""
    return referer.path + (f"?{referer.query}" if referer.query else "")
