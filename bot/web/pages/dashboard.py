"""The 概览 page: today / 7 days / 30 days at a glance (requests, links issued, orders, paid amount,
estimated and settled commission, per league), commission per day as an inline SVG chart, the top
groups of the last 30 days, and "需要处理": what needs the operator now.

Figures: bot.orders.dashboard.overview (aggregated in SQL, one worker-thread call). Attention:
leagues (bot.web.pages.leagues.league_alerts), failed or interrupted pushes in the last 24 hours
(bot.push.claims.counts_since), templates falling back (Renderer.problems), and the configured chat
accounts that are not logged in, as their channels last recorded it (`ChannelPlugin.login_health`:
the console may run in another process than the channel).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.chat import registry
from bot.chat.base import LoginHealth
from bot.config import Settings
from bot.leagues.registry import LEAGUES
from bot.orders.dashboard import Overview, league_label, overview
from bot.push.claims import FAILED, INTERRUPTED, counts_since
from bot.render.engine import TemplateProblem, display_path
from bot.web.charts import Series, stacked_bars
from bot.web.pages.leagues import Alert, league_alerts, refresh_funds
from bot.web.services import WebServices
from bot.web.views import page

LEAGUE_COLORS = {plugin.name: plugin.color for plugin in LEAGUES}


def _logged_out(engine: Engine, settings: Settings) -> list[LoginHealth]:
    """The configured accounts whose channel says they are not logged in (channels with login health,
    in the registry's order): the store tells, so this works when the channels run in another process."""
    out = []
    for kind, channel in registry.CHANNELS.items():
        if kind not in settings.chat.kinds:
            continue
        for table in settings.chat.of(kind).per_account():  # every account, when a table has several
            health = channel.login_health(table, engine)
            if health is not None and not health.logged_in:
                out.append(health)
    return out


FIGURES_SECONDS = 60.0
"""How long the figures are reused: a month of orders is a few hundred thousand rows to sum, and
orders arrive by sync every few minutes anyway. What needs attention is read afresh every time."""


@dataclass(frozen=True, slots=True)
class _Read:
    figures: Overview
    pushes: dict[str, int]
    templates: list[TemplateProblem]
    logged_out: list[LoginHealth]


class FiguresCache:
    """The last `Overview` and when it was made; one computation at a time (a second page view
    waits for the first's instead of summing the same month again)."""

    def __init__(self, seconds: float = FIGURES_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._kept: tuple[float, date, Overview] | None = None
        self._lock = asyncio.Lock()

    async def get(self, services: WebServices, now: datetime) -> Overview:
        zone = ZoneInfo(services.settings.bot.timezone)
        today = now.astimezone(zone).date()
        async with self._lock:
            kept = self._kept
            if kept is None or kept[1] != today or self.clock() - kept[0] >= self.seconds:
                figures = await asyncio.to_thread(overview, services.engine, now, zone)
                self._kept = kept = (self.clock(), today, figures)
            return kept[2]


def _attention(
    services: WebServices, now: datetime
) -> tuple[dict[str, int], list[TemplateProblem], list[LoginHealth]]:
    """What the "需要处理" list reads from the database and the disk, in one worker-thread trip."""
    return (
        counts_since(services.engine, now - timedelta(hours=24)),
        services.renderer.problems(),
        _logged_out(services.engine, services.settings),
    )


async def _gather(request: Request, services: WebServices, now: datetime) -> _Read:
    cache = getattr(request.app.state, "dashboard_figures", None)
    if cache is None:
        cache = request.app.state.dashboard_figures = FiguresCache()
    figures = await cache.get(services, now)
    await refresh_funds(services)  # kept a few minutes: 需要处理 names a reconciliation difference
    pushes, templates, logged_out = await asyncio.to_thread(_attention, services, now)
    return _Read(figures, pushes, templates, logged_out)


def _alerts(services: WebServices, read: _Read) -> list[Alert]:
    alerts = league_alerts(services)
    pushes = read.pushes
    failed, interrupted = pushes.get(FAILED, 0), pushes.get(INTERRUPTED, 0)
    if failed or interrupted:
        parts = [f"{failed} 次失败" if failed else "", f"{interrupted} 次中断" if interrupted else ""]
        alerts.append(Alert(f"最近 24 小时的推送有 {'、'.join(p for p in parts if p)}。", "/pushes"))
    for problem in read.templates:
        where = display_path(problem.path) + (f" 第 {problem.line} 行" if problem.line else "")
        alerts.append(Alert(f"模板 {where} 出错，正在用上一个能用的版本：{problem.message}", "/templates"))
    zone = ZoneInfo(services.settings.bot.timezone)
    alerts.extend(Alert(_login_alert(out, zone), "/") for out in read.logged_out)
    return alerts


def _login_alert(out: LoginHealth, zone: ZoneInfo) -> str:
    if out.since is None:  # never logged in here (or the login expired)
        return f"{out.who}没有登录（或登录已过期）：请在运行 tuike run 的终端扫码登录。"
    since = out.since.astimezone(zone).strftime("%m-%d %H:%M")
    stopped = f"{out.stopped}，" if out.stopped else ""
    return f"{out.who} 从 {since} 起不在线（{out.why}）：{stopped}请在运行 tuike run 的终端扫码重新登录。"


def chart(figures: Overview) -> Markup:
    labels = [f"{d.month}/{d.day}" for d in figures.days]
    labels[-1] = "今天"
    series = [
        Series(league_label(name), values, LEAGUE_COLORS.get(name, ""))
        for name, values in figures.commission_by_day.items()
    ]
    return stacked_bars(labels, series, title="近 30 天每日预估佣金（按联盟）", empty="近 30 天还没有佣金")


async def show(request: Request) -> Response:
    services: WebServices = request.app.state.services
    now = services.clock()
    read = await _gather(request, services, now)
    figures = read.figures
    leagues = sorted(
        {name for period in figures.periods for name, _ in period.by_league},
    )
    context = {
        "figures": figures,
        "today": figures.periods[0],
        "leagues": [(name, league_label(name)) for name in leagues],
        "per_league": {
            name: [dict(period.by_league).get(name) for period in figures.periods] for name in leagues
        },
        "chart": chart(figures),
        "alerts": _alerts(services, read),
        "alone": not services.serves_chat,
    }
    return page(request, "dashboard.html", context, title="概览")


routes: list[BaseRoute] = [Route("/", show, methods=["GET"])]
