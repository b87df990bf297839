"""The 群发 pages: past broadcasts with each group's result, and compose → preview per group → confirm.

Confirming writes the broadcast and its targets in one transaction (`bot.push.broadcast.create`) and
wakes the push services of this process; each sends its own account's targets through its paced sender,
claimed in the push log, so nothing goes twice. A confirm form names itself (`form` field, kept as the
broadcast's `created_by`): posting it again shows the broadcast it already made instead of a second one.
When the console runs alone, the broadcast waits in the database for the bot process.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.push import broadcast, claims
from bot.store.models import Group
from bot.web.pages.pushes import PER_PAGE, explain, status_label
from bot.web.services import WebServices
from bot.web.views import error_page, page

PREVIEWS_SHOWN = 50
"""Groups whose message is shown in full on the preview (the rest are counted)."""


def _confirm_lock(request: Request) -> asyncio.Lock:
    """One lock per console: two confirm posts of the same form are checked and written one after
    the other, so the second finds the first's broadcast."""
    state = request.app.state
    lock = getattr(state, "broadcast_confirm_lock", None)
    if lock is None:
        lock = state.broadcast_confirm_lock = asyncio.Lock()
    assert isinstance(lock, asyncio.Lock)
    return lock


def _int(value: str | None, default: int = 0) -> int:
    try:
        return max(int(value or default), 0)
    except ValueError:
        return default


def _ids(form: FormData) -> list[int]:
    return [n for n in (_int(str(v)) for v in form.getlist("group")) if n]


def _accounts(form: FormData) -> list[str]:
    return [str(v) for v in form.getlist("account")]


def _max_chars(services: WebServices) -> int:
    return services.settings.templates.max_message_chars


def _sender_note(services: WebServices, group: Group) -> str:
    """Who sends to this group, when it is not this process."""
    if not services.serves_chat:
        return "等机器人进程发送"
    if group.account and group.account not in services.pushes:
        return f"由账号 {group.account} 的进程发送"
    return ""


# -- list and detail ----------------------------------------------------------------------------------


async def show(request: Request) -> Response:
    services: WebServices = request.app.state.services
    current = _int(request.query_params.get("page"), 1) or 1
    rows, total = await asyncio.to_thread(
        broadcast.summaries, services.engine, (current - 1) * PER_PAGE, PER_PAGE
    )
    context = {
        "rows": rows,
        "total": total,
        "current": current,
        "per_page": PER_PAGE,
        "alone": not services.serves_chat,
    }
    return page(request, "broadcasts.html", context, title="群发")


async def _detail_context(request: Request) -> dict[str, Any] | None:
    services: WebServices = request.app.state.services
    broadcast_id = _int(request.path_params.get("broadcast_id"))
    made = await asyncio.to_thread(broadcast.get, services.engine, broadcast_id)
    if made is None:
        return None
    current = _int(request.query_params.get("page"), 1) or 1
    results, total = await asyncio.to_thread(
        broadcast.results, services.engine, broadcast_id, (current - 1) * PER_PAGE, PER_PAGE
    )
    summary = await asyncio.to_thread(broadcast.summary, services.engine, made)
    unfinished = (
        summary.waiting + summary.counts.get(claims.SENDING, 0) + summary.counts.get(claims.CLAIMED, 0)
    )
    return {
        "made": made,
        "results": results,
        "total": total,
        "current": current,
        "per_page": PER_PAGE,
        "summary": summary,
        "unfinished": unfinished,
        "label": status_label,
        "explain": explain,
        "alone": not services.serves_chat,
    }


async def detail(request: Request) -> Response:
    context = await _detail_context(request)
    if context is None:
        return error_page(request, 404, "没有这条群发")
    return page(request, "broadcast.html", context, title=f"群发 #{context['made'].id}")


async def results_part(request: Request) -> Response:
    """The results table alone (htmx polls it while sends are under way)."""
    context = await _detail_context(request)
    if context is None:
        return error_page(request, 404, "没有这条群发")
    return page(request, "broadcast_results.html", context)


# -- compose, preview, confirm --------------------------------------------------------------------------


