"""The 订单 page (being built)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.web.views import page


async def show(request: Request) -> Response:
    return page(request, "placeholder.html", {"label": "订单"}, title="订单")


routes: list[BaseRoute] = [Route("/orders", show, methods=["GET"])]
