"""The 群 pages: every group the accounts are in, searchable and sortable by what it earns; one group's
detail, where the operator changes its subscriptions on the owner's behalf and blocks or allows it.

Subscriptions change through the same store functions and the same checks as the owner's 订阅 command
(bot.services.subscriptions: `read_daily`, `match_categories`; bot.store.subscriptions: `add_daily_slot`,
`unsubscribe`), then the scheduler's jobs are rebuilt (`services.subscriptions_changed`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.leagues.base import Category, LeagueError
from bot.leagues.registry import LEAGUES, SHARER_LEAGUE, takeout_on
from bot.leagues.ttlcache import TtlCache
from bot.push.slots import next_slot
from bot.services.subscriptions import BAD_TIMES, BadTime, match_categories, parse_time, read_daily
from bot.store import groups as group_store
from bot.store import subscriptions
from bot.store.groups import SORTS, GroupListing, GroupRow
from bot.web.paging import page_number, paging
from bot.web.services import WebServices
from bot.web.views import error_page, page

PER_PAGE = 50
WINDOW = timedelta(days=30)
"""Requests and commission are counted over the last 30 days."""
TREE_SECONDS = 3.0
"""How long a page waits for the league's category tree before showing category ids instead."""
LEAGUE_NAMES = {plugin.name: plugin.label for plugin in LEAGUES}
"""How a group's identity on each league is labelled (Channels: the 视频号 sharer)."""
SORT_LABELS = {"commission": "佣金最多", "requests": "请求最多", "name": "群名", "newest": "最新加入"}
NO_ACCOUNT = "-"
"""The account filter's value for groups no account has claimed yet (account '')."""


def services_of(request: Request) -> WebServices:
    services = request.app.state.services
    assert isinstance(services, WebServices)
    return services


# -- categories ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tree:
    categories: list[Category]
    available: bool
    """False when the league did not answer (then only category ids can be shown)."""


async def category_tree(request: Request) -> Tree:
    """The Channels league's categories, as 订阅 matches them (the same league the chat command asks).
    Kept ten minutes per console (a page load must not spend league quota); a league that does not
    answer within `TREE_SECONDS` leaves the last tree it gave, or none."""
    services = services_of(request)
    league = services.leagues.get(SHARER_LEAGUE)
    if league is None:
        return Tree([], available=False)
    trees = getattr(request.app.state, "category_trees", None)
    if not isinstance(trees, TtlCache):
        trees = request.app.state.category_trees = TtlCache(600, capacity=8)
    cached = trees.get(SHARER_LEAGUE)
    if cached is not None:
        return Tree(cached, available=True)
    try:
        async with asyncio.timeout(TREE_SECONDS):
            tree = await league.categories()
    except (LeagueError, TimeoutError):
        stale = trees.get(SHARER_LEAGUE, stale_ok=True)
        return Tree(stale or [], available=stale is not None)
    trees.put(SHARER_LEAGUE, tree)
    return Tree(tree, available=True)


def category_names(ids: str, tree: Tree) -> list[str]:
    names = {c.category_id: c.name for c in tree.categories}
    return [names.get(i, i) for i in ids.split(",") if i]


# -- the shapes the templates read ---------------------------------------------------------------------