async def _compose(
    request: Request,
    *,
    text: str = "",
    chosen: list[int] | None = None,
    accounts: list[str] | None = None,
    problem: str = "",
    status: int = 200,
) -> Response:
    services: WebServices = request.app.state.services
    groups = await asyncio.to_thread(broadcast.choosable_groups, services.engine)
    per_account = await asyncio.to_thread(broadcast.accounts, services.engine)
    query = request.query_params.get("q", "").strip()
    if query:
        groups = [g for g in groups if query in g.name or query in g.room_id]
    context = {
        "text": text,
        "chosen": set(chosen or []),
        "chosen_accounts": set(accounts or []),
        "groups": groups,
        "per_account": per_account,
        "q": query,
        "problem": problem,
        "max_chars": _max_chars(services),
        "placeholder": broadcast.GROUP_NAME,
        "alone": not services.serves_chat,
    }
    return page(request, "broadcast_new.html", context, status=status, title="新建群发")


async def compose(request: Request) -> Response:
    return await _compose(request)


async def edit(request: Request) -> Response:
    """Back from the preview to the form, with what was written and chosen."""
    form = await request.form()
    return await _compose(
        request, text=str(form.get("text", "")), chosen=_ids(form), accounts=_accounts(form)
    )


async def _checked(request: Request, form: FormData) -> tuple[str, list[Group], str]:
    """(text, groups, problem) of a compose or confirm form; problem '' when it may be sent."""
    services: WebServices = request.app.state.services
    text = str(form.get("text", "")).strip()
    groups = await asyncio.to_thread(broadcast.groups_by_choice, services.engine, _ids(form), _accounts(form))
    problem = broadcast.text_problem(text, _max_chars(services), groups)
    if not problem and not groups:
        problem = "还没有选群：至少勾选一个群（已屏蔽的群不会收到群发）。"
    return text, groups, problem


async def preview(request: Request) -> Response:
    services: WebServices = request.app.state.services
    form = await request.form()
    text, groups, problem = await _checked(request, form)
    if problem:
        return await _compose(
            request,
            text=str(form.get("text", "")),
            chosen=_ids(form),
            accounts=_accounts(form),
            problem=problem,
            status=400,
        )
    shown = [(g, broadcast.text_for(text, g), _sender_note(services, g)) for g in groups[:PREVIEWS_SHOWN]]
    context = {
        "text": text,
        "groups": groups,
        "shown": shown,
        "more": len(groups) - len(shown),
        "form_id": secrets.token_urlsafe(16),
        "alone": not services.serves_chat,
    }
    return page(request, "broadcast_preview.html", context, title="预览群发")


async def confirm(request: Request) -> Response:
    services: WebServices = request.app.state.services
    form = await request.form()
    form_id = str(form.get("form", ""))
    if not (16 <= len(form_id) <= 64):
        return error_page(request, 400, "这个操作没有执行", "确认表单不完整，请回到群发页面重新预览后确认。")
    text, groups, problem = await _checked(request, form)
    if problem:
        return await _compose(
            request, text=str(form.get("text", "")), chosen=_ids(form), problem=problem, status=400
        )
    created_by = "web:" + form_id
    async with _confirm_lock(request):
        made = await asyncio.to_thread(broadcast.made_by, services.engine, created_by)
        if made is not None:
            message = "这条群发已经确认过了，不会重复发送。"
            return RedirectResponse(f"/broadcasts/{made.id}?ok=" + quote(message), status_code=303)
        made = await asyncio.to_thread(
            broadcast.create, services.engine, text, [g.id for g in groups if g.id], created_by
        )
    for push in services.pushes.values():
        push.broadcasts_changed()
    if services.serves_chat:
        message = f"已确认群发到 {len(groups)} 个群，正在按各账号的发送节奏发出。"
    else:
        message = f"已确认群发到 {len(groups)} 个群。这个后台是单独运行的，机器人进程（tuike run）会在半分钟内发出。"
    return RedirectResponse(f"/broadcasts/{made.id}?ok=" + quote(message), status_code=303)


routes: list[BaseRoute] = [
    Route("/broadcasts", show, methods=["GET"]),
    Route("/broadcasts", confirm, methods=["POST"]),
    Route("/broadcasts/new", compose, methods=["GET"]),
    Route("/broadcasts/new", edit, methods=["POST"]),
    Route("/broadcasts/preview", preview, methods=["POST"]),
    Route("/broadcasts/{broadcast_id:int}", detail, methods=["GET"]),
    Route("/broadcasts/{broadcast_id:int}/results", results_part, methods=["GET"]),
]
