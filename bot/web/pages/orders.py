"""The 订单 page: every synced order line, filtered by league, status, group, date and text, 50 a page,
with the totals of the whole filtered set; and one line's detail (its status history, the order's
other lines, the member who bound it for a rebate).

The queries live in bot.store.order_browse (read-only, aggregated in SQL); nothing here changes data.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from bot.orders.chart import LEAGUE_NAMES
from bot.orders.report import day_start
from bot.services import unattributed
from bot.store import order_browse
from bot.web import orders_csv
from bot.web.paging import page_number, paging, query_link, whole_number
from bot.web.services import WebServices
from bot.web.views import error_page, page

STATUSES = (
    ("pending", "已付款"),
    ("settled", "已结算"),
    ("cancelled", "已取消/退款"),
)
"""The statuses the store keeps (bot.store.orders: every league maps its own to these three)."""
STATUS_NAMES = dict(STATUSES) | {"received": "已收货", "refunded": "已退款", "invalid": "无效"}
STATUS_HINTS = {
    "pending": "买家已付款，联盟还没结算佣金（收货后才结算）",
    "settled": "联盟已结算，佣金到账",
    "cancelled": "订单取消、退款或被联盟判为无效，不计佣金",
}
UNATTRIBUTED = "none"
MAX_TEXT = 64


def league_name(league: str) -> str:
    return LEAGUE_NAMES.get(league, league)


def status_name(status: str) -> str:
    return STATUS_NAMES.get(status, status)


@dataclass(frozen=True, slots=True)
class Query:
    """The filter as the operator typed it (kept to refill the form and the page links) and as the
    store reads it; `problems` are the parts that could not be understood (left out of the filter)."""

    form: dict[str, str]
    wanted: order_browse.OrderFilter
    page: int
    problems: list[str]


EARLIEST_DAY = date(1970, 1, 1)
LATEST_DAY = date.max - timedelta(days=2)
"""Days a filter may name: no order is older or newer, and at the calendar's own ends the step to
UTC or to the next day's midnight would overflow (`to=9999-12-31` answered 500)."""


def _date(text: str) -> date | None:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return min(max(day, EARLIEST_DAY), LATEST_DAY)


def read_query(params: dict[str, str], zone: ZoneInfo) -> Query:
    form = {key: params.get(key, "").strip() for key in ("league", "status", "group", "from", "to", "q")}
    form["q"] = form["q"][:MAX_TEXT]
    problems: list[str] = []
    status = form["status"]
    if status and status not in STATUS_NAMES:
        problems.append("没有这个订单状态，已按全部状态显示。")
        status = form["status"] = ""
    group_id: int | None = None
    unattributed = form["group"] == UNATTRIBUTED
    if form["group"] and not unattributed:
        if form["group"].isascii() and form["group"].isdigit():
            group_id = whole_number(form["group"])  # one beyond any id: no group, no orders
        else:
            problems.append("群的编号不对，已按全部群显示。")
            form["group"] = ""
    start = end = None
    first, last = _date(form["from"]), _date(form["to"])
    if form["from"] and first is None:
        problems.append("开始日期看不懂（格式如 2026-05-01），已忽略。")
        form["from"] = ""
    if form["to"] and last is None:
        problems.append("结束日期看不懂（格式如 2026-05-31），已忽略。")
        form["to"] = ""
    if first is not None and last is not None and last < first:
        problems.append("结束日期早于开始日期，已把两个日期对调。")
        first, last = last, first
        form["from"], form["to"] = first.isoformat(), last.isoformat()
    if first is not None:
        start = day_start(first, zone)
    if last is not None:
        end = day_start(last + timedelta(days=1), zone)
    wanted = order_browse.OrderFilter(
        league=form["league"],
        status=status,
        group_id=group_id,
        unattributed=unattributed,
        start=start,
        end=end,
        text=form["q"],
    )
    return Query(form, wanted, page_number(params.get("page")), problems)


def page_link(form: dict[str, str], number: int) -> str:
    """/orders with the same filter, on page `number`."""
    return query_link("/orders", form, number)


def csv_link(form: dict[str, str]) -> str:
    """/orders.csv with the same filter (every page of it)."""
    return query_link("/orders.csv", form, 1)


def _choices(services: WebServices) -> tuple[list[str], list[tuple[int, str]]]:
    """What the league and group filters offer."""
    leagues = sorted(set(order_browse.order_leagues(services.engine)) | set(services.leagues))
    return leagues, order_browse.group_choices(services.engine)


