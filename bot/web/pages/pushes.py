"""The 推送 page: upcoming daily slots per group, recent results with their reasons, and per group
"立即发送" (today's slot now, claimed like a scheduled one) and "试运行" (the message as it would go;
nothing sent, nothing recorded).

Everything goes through the push service the chat side uses (`PushService.send_now`,
`PushService.compose_daily`, the push log in `bot.push.claims`); nothing here sends on its own.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.chat.base import Image, LinkCard, MiniProgramCard, Outgoing, Text
from bot.leagues.base import LeagueError
from bot.leagues.budget import budget
from bot.push import claims
from bot.push.service import PushService
from bot.push.slots import daily_slot_key, next_slot, upcoming_daily
from bot.reasons import reason
from bot.store import subscriptions
from bot.store.models import Group, Subscription
from bot.web.paging import page_number, paging, whole_number
from bot.web.services import WebServices
from bot.web.views import error_page, page

PER_PAGE = 50

STATUS_LABELS = {
    claims.SENT: "已发送",
    claims.FAILED: "失败",
    claims.INTERRUPTED: "中断",
    claims.SKIPPED: "跳过",
    claims.SENDING: "发送中",
    claims.CLAIMED: "发送中",
}
"""Push-log statuses as the operator reads them."""

FILTERS = {
    "": ("全部", ()),
    "problems": ("失败和中断", (claims.FAILED, claims.INTERRUPTED)),
    "sent": ("已发送", (claims.SENT,)),
    "failed": ("失败", (claims.FAILED,)),
    "interrupted": ("中断", (claims.INTERRUPTED,)),
    "skipped": ("跳过", (claims.SKIPPED,)),
    "sending": ("发送中", (claims.SENDING, claims.CLAIMED)),
}

ALONE_NOTE = (
    "这个后台是单独运行的（tuike web），没有连着聊天账号，所以这里发不出消息。"
    "请在运行机器人的 tuike run 里打开后台再点「立即发送」，或者等它按时推送。"
)


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status or "等待发送")


_MISSED = re.compile(r"^missed by (.+): too late to send$")


def explain(detail: str) -> str:
    """The push log's reason in Chinese (the log keeps the English the bot wrote)."""
    detail = detail.replace(
        "process stopped mid-push; not resent", "发送途中机器人停了，可能已经发出，为避免重复没有重发"
    )
    missed = _MISSED.match(detail)
    if missed:
        return f"错过了 {missed.group(1).split('.')[0]}，太晚了，没有补发"
    if detail == "no fresh deals in the group's categories":
        return "群订阅的类目里暂时没有新的好物（最近推过的不再推）"
    return detail


def describe_slot(slot: str, zone: str) -> tuple[str, str]:
    """(what it was, a link for it or '') for a push-log slot key."""
    kind, _sep, rest = slot.partition(":")
    if kind == "daily":
        return "每日好物 " + rest[5:].replace("T", " "), ""
    if kind == "broadcast":
        return f"群发 #{rest}", f"/broadcasts/{rest}"
    if kind == "live-soon":
        return "开播提醒", ""
    if kind == "live-now":
        return "正在直播提醒", ""
    if kind == "manual":
        return "手动推送 " + rest[5:].replace("T", " "), ""
    if kind == "forward":  # a 线报 forward to this group (bot/forward/pipeline.py)
        return f"线报 #{rest}", "/forward"
    return slot, ""


def _group(engine: Engine, group_id: int) -> Group | None:
    with Session(engine, expire_on_commit=False) as session:
        return session.get(Group, group_id)


def _next_runs(services: WebServices) -> dict[tuple[int, str], datetime]:
    runs: dict[tuple[int, str], datetime] = {}
    for push in services.pushes.values():
        runs.update(push.next_runs())
    return runs