def describe(row: GroupRow, tree: Tree, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    """A group as the templates show it: subscriptions with category names and the next daily run,
    and its promotion identity per league."""
    daily = [
        {
            "at_time": s.at_time,
            "categories": category_names(s.categories, tree),
            "next_run": next_slot(s.at_time, now, zone),
        }
        for s in row.subscriptions
        if s.kind == "daily"
    ]
    takeout = [
        {"at_time": s.at_time, "next_run": next_slot(s.at_time, now, zone)}
        for s in sorted(row.subscriptions, key=lambda s: s.at_time)
        if s.kind == "takeout"
    ]
    group = row.group
    identities = [
        {
            "league": LEAGUE_NAMES[SHARER_LEAGUE],
            "value": group.channels_sharer_appid or "",
            "note": "群主已绑定推客" if group.channels_sharer_appid else "用默认推客",
        }
    ]
    for spot in row.spots:
        identities.append(
            {
                "league": LEAGUE_NAMES.get(spot.league, spot.league),
                "value": " / ".join(v for v in (spot.pid, spot.tag) if v),
                "note": "",
            }
        )
    return {
        "id": group.id,
        "name": group.name or "（未命名）",
        "room_id": group.room_id,
        "account": group.account,
        "owner_id": group.owner_id,
        "owner_name": group.owner_name,
        "blocked": group.blocked,
        "daily": daily,
        "takeout": takeout,
        "live": any(s.kind == "live" for s in row.subscriptions),
        "identities": identities,
        "requests": row.requests,
        "orders": row.orders,
        "commission_fen": row.commission_fen,
        "created_at": group.created_at,
    }


# -- the list ------------------------------------------------------------------------------------------


def _yes_no(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


async def listing(request: Request) -> Response:
    services = services_of(request)
    query = request.query_params
    search = query.get("q", "").strip()[:100]
    account_param = query.get("account", "")
    account = None if not account_param else ("" if account_param == NO_ACCOUNT else account_param)
    subscribed, blocked = _yes_no(query.get("subscribed")), _yes_no(query.get("blocked"))
    sort = query.get("sort", "commission")
    sort = sort if sort in SORTS else "commission"
    number = page_number(query.get("page"))
    now = services.clock()

    def read() -> tuple[GroupListing, list[str]]:
        found = group_store.list_groups(
            services.engine,
            since=now - WINDOW,
            search=search,
            account=account,
            subscribed=subscribed,
            blocked=blocked,
            sort=sort,
            page=number,
            per_page=PER_PAGE,
        )
        return found, group_store.group_accounts(services.engine)

    found, accounts = await asyncio.to_thread(read)
    tree = await category_tree(request) if any(r.subscriptions for r in found.rows) else Tree([], False)
    zone = ZoneInfo(services.settings.bot.timezone)
    filters = {
        "q": search,
        "account": account_param,
        "subscribed": query.get("subscribed", ""),
        "blocked": query.get("blocked", ""),
        "sort": sort,
    }

    def link(to_page: int) -> str:
        kept = {k: v for k, v in filters.items() if v and not (k == "sort" and v == "commission")}
        return "/groups?" + urlencode({**kept, "page": to_page})

    return page(
        request,
        "groups.html",
        {
            "rows": [describe(r, tree, zone, now) for r in found.rows],
            "total": found.total,
            "paging": paging(number, found.total, PER_PAGE, link),
            "filters": filters,
            "accounts": [(a or NO_ACCOUNT, a or "还不知道") for a in accounts],
            "sorts": list(SORT_LABELS.items()),
            "filtered": any(filters[k] for k in ("q", "account", "subscribed", "blocked")),
        },
        title="群",
    )


# -- one group -----------------------------------------------------------------------------------------


async def _group_page(
    request: Request,
    group_id: int,
    *,
    problem: str = "",
    status: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    services = services_of(request)
    now = services.clock()
    row = await asyncio.to_thread(group_store.group_row, services.engine, group_id, since=now - WINDOW)
    if row is None:
        return error_page(request, 404, "没有这个群", "它可能从来没被机器人看到过。回到群列表再找找。")
    tree = await category_tree(request)
    zone = ZoneInfo(services.settings.bot.timezone)
    group = describe(row, tree, zone, now)
    return page(
        request,
        "group.html",
        {
            "group": group,
            "choices": [c.name for c in tree.categories if c.level == 1],
            "tree_available": tree.available,
            "has_league": SHARER_LEAGUE in services.leagues,
            "takeout_on": takeout_on(services.settings),
            "default_time": services.settings.push.default_time,
            "serves_chat": services.serves_chat,
            "problem": problem,
            "form": form or {},
        },
        title=group["name"],
        status=status,
    )


async def detail(request: Request) -> Response:
    return await _group_page(request, int(request.path_params["group_id"]))


async def _exists(services: WebServices, group_id: int) -> bool:
    return await asyncio.to_thread(group_store.get_group, services.engine, group_id) is not None


def _done(services: WebServices, group_id: int, message: str) -> Response:
    if not services.serves_chat:
        message += "（后台单独运行：机器人进程一分钟内按新的设置执行）"
    return RedirectResponse(f"/groups/{group_id}?ok={quote(message)}", status_code=303)


async def add_daily(request: Request) -> Response:
    """A daily slot at HH:MM with categories: the same time words and category matching as 订阅 每日好物."""
    services = services_of(request)
    group_id = int(request.path_params["group_id"])
    form = await request.form()
    time_word = str(form.get("at_time", "")).strip()[:20]
    chosen = [str(v) for v in form.getlist("category")][:50]
    typed = str(form.get("more", "")).replace("，", " ").replace(",", " ").split()[:20]
    words = list(dict.fromkeys([*chosen, *typed]))
    kept = {"at_time": time_word, "more": " ".join(typed)}
    if not await _exists(services, group_id):
        return error_page(request, 404, "没有这个群", "这个操作没有执行。")
    default_time = services.settings.push.default_time
    wish = read_daily([time_word or default_time, *words], default_time)
    if isinstance(wish, BadTime) or len(wish.category_words) > len(words):  # the time was no time
        problem = f"“{time_word}”不是一个时间。请写成 08:30 这样（24 小时制），或“晚上8点”。"
        return await _group_page(request, group_id, problem=problem, status=400, form=kept)
    at_time = wish.at_time
    categories: list[Category] = []
    if words:
        tree = await category_tree(request)
        if not tree.available:
            problem = "联盟的类目暂时取不到，这次没有订阅。可以先不选类目（推送全部类目），或者稍后再试。"
            return await _group_page(request, group_id, problem=problem, status=503, form=kept)
        categories, unknown = match_categories(words, tree.categories)
        if unknown:
            valid = "、".join(c.name for c in tree.categories if c.level == 1)
            problem = f"没有叫“{unknown[0]}”的类目，这次没有订阅。可以选的有：{valid}"
            return await _group_page(request, group_id, problem=problem, status=400, form=kept)
    ids = ",".join(c.category_id for c in categories)
    replaced, _slots = await asyncio.to_thread(
        subscriptions.add_daily_slot, services.engine, group_id, at_time, ids
    )
    services.subscriptions_changed()
    what = "、".join(c.name for c in categories) or "全部类目"
    verb = "改好了" if replaced else "加好了"
    return _done(services, group_id, f"每天 {at_time} 的好物推送{verb}（{what}）。")


SLOT_NAMES = {"daily": ("每日推送", "推送"), "takeout": ("外卖红包推送", "外卖红包推送")}
"""A slot kind as the page names it: (in "没有 … 的X", in "每天 HH:MM 的X取消了")."""


async def _remove_slot(request: Request, kind: str) -> Response:
    """Cancel one daily or 外卖 time of a group (the same rows 退订 removes in the group)."""
    services = services_of(request)
    group_id = int(request.path_params["group_id"])
    form = await request.form()
    at_time = parse_time(str(form.get("at_time", "")).strip()[:20])
    if not await _exists(services, group_id):
        return error_page(request, 404, "没有这个群", "这个操作没有执行。")
    if at_time is None or at_time in BAD_TIMES:
        return await _group_page(request, group_id, problem="要取消哪个时间？这次什么都没改。", status=400)
    removed = await asyncio.to_thread(subscriptions.unsubscribe, services.engine, group_id, kind, at_time)
    missing, cancelled = SLOT_NAMES[kind]
    if not removed:
        problem = f"这个群没有 {at_time} 的{missing}，什么都没改。"
        return await _group_page(request, group_id, problem=problem, status=409)
    services.subscriptions_changed()
    return _done(services, group_id, f"每天 {at_time} 的{cancelled}取消了。")


async def remove_daily(request: Request) -> Response:
    return await _remove_slot(request, "daily")


async def add_takeout(request: Request) -> Response:
    """A 外卖红包 push at HH:MM: the same time words as 订阅 外卖 in the group."""
    services = services_of(request)
    group_id = int(request.path_params["group_id"])
    form = await request.form()
    time_word = str(form.get("at_time", "")).strip()[:20]
    if not await _exists(services, group_id):
        return error_page(request, 404, "没有这个群", "这个操作没有执行。")
    if not takeout_on(services.settings):
        problem = "外卖联盟（饿了么、美团）都没有打开，加了也推不出去。先在配置里打开 [leagues.eleme] 或 [leagues.meituan]。"
        return await _group_page(request, group_id, problem=problem, status=409)
    at_time = parse_time(time_word)
    if at_time is None or at_time in BAD_TIMES:
        problem = f"“{time_word}”不是一个时间。请写成 10:30 这样（24 小时制），或“中午11点”。"
        return await _group_page(
            request, group_id, problem=problem, status=400, form={"takeout_time": time_word}
        )

    def add() -> bool:
        had = any(
            s.kind == "takeout" and s.at_time == at_time
            for s in subscriptions.for_group(services.engine, group_id)
        )
        subscriptions.subscribe(services.engine, group_id, "takeout", at_time)
        return had

    had = await asyncio.to_thread(add)
    services.subscriptions_changed()
    if had:
        return _done(services, group_id, f"每天 {at_time} 已经有外卖红包推送了，没有重复加。")
    return _done(services, group_id, f"每天 {at_time} 的外卖红包推送加好了。")


async def remove_takeout(request: Request) -> Response:
    return await _remove_slot(request, "takeout")


async def set_live(request: Request) -> Response:
    services = services_of(request)
    group_id = int(request.path_params["group_id"])
    form = await request.form()
    on = str(form.get("on", "")) == "1"
    if not await _exists(services, group_id):
        return error_page(request, 404, "没有这个群", "这个操作没有执行。")
    if on:
        await asyncio.to_thread(subscriptions.subscribe, services.engine, group_id, "live")
    else:
        await asyncio.to_thread(subscriptions.unsubscribe, services.engine, group_id, "live")
    services.subscriptions_changed()
    return _done(services, group_id, "直播提醒打开了。" if on else "直播提醒关掉了。")


async def set_blocked(request: Request) -> Response:
    services = services_of(request)
    group_id = int(request.path_params["group_id"])
    form = await request.form()
    blocked = str(form.get("blocked", "")) == "1"
    group = await asyncio.to_thread(group_store.set_blocked, services.engine, group_id, blocked)
    if group is None:
        return error_page(request, 404, "没有这个群", "这个操作没有执行。")
    services.subscriptions_changed()
    if blocked:
        return _done(services, group_id, "已停用：机器人不再在这个群回答，也不再推送。订阅都保留着。")
    return _done(services, group_id, "已恢复：机器人又会在这个群回答和推送了。")


routes: list[BaseRoute] = [
    Route("/groups", listing, methods=["GET"]),
    Route("/groups/{group_id:id}", detail, methods=["GET"]),
    Route("/groups/{group_id:id}/daily", add_daily, methods=["POST"]),
    Route("/groups/{group_id:id}/daily/remove", remove_daily, methods=["POST"]),
    Route("/groups/{group_id:id}/takeout", add_takeout, methods=["POST"]),
    Route("/groups/{group_id:id}/takeout/remove", remove_takeout, methods=["POST"]),
    Route("/groups/{group_id:id}/live", set_live, methods=["POST"]),
    Route("/groups/{group_id:id}/blocked", set_blocked, methods=["POST"]),
]
