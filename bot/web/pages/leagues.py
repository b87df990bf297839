"""The 联盟 page: each enabled league's health — last call, calls and errors today, the daily quota
where the league has one — its settings (never a secret), and a "测试凭据" button that makes the one
cheap authenticated call `tuike check` makes (bot.health.probes.probe_league).

The call figures come from this process's ledger (bot.leagues.metering.LEDGER): inside `tuike run`
they are the bot's own calls; with the console served alone they are only the console's.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
from pydantic import BaseModel, SecretStr
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot import redact
from bot.config import plugin_tables
from bot.health.probes import PROBE_SECONDS, probe_league
from bot.leagues.base import League, LeagueConfigError, LeagueError, LeagueUnavailable, QuotaExhausted
from bot.leagues.capabilities import HasClues, HasFunds, HasWindows
from bot.leagues.metering import LEDGER, Health, Quota, daily_quota, kept_quota, metered
from bot.leagues.organisation import FLOW_LABELS, Clue, Window
from bot.orders.dashboard import league_label
from bot.orders.funds import Reconciliation, kept, reconciled
from bot.orders.report import day_start
from bot.reasons import reason
from bot.render.filters import yuan
from bot.web.services import WebServices
from bot.web.views import error_page, page

log = logging.getLogger(__name__)

ORG_SECONDS = 15.0
"""How long a page waits for an organisation read (funds, windows, clues) before showing without it."""
CLUE_DAYS = 7
ORG_KEEP = timedelta(minutes=10)
"""Windows and clues are read again after this long (the funds: `bot.orders.funds.KEEP`)."""
ALERT_ORDERS = 3
"""Orders named in a reconciliation alert (the rest are counted)."""

SECRET_WORDS = ("secret", "token", "password", "session", "key")
"""Setting names never shown even when not typed as a secret (belt and braces: SecretStr is the rule)."""


@dataclass(frozen=True, slots=True)
class Alert:
    """Something on the 概览's "需要处理" list: what is wrong, in a sentence, and where to look."""

    text: str
    href: str


def league_alerts(services: WebServices) -> list[Alert]:
    """What needs the operator about the leagues, from what this process saw (no call is made):
    credentials refused, quota used up or nearly, calls failing in a row."""
    alerts: list[Alert] = []
    for name in services.leagues:
        label = league_label(name)
        health = LEDGER.health(name)
        if health.failing:
            if health.last_error_kind == "config":
                text = f"「{label}」拒绝了凭据或接口没有授权：{health.last_error}"
            elif health.last_error_kind == "quota":
                text = f"「{label}」今天的调用额度用完了，明天恢复；这期间机器人只能用缓存回答。"
            else:
                times = "最近一次调用" if health.failing == 1 else f"最近 {health.failing} 次调用都"
                text = f"「{label}」{times}失败了：{health.last_error}"
            alerts.append(Alert(text, "/leagues"))
        funds = kept(name)
        if funds is not None and funds.beyond_tolerance:
            alerts.append(Alert(funds_alert_text(label, funds), f"/leagues#funds-{name}"))
        quota = kept_quota(name)
        if quota is not None:
            for line in quota.nearly_used:
                alerts.append(
                    Alert(
                        f"「{label}」今天的额度快用完了：{line.name} 已用 {line.used:,} / {line.limit:,}",
                        "/leagues",
                    )
                )
    return alerts


def funds_alert_text(label: str, funds: Reconciliation) -> str:
    """The 需要处理 line of a reconciliation off by more than the tolerance, with the orders behind it."""
    days = max(round((funds.until - funds.since) / timedelta(days=1)), 1)
    parts = [
        f"「{label}」对账差额 {yuan(funds.difference_fen)}（近 {days} 天：分账流水 "
        f"{yuan(funds.commission_flows_fen)}，订单同步算作已结算 {yuan(funds.settled_orders_fen)}）"
    ]
    if funds.missing_flows:
        named = "、".join(o.order_id for o in funds.missing_flows[:ALERT_ORDERS])
        more = f" 等 {len(funds.missing_flows)} 笔" if len(funds.missing_flows) > ALERT_ORDERS else ""
        parts.append(f"已结算、但没有分账流水的订单：{named}{more}")
    if funds.extra_flows:
        named = "、".join(u.flow.order_id or u.flow.flow_id for u in funds.extra_flows[:ALERT_ORDERS])
        more = f" 等 {len(funds.extra_flows)} 笔" if len(funds.extra_flows) > ALERT_ORDERS else ""
        parts.append(f"有分账流水、但订单同步没有算作已结算的：{named}{more}")
    return "；".join(parts) + "。"