def _names(engine: Engine, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    from sqlmodel import col, select

    with Session(engine) as session:
        rows = session.exec(select(Group).where(col(Group.id).in_(sorted(ids)))).all()
        return {g.id: g.name or g.room_id for g in rows if g.id is not None}


def _results(
    engine: Engine, statuses: tuple[str, ...], group_id: int | None, offset: int, now: datetime
) -> dict[str, Any]:
    rows, total = claims.page_of(engine, statuses=statuses, group_id=group_id, offset=offset, limit=PER_PAGE)
    names = _names(engine, {r.group_id for r in rows} | ({group_id} if group_id else set()))
    week = claims.counts_lately(engine, now - claims.days(7))
    return {"rows": rows, "total": total, "names": names, "week": week}


async def _render(
    request: Request,
    *,
    problem: str = "",
    status: int = 200,
    dry: dict[str, Any] | None = None,
) -> Response:
    services: WebServices = request.app.state.services
    query = request.query_params
    zone = ZoneInfo(services.settings.bot.timezone)
    now = services.clock()
    chosen = query.get("status", "") if query.get("status", "") in FILTERS else ""
    group_id = whole_number(query.get("group")) or None
    results_page = page_number(query.get("page"))
    upcoming_page = page_number(query.get("up"))
    runs = await asyncio.to_thread(_next_runs, services)
    upcoming, results = await asyncio.gather(  # two reads at once: the page waits for the slower only
        asyncio.to_thread(upcoming_daily, services.engine, now, zone, runs),
        asyncio.to_thread(
            _results, services.engine, FILTERS[chosen][1], group_id, (results_page - 1) * PER_PAGE, now
        ),
    )

    def link(**changes: Any) -> str:
        values = {"status": chosen, "group": group_id or "", "page": results_page, "up": upcoming_page}
        values.update(changes)
        kept = {
            k: v for k, v in values.items() if v not in ("", None) and not (k in ("page", "up") and v == 1)
        }
        return "/pushes" + ("?" + urlencode(kept) if kept else "")

    start = (upcoming_page - 1) * PER_PAGE
    context = {
        "problem": problem,
        "dry": dry,
        "alone": not services.serves_chat,
        "alone_note": ALONE_NOTE,
        "upcoming": upcoming[start : start + PER_PAGE],
        "upcoming_total": len(upcoming),
        "upcoming_paging": paging(upcoming_page, len(upcoming), PER_PAGE, lambda n: link(up=n)),
        "results_paging": paging(
            results_page, results["total"], PER_PAGE, lambda n: link(page=n) + "#results"
        ),
        "filters": FILTERS,
        "chosen": chosen,
        "group_id": group_id,
        "label": status_label,
        "explain": explain,
        "describe": lambda slot: describe_slot(slot, services.settings.bot.timezone),
        "link": link,
        "now": now,
        **results,
    }
    return page(request, "pushes.html", context, status=status, title="推送")


async def show(request: Request) -> Response:
    return await _render(request)


def _push_for(services: WebServices, group: Group) -> PushService | None:
    """The push service of the account that serves the group in this process (a group from before
    accounts: this process's first)."""
    if group.account in services.pushes:
        return services.pushes[group.account]
    if not group.account and services.pushes:
        return next(iter(services.pushes.values()))
    return None


async def _target(request: Request) -> Group | Response:
    services: WebServices = request.app.state.services
    group = await asyncio.to_thread(
        _group, services.engine, whole_number(request.path_params.get("group_id"))
    )
    if group is None:
        return error_page(request, 404, "没有这个群", "它可能已经被删除了。")
    return group


async def send_now(request: Request) -> Response:
    services: WebServices = request.app.state.services
    group = await _target(request)
    if isinstance(group, Response):
        return group
    name = group.name or group.room_id
    if group.blocked:
        return await _render(request, problem=f"「{name}」已屏蔽，机器人不会给它推送。", status=409)
    if not services.serves_chat:
        return await _render(request, problem=ALONE_NOTE, status=409)
    push = _push_for(services, group)
    if push is None:
        return await _render(
            request,
            problem=f"「{name}」由账号 {group.account} 服务，它不在这个机器人进程里：请在那个账号的后台发送。",
            status=409,
        )
    result = await push.send_now(group)
    when = result.slot.partition(":")[2].replace("T", " ")[5:]
    if result.outcome == "done":
        return await _render(
            request,
            problem=f"「{name}」{when} 这一期已经有记录了（{status_label(result.status)}），不会重复发送。",
            status=409,
        )
    if result.outcome == "empty":
        return await _render(
            request,
            problem=f"「{name}」现在没有可推送的新商品（最近推过的不再推），什么都没有发。",
            status=409,
        )
    if result.outcome == "league":
        return await _render(
            request, problem=f"联盟暂时没有给出商品，什么都没有发：{result.detail}", status=409
        )
    message = f"已开始给「{name}」发送 {when} 这一期，按账号的发送节奏排队；到点时不会再发一次。"
    return RedirectResponse("/pushes?ok=" + quote(message), status_code=303)


def _show_parts(outgoing: Outgoing) -> list[tuple[str, str]]:
    """The message's parts as (kind, what it shows), the way `tuike push daily --dry-run` prints them."""
    out = []
    for part in outgoing.reply.parts:
        if isinstance(part, Text):
            out.append(("text", part.text))
        elif isinstance(part, Image):
            out.append(("image", f"[图片 {part.name}] {part.url}"))
        elif isinstance(part, LinkCard):
            out.append(("card", f"[链接卡片] {part.title} {part.url}"))
        elif isinstance(part, MiniProgramCard):
            out.append(("card", f"[小程序卡片] {part.title}"))
    return out


async def dry_run(request: Request) -> Response:
    services: WebServices = request.app.state.services
    group = await _target(request)
    if isinstance(group, Response):
        return group
    assert group.id is not None
    name = group.name or group.room_id
    push = _push_for(services, group) or services.parts.composer(services.clock)
    if push is None or (push.league is None and push.daily_league is None):
        return await _render(
            request, problem="没有可用的联盟，试运行拿不到商品。请先在配置里启用一个联盟。", status=409
        )
    rows = await asyncio.to_thread(subscriptions.for_group, services.engine, group.id)
    sub = next((s for s in rows if s.kind == "daily"), None)
    sub = sub or Subscription(group_id=group.id, kind="daily", at_time=services.settings.push.default_time)
    now = services.clock()
    try:
        with budget(services.settings.push.league_budget_seconds):
            composed = await push.compose_daily(group, sub, now)
    except LeagueError as exc:
        return await _render(request, problem=f"联盟暂时没有给出商品：{reason(exc)}", status=409)
    zone = ZoneInfo(services.settings.bot.timezone)
    slot = daily_slot_key(next_slot(sub.at_time, now, zone), zone).partition(":")[2].replace("T", " ")
    dry = {
        "name": name,
        "slot": slot,
        "parts": _show_parts(composed[0]) if composed else [],
        "products": len(composed[1]) if composed else 0,
    }
    return await _render(request, dry=dry)


routes: list[BaseRoute] = [
    Route("/pushes", show, methods=["GET"]),
    Route("/pushes/{group_id:id}/send", send_now, methods=["POST"]),
    Route("/pushes/{group_id:id}/dry-run", dry_run, methods=["POST"]),
]
