"""The 线报 page: is forwarding on and from where, the last day's outcomes, the messages held for the
end of the quiet hours, the target groups (configured, or an owner's 订阅 线报), and the recent source
messages with what became of each — the same log `tuike forward log` prints."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.forward.targets import TargetRow, listing
from bot.store import forward
from bot.store.models import ForwardLog, utcnow
from bot.web.paging import page_number, paging, query_link
from bot.web.services import WebServices
from bot.web.views import error_page, page

PER_PAGE = 50
STATUS_NAMES = {"forwarded": "已转发", "dropped": "已丢弃", "held": "免打扰暂存", "queued": "排队中"}


@dataclass(frozen=True, slots=True)
class _Found:
    rows: list[ForwardLog]
    total: int
    held: list[ForwardLog]
    counts: dict[str, int]
    targets: list[TargetRow]


def _read(services: WebServices, number: int) -> _Found:
    engine, settings = services.engine, services.settings.forward
    counts = forward.counts(engine, utcnow() - timedelta(days=1))
    rows = forward.recent(engine, PER_PAGE, (number - 1) * PER_PAGE)
    total = forward.total(engine)
    return _Found(rows, total, forward.held(engine), counts, listing(engine, settings.targets))


async def show(request: Request) -> Response:
    services: WebServices = request.app.state.services
    number = page_number(request.query_params.get("page"))
    found = await asyncio.to_thread(_read, services, number)
    settings = services.settings.forward
    context = {
        "forward": settings,
        "rows": found.rows,
        "held": found.held,
        "counts": found.counts,
        "targets": found.targets,
        "status_names": STATUS_NAMES,
        "paging": paging(number, found.total, PER_PAGE, lambda n: query_link("/forward", {}, n)),
    }
    return page(request, "forward.html", context, title="线报")


OUTCOME_NAMES = {
    "sent": "已发出",
    "sending": "发送中",
    "claimed": "排队等发送",
    "skipped": "没有发",
    "failed": "发送失败",
    "interrupted": "发送时机器人停了（可能已发出，不重发）",
}


@dataclass(frozen=True, slots=True)
class _Message:
    row: ForwardLog | None
    groups: list[forward.GroupOutcome]


def _message(services: WebServices, forward_id: int) -> _Message:
    row = forward.get(services.engine, forward_id)
    return _Message(row, forward.group_outcomes(services.engine, forward_id) if row else [])


async def message(request: Request) -> Response:
    """One source message: its whole text while kept, and what each target group got of it."""
    services: WebServices = request.app.state.services
    forward_id = int(request.path_params["forward_id"])
    found = await asyncio.to_thread(_message, services, forward_id)
    if found.row is None:
        return error_page(request, 404, "没有这条线报", f"编号 {forward_id} 不在转发记录里。")
    context = {
        "row": found.row,
        "groups": found.groups,
        "outcome_names": OUTCOME_NAMES,
        "status_names": STATUS_NAMES,
    }
    return page(request, "forward_message.html", context, title=f"线报 #{forward_id}")


routes: list[BaseRoute] = [
    Route("/forward", show, methods=["GET"]),
    Route("/forward/{forward_id:id}", message, methods=["GET"]),
]