async def refresh_funds(services: WebServices) -> dict[str, Reconciliation]:
    """Each league with funds, reconciled (kept a few minutes, so most views make no call); a league
    that does not answer in time is left as it was kept."""
    options = services.settings.orders
    out: dict[str, Reconciliation] = {}
    for name, league in services.leagues.items():
        if not isinstance(league, HasFunds):
            continue
        try:
            out[name] = await asyncio.wait_for(
                reconciled(
                    services.engine,
                    league,
                    now=services.clock(),
                    days=options.funds_days,
                    tolerance_fen=options.funds_tolerance_fen,
                ),
                ORG_SECONDS,
            )
        except TimeoutError:
            log.info("reconciliation of %s took longer than %.0fs", name, ORG_SECONDS)
            last = kept(name)
            if last is not None:
                out[name] = last
    return out


_org_kept: dict[tuple[str, str], tuple[datetime, Any]] = {}


async def _org_read(name: str, what: str, now: datetime, read: Any) -> tuple[Any, str]:
    """(value, "") from `read()` kept `ORG_KEEP`, or (None, why not) in Chinese."""
    last = _org_kept.get((name, what))
    if last is not None and now - last[0] < ORG_KEEP:
        return last[1], ""
    try:
        value = await asyncio.wait_for(read(), ORG_SECONDS)
    except TimeoutError:
        return None, f"{ORG_SECONDS:.0f} 秒内没有读完，稍后刷新再看"
    except LeagueError as exc:
        return None, redact.mask(reason(exc))[:300]
    _org_kept[(name, what)] = (now, value)
    return value, ""


def forget_org() -> None:
    """Drop the kept windows and clues (tests)."""
    _org_kept.clear()


@dataclass(frozen=True, slots=True)
class OrgView:
    """What the organisation holds on a league, as far as it could be read."""

    funds: Reconciliation | None = None
    windows: list[Window] | None = None
    windows_error: str = ""
    clues: list[Clue] | None = None
    clues_error: str = ""
    clue_days: int = CLUE_DAYS


async def _org(services: WebServices, name: str, league: League, now: datetime) -> OrgView | None:
    if not isinstance(league, HasFunds | HasWindows | HasClues):
        return None
    funds = (await refresh_funds(services)).get(name) if isinstance(league, HasFunds) else None
    windows, windows_error = (
        await _org_read(name, "windows", now, league.windows)
        if isinstance(league, HasWindows)
        else (None, "")
    )
    clues, clues_error = (None, "")
    if isinstance(league, HasClues):
        clues_of = league

        async def read_clues() -> list[Clue]:
            return await clues_of.clues(now - timedelta(days=CLUE_DAYS), now)

        clues, clues_error = await _org_read(name, "clues", now, read_clues)
    return OrgView(funds, windows, windows_error, clues, clues_error)


def shown_settings(section: BaseModel) -> list[tuple[str, str]]:
    """(name, value) of a league's plain settings: secrets, nested sections and lists left out."""
    out: list[tuple[str, str]] = []
    for name in type(section).model_fields:
        value = getattr(section, name)
        if isinstance(value, SecretStr) or any(word in name.lower() for word in SECRET_WORDS):
            continue
        if isinstance(value, bool):
            out.append((name, "是" if value else "否"))
        elif isinstance(value, str | int | float):
            out.append((name, redact.mask(str(value)) if value != "" else "（未填）"))
    return out


