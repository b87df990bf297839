"""The 群发 pages: past broadcasts with each group's result, and compose → preview per group → confirm.

Confirming writes the broadcast and its targets in one transaction (`bot.push.broadcast.create`) and
wakes the push services of this process; each sends its own account's targets through its paced sender,
claimed in the push log, so nothing goes twice. A confirm form names itself (`form` field, kept as the
broadcast's `created_by`): posting it again shows the broadcast it already made instead of a second one.
When the console runs alone, the broadcast waits in the database for the bot process.

Deals: the compose form searches the leagues as the chat's 找 does (`broadcast.search_deals`) and
ticks up to `[push] deals_per_push` products; every search and tick is a POST back to the form (no
script needed), which carries the text, the groups and the picks along. The preview renders each
group's message as the push service will (`broadcast.deals_message`) with links made for real for
the group's own spot: they are cached per (league, product, spot) in the store, so the send reuses
them; a link the league cannot make just now shows "(发送时生成本群链接)".
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.leagues.base import LeagueUnavailable, Product
from bot.leagues.budget import budget
from bot.leagues.ranking import commission_fen
from bot.push import broadcast, claims
from bot.reasons import reason
from bot.services.platforms import PLATFORM_NAMES
from bot.store.models import Group
from bot.web.pages.pushes import PER_PAGE, explain, status_label
from bot.web.paging import page_number, paging, whole_number
from bot.web.services import WebServices
from bot.web.views import error_page, page

log = logging.getLogger(__name__)

PREVIEWS_SHOWN = 50
"""Groups whose message is shown in full on the preview (the rest are counted)."""
PREVIEWS_WITH_DEALS = 20
"""With deals, fewer: each preview makes that group's links (league calls, cached for the send)."""
DEALS_FOUND = 20
"""Search results shown to pick from."""
LINKS_AT_ONCE = 4
"""Groups whose links a preview makes at the same time."""


def _confirm_lock(request: Request) -> asyncio.Lock:
    """One lock per console: two confirm posts of the same form are checked and written one after
    the other, so the second finds the first's broadcast."""
    state = request.app.state
    lock = getattr(state, "broadcast_confirm_lock", None)
    if lock is None:
        lock = state.broadcast_confirm_lock = asyncio.Lock()
    assert isinstance(lock, asyncio.Lock)
    return lock


def _ids(form: FormData) -> list[int]:
    return [n for n in (whole_number(v) for v in form.getlist("group")) if n]


def _accounts(form: FormData) -> list[str]:
    return [str(v) for v in form.getlist("account")]


def _deals(form: FormData) -> list[broadcast.DealRef]:
    """The ticked deals ("league:product_id" each), in order, each once."""
    return broadcast.parse_products(",".join(str(v) for v in form.getlist("deal")))


def _max_deals(services: WebServices) -> int:
    return services.settings.push.deals_per_push


def _deal_view(league: str, product: Product) -> dict[str, Any]:
    """What the form shows of a deal."""
    return {
        "value": f"{league}:{product.product_id}",
        "product": product,
        "platform": PLATFORM_NAMES.get(league, PLATFORM_NAMES.get(product.platform, league)),
        "coupon": product.best_coupon(),
        "commission_fen": commission_fen(product),
    }


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
    current = page_number(request.query_params.get("page"))
    rows, total = await asyncio.to_thread(
        broadcast.summaries, services.engine, (current - 1) * PER_PAGE, PER_PAGE
    )
    context = {
        "rows": rows,
        "total": total,
        "paging": paging(current, total, PER_PAGE, lambda n: f"/broadcasts?page={n}"),
        "alone": not services.serves_chat,
    }
    return page(request, "broadcasts.html", context, title="群发")


async def _detail_context(request: Request) -> dict[str, Any] | None:
    services: WebServices = request.app.state.services
    broadcast_id = whole_number(request.path_params.get("broadcast_id"))
    made = await asyncio.to_thread(broadcast.get, services.engine, broadcast_id)
    if made is None:
        return None
    current = page_number(request.query_params.get("page"))
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
        "paging": paging(current, total, PER_PAGE, lambda n: f"/broadcasts/{broadcast_id}?page={n}"),
        "summary": summary,
        "unfinished": unfinished,
        "label": status_label,
        "explain": explain,
        "alone": not services.serves_chat,
    }


DEAL_NAMES_SECONDS = 2.0
"""How long the 群发 page waits for the leagues to name its deals (usually from their caches, at once)."""


