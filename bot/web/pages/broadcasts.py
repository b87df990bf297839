"""The 群发 page (being built)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.web.views import page


async def show(request: Request) -> Response:
    return page(request, "placeholder.html", {"label": "群发"}, title="群发")


routes: list[BaseRoute] = [Route("/broadcasts", show, methods=["GET"])]