def refusal_text(league: str, error: BaseException) -> str:
    """What a failed credentials test means, in Chinese, with the league's own words (secrets masked)."""
    label = league_label(league)
    detail = redact.mask(reason(error))[:300]
    if isinstance(error, LeagueConfigError):
        return f"「{label}」拒绝了凭据或接口没有授权，请检查配置：{detail}"
    if isinstance(error, QuotaExhausted):
        return f"「{label}」今天的调用额度已经用完，明天恢复（凭据本身没问题）：{detail}"
    if isinstance(error, TimeoutError):
        return f"「{label}」{PROBE_SECONDS * 3:.0f} 秒内没有回应，请稍后再试。"
    if isinstance(error, LeagueUnavailable | httpx.HTTPError):
        return f"「{label}」暂时连不上或没有正常回应：{detail}"
    return f"「{label}」返回了错误：{detail}"


@dataclass(frozen=True, slots=True)
class LeagueView:
    name: str
    label: str
    sandbox: bool
    health: Health
    calls_today: int
    errors_today: int
    quota: Quota | None
    settings: list[tuple[str, str]]
    org: OrgView | None = None

    @property
    def error_percent(self) -> str:
        if not self.calls_today:
            return "—"
        permille = self.errors_today * 1000 // self.calls_today
        return f"{permille // 10}.{permille % 10}%"


async def _views(services: WebServices, now: datetime) -> list[LeagueView]:
    zone = ZoneInfo(services.settings.bot.timezone)
    midnight = day_start(now.astimezone(zone).date(), zone)
    views = []
    for name, league in services.leagues.items():
        health = LEDGER.health(name)
        calls, errors = health.calls_since(midnight)
        section = plugin_tables(services.settings).get(name)
        views.append(
            LeagueView(
                name,
                league_label(name),
                bool(getattr(section, "sandbox", False)),
                health,
                calls,
                errors,
                await daily_quota(league, now=now),
                shown_settings(section) if isinstance(section, BaseModel) else [],
                await _org(services, name, league, now),
            )
        )
    return views


async def _render(
    request: Request, *, result: tuple[str, bool, str] | None = None, status: int = 200
) -> Response:
    services: WebServices = request.app.state.services
    now = services.clock()
    context: dict[str, Any] = {
        "leagues": await _views(services, now),
        "alone": not services.serves_chat,
        "result": result,
        "now": now,
        "ago": lambda moment: hours_ago(now, moment),
        "flow_labels": FLOW_LABELS,
    }
    return page(request, "leagues.html", context, title="联盟", status=status)


async def show(request: Request) -> Response:
    return await _render(request)


async def test_credentials(request: Request) -> Response:
    services: WebServices = request.app.state.services
    name = request.path_params["name"]
    league: League | None = services.leagues.get(name)
    if league is None:
        return error_page(request, 404, "没有这个联盟", "它可能没有启用：看配置里的 [leagues.*] enabled。")
    with metered() as counter:
        failure = await probe_league(league)
    label = league_label(name)
    if failure is not None:
        return await _render(request, result=(name, False, refusal_text(name, failure)))
    if counter.calls == 0:  # the league answered from its short cache: nothing was asked just now
        last = LEDGER.health(name).last_ok_at
        when = f"（上次成功调用在 {_local(services, last)}）" if last else ""
        message = f"「{label}」几分钟内刚查过同样的内容，这次直接用了缓存{when}；稍后再测可以真正调用一次。"
    else:
        message = f"「{label}」凭据可用：刚才搜索了一次，联盟正常回答。"
    return RedirectResponse(f"/leagues?ok={quote(message)}", status_code=303)


def _local(services: WebServices, moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(services.settings.bot.timezone)).strftime("%H:%M")


def hours_ago(now: datetime, moment: datetime | None) -> str:
    """'3 分钟前' style, for the last call."""
    if moment is None:
        return "还没有调用"
    seconds = max(int((now - moment) / timedelta(seconds=1)), 0)
    if seconds < 60:
        return "刚刚"
    if seconds < 3600:
        return f"{seconds // 60} 分钟前"
    if seconds < 86400:
        return f"{seconds // 3600} 小时前"
    return f"{seconds // 86400} 天前"


routes: list[BaseRoute] = [
    Route("/leagues", show, methods=["GET"]),
    Route("/leagues/{name}/test", test_credentials, methods=["POST"]),
]