async def deal_names(services: WebServices, products: str) -> list[str]:
    """The deals a broadcast carried, by platform and title as the leagues show them now; by id when a
    league cannot say (it is down, slow, or no longer knows the product)."""
    refs = broadcast.parse_products(products)
    titles: dict[tuple[str, str], str] = {}
    if refs:
        try:
            with budget(min(DEAL_NAMES_SECONDS, services.settings.push.league_budget_seconds)):
                got = await broadcast.fetch_deals(services.leagues, refs)
            titles = {(league.name, product.product_id): product.title for league, product in got.deals}
        except Exception as exc:  # the page shows ids then; the broadcast itself is unaffected
            log.info("broadcast deals not named: %s", reason(exc))
    return [
        f"{PLATFORM_NAMES.get(league, league)}「{titles[league, product_id]}」"
        if titles.get((league, product_id))
        else f"{PLATFORM_NAMES.get(league, league)} 商品 {product_id}"
        for league, product_id in refs
    ]


async def detail(request: Request) -> Response:
    context = await _detail_context(request)
    if context is None:
        return error_page(request, 404, "没有这条群发")
    context["deals"] = await deal_names(request.app.state.services, context["made"].products)
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
    deals: Sequence[broadcast.DealRef] = (),
    deal_q: str = "",
    problem: str = "",
    status: int = 200,
) -> Response:
    services: WebServices = request.app.state.services
    picked, found, deal_note = await _deal_choices(services, deals, deal_q)
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
        "picked": picked,
        "found": found,
        "deal_q": deal_q,
        "deal_note": deal_note,
        "max_deals": _max_deals(services),
        "can_search": bool(services.leagues),
    }
    return page(request, "broadcast_new.html", context, status=status, title="新建群发")