def _common(services: WebServices) -> dict[str, Any]:
    default = unattributed.default_sharer(services.parts.spots.defaults)

    def why(line: order_browse.OrderLine) -> str:
        """The code of why `line` is on no group (`bot.services.unattributed`)."""
        return unattributed.reason(line.league, line.sharer_appid, line.pid, line.tag, default)

    return {
        "league_name": league_name,
        "status_name": status_name,
        "status_hints": STATUS_HINTS,
        "zone": services.settings.bot.timezone,
        "why_unattributed": lambda line: unattributed.WHY[why(line)],
        "unattributed_short": lambda line: unattributed.SHORT[why(line)],
    }


async def show(request: Request) -> Response:
    services: WebServices = request.app.state.services
    zone = ZoneInfo(services.settings.bot.timezone)
    query = read_query(dict(request.query_params), zone)
    # The page and the totals are independent queries over up to 100k orders: run them side by side.
    lines, totals, (leagues, groups) = await asyncio.gather(
        asyncio.to_thread(order_browse.order_page, services.engine, query.wanted, query.page),
        asyncio.to_thread(order_browse.order_totals, services.engine, query.wanted),
        asyncio.to_thread(_choices, services),
    )
    context = {
        **_common(services),
        "form": query.form,
        "problems": query.problems,
        "lines": lines,
        "totals": totals,
        "leagues": leagues,
        "groups": groups,
        "statuses": STATUSES,
        "unattributed": UNATTRIBUTED,
        "paging": paging(query.page, totals.count, order_browse.PER_PAGE, lambda n: page_link(query.form, n)),
        "first_row": (query.page - 1) * order_browse.PER_PAGE + 1,
        "filtered": any(query.form.values()),
        "csv_link": csv_link(query.form),
    }
    return page(request, "orders.html", context, title="订单")


async def export_csv(request: Request) -> Response:
    """Every order line the filter admits (the page's filter, read the same way: a part it cannot
    understand is left out, as the page says), as a CSV file for Excel, streamed batch by batch. Each
    batch is fetched and encoded in a worker thread; the first one before the response starts, so a
    database that cannot be reached gets the usual error page instead of a broken download."""
    services: WebServices = request.app.state.services
    engine = services.engine
    zone = ZoneInfo(services.settings.bot.timezone)
    query = read_query(dict(request.query_params), zone)
    writer = orders_csv.OrderCsv(zone, league_name, status_name)

    def batch(after: order_browse.OrderLine | None) -> tuple[bytes, order_browse.OrderLine | None]:
        """The next batch as CSV, and the line the one after it starts from (None: that was the last)."""
        lines = order_browse.order_batch(engine, query.wanted, after, order_browse.EXPORT_BATCH)
        more = len(lines) == order_browse.EXPORT_BATCH
        return writer.rows(lines), lines[-1] if more else None

    first, after = await asyncio.to_thread(batch, None)

    async def body() -> AsyncIterator[bytes]:
        yield writer.start() + first
        resume = after
        while resume is not None:
            chunk, resume = await asyncio.to_thread(batch, resume)
            yield chunk

    today = services.clock().astimezone(zone).date()
    name, fallback = orders_csv.download_names(query.form["from"], query.form["to"], today)
    headers = orders_csv.download_headers(name, fallback)
    return StreamingResponse(body(), media_type=orders_csv.MEDIA_TYPE, headers=headers)


async def detail(request: Request) -> Response:
    services: WebServices = request.app.state.services
    row_id: int = request.path_params["row_id"]
    found = await asyncio.to_thread(order_browse.order_detail, services.engine, row_id)
    if found is None:
        return error_page(request, 404, "没有这条订单", "它可能已被清理，或者链接里的编号不对。")
    context = {
        **_common(services),
        "order": found.line,
        "events": found.events,
        "siblings": found.siblings,
        "binding": found.binding,
        "member_link": "/rebates/member/" + quote(found.binding.member_id, safe="") if found.binding else "",
        "rebate_enabled": services.settings.rebate.enabled,
        "back": _back(request),
    }
    return page(request, "order.html", context, title=f"订单 {found.line.order_id}")


def _back(request: Request) -> str:
    """Where "back to the list" goes: the list the operator came from, when it was ours."""
    referer = request.headers.get("referer", "")
    origin = f"{request.url.scheme}://{request.url.netloc}"
    if referer.startswith(origin + "/orders") and not referer.startswith(origin + "/orders/"):
        return referer[len(origin) :]
    return "/orders"


routes: list[BaseRoute] = [
    Route("/orders", show, methods=["GET"]),
    Route("/orders.csv", export_csv, methods=["GET"]),
    Route("/orders/{row_id:id}", detail, methods=["GET"]),
]