async def _deal_choices(
    services: WebServices, refs: Sequence[broadcast.DealRef], keyword: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    """(the picked deals as the leagues show them, search results not picked yet, a note on what
    went wrong or ''). A picked deal the league cannot show now stays ticked by its id."""
    picked: list[dict[str, Any]] = []
    found: list[dict[str, Any]] = []
    notes: list[str] = []
    settings = services.settings
    with budget(settings.push.league_budget_seconds):
        if refs:
            try:
                got = await broadcast.fetch_deals(services.leagues, refs)
            except LeagueUnavailable as exc:
                got = broadcast.Picked([], [(ref, f"联盟暂时连不上（{reason(exc)}）") for ref in refs])
            picked = [_deal_view(league.name, product) for league, product in got.deals]
            for (league_name, product_id), why in got.left_out:
                picked.append({"value": f"{league_name}:{product_id}", "product": None, "why": why})
        if keyword:
            result = await broadcast.search_deals(
                services.leagues, settings.deals.leagues, keyword, DEALS_FOUND, settings.deals.rank_by
            )
            chosen = {f"{league}:{product_id}" for league, product_id in refs}
            found = [
                view
                for view in (_deal_view(league, product) for league, product in result.deals)
                if view["value"] not in chosen
            ]
            if result.trouble:
                names = "、".join(PLATFORM_NAMES.get(n, n) for n in result.trouble)
                notes.append(f"{names}这次没搜出来（联盟暂时有问题），结果里没有它的商品。")
            if not result.deals and not result.trouble:
                notes.append(f"没搜到「{keyword}」相关的商品，换个词试试。")
    return picked, found, " ".join(notes)


async def compose(request: Request) -> Response:
    return await _compose(request)


async def _again(
    request: Request, form: FormData, *, deal_q: str = "", problem: str = "", status: int = 200
) -> Response:
    """The compose form again with what `form` had written, chosen and ticked."""
    return await _compose(
        request,
        text=str(form.get("text", "")),
        chosen=_ids(form),
        accounts=_accounts(form),
        deals=_deals(form),
        deal_q=deal_q,
        problem=problem,
        status=status,
    )


async def edit(request: Request) -> Response:
    """The form again with what was written, chosen and ticked: back from the preview, or a deal
    search (`deal_q`) from the form itself."""
    form = await request.form()
    return await _again(request, form, deal_q=str(form.get("deal_q", "")).strip()[:60])


async def _checked(request: Request, form: FormData) -> tuple[str, list[Group], str]:
    """(text, groups, problem) of a compose or confirm form; problem '' when it may be sent."""
    services: WebServices = request.app.state.services
    text = str(form.get("text", "")).strip()
    groups = await asyncio.to_thread(broadcast.groups_by_choice, services.engine, _ids(form), _accounts(form))
    deals = _deals(form)
    problem = broadcast.text_problem(text, _max_chars(services), groups, deals=len(deals))
    if not problem and len(deals) > _max_deals(services):
        problem = f"商品最多选 {_max_deals(services)} 个（和每日好物一样多），现在选了 {len(deals)} 个，去掉几个再预览吧。"
    if not problem and deals and not services.leagues:
        problem = "这个后台没有可用的联盟，带不了商品：请先在配置里启用联盟，或者只发文字。"
    if not problem and not groups:
        problem = "还没有选群：至少勾选一个群（已屏蔽的群不会收到群发）。"
    return text, groups, problem


async def preview(request: Request) -> Response:
    services: WebServices = request.app.state.services
    form = await request.form()
    text, groups, problem = await _checked(request, form)
    if problem:
        return await _again(request, form, problem=problem, status=400)
    deals = _deals(form)
    left_out: list[tuple[str, str]] = []
    if deals:
        made = await _deal_previews(services, text, groups[:PREVIEWS_WITH_DEALS], deals)
        if isinstance(made, str):
            return await _again(request, form, problem=made, status=409)
        shown, left_out = made
    else:
        shown = [(g, broadcast.text_for(text, g), _sender_note(services, g)) for g in groups[:PREVIEWS_SHOWN]]
    context = {
        "text": text,
        "groups": groups,
        "shown": shown,
        "more": len(groups) - len(shown),
        "form_id": secrets.token_urlsafe(16),
        "alone": not services.serves_chat,
        "deals": [f"{league}:{product_id}" for league, product_id in deals],
        "left_out": left_out,
        "link_at_send": broadcast.LINK_AT_SEND,
    }
    return page(request, "broadcast_preview.html", context, title="预览群发")


async def _deal_previews(
    services: WebServices, text: str, groups: list[Group], refs: Sequence[broadcast.DealRef]
) -> tuple[list[tuple[Group, str, str]], list[tuple[str, str]]] | str:
    """Each group's message with its own links, made as the push service makes them (its links and
    spots when this process sends to the group); or why no preview can be made."""
    settings = services.settings
    try:
        with budget(settings.push.league_budget_seconds):
            picked = await broadcast.fetch_deals(services.leagues, refs)
    except LeagueUnavailable as exc:
        return f"联盟暂时连不上，拿不到商品信息（{reason(exc)}），过一会儿再预览吧。什么都没有改。"
    if not picked.deals:
        gone = "；".join(f"{league}:{pid}：{why}" for (league, pid), why in picked.left_out)
        return f"选的商品现在都发不了（{gone}），换几个再预览吧。"
    spots, links = services.parts.spots, services.parts.links
    gate = asyncio.Semaphore(LINKS_AT_ONCE)
    now = services.clock()

    async def one(group: Group) -> tuple[Group, str, str, list[tuple[str, str]]]:
        push = services.pushes.get(group.account)
        async with gate:
            with budget(settings.push.league_budget_seconds):
                made = await broadcast.deals_message(
                    group,
                    text,
                    picked,
                    links=push.links if push is not None else links,
                    spot_of=push.broadcast_spot if push is not None else spots.for_group,
                    renderer=services.renderer,
                    now=now,
                    preview=True,
                )
        message = made.text or "（这个群的商品都发不了，发送时会记为失败）"
        return group, message, _sender_note(services, group), made.left_out

    previews = await asyncio.gather(*(one(g) for g in groups))
    left_out: list[tuple[str, str]] = []
    for _g, _m, _n, missing in previews:
        left_out += [m for m in missing if m not in left_out]
    return [(g, m, n) for g, m, n, _missing in previews], left_out


async def confirm(request: Request) -> Response:
    services: WebServices = request.app.state.services
    form = await request.form()
    form_id = str(form.get("form", ""))
    if not (16 <= len(form_id) <= 64):
        return error_page(request, 400, "这个操作没有执行", "确认表单不完整，请回到群发页面重新预览后确认。")
    text, groups, problem = await _checked(request, form)
    if problem:  # a confirm form names its groups one by one: it has no accounts to tick again
        return await _again(request, form, problem=problem, status=400)
    created_by = "web:" + form_id
    async with _confirm_lock(request):
        made = await asyncio.to_thread(broadcast.made_by, services.engine, created_by)
        if made is not None:
            message = "这条群发已经确认过了，不会重复发送。"
            return RedirectResponse(f"/broadcasts/{made.id}?ok=" + quote(message), status_code=303)
        made = await asyncio.to_thread(
            broadcast.create, services.engine, text, [g.id for g in groups if g.id], created_by, _deals(form)
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
    Route("/broadcasts/{broadcast_id:id}", detail, methods=["GET"]),
    Route("/broadcasts/{broadcast_id:id}/results", results_part, methods=["GET"]),
]
