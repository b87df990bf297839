"""The 返利 page: the member rebate ledger (each member's balance per bucket, summed in SQL from the
append-only entries), one member's entries, and the withdrawal requests waiting to be paid by hand,
each with "标记已付" — the same bot.services.ledger.record_paid that `tuike rebate pay` runs. 标记已付
first shows what would be recorded (amount, member, when it was asked for) and records only on 确认已付:
a payout is money the operator says they moved, so one stray click must not write it.

When [rebate] is off the page says so and still shows what the ledger holds.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.orders.chart import LEAGUE_NAMES
from bot.render.filters import yuan
from bot.services import ledger
from bot.store import order_browse, rebate
from bot.web.orders_csv import MEDIA_TYPE, TIME_FORMAT, csv_bytes, download_headers, id_cell, yuan_cell
from bot.web.paging import page_number, paging, query_link
from bot.web.services import WebServices
from bot.web.views import error_page, page

log = logging.getLogger(__name__)

BUCKET_NAMES = {"pending": "待结算", "available": "可提现", "withdrawing": "提现中", "paid": "已付"}
KIND_NAMES = {
    "credit_pending": "订单返利（等结算）",
    "credit_settled": "订单结算",
    "reversal": "退款/取消扣回",
    "withdrawal_request": "申请提现",
    "withdrawal_paid": "提现已付",
    "paid_notice": "已告诉成员订单在跟踪",
}
RECENTLY_PAID = 20
MAX_TEXT = 64


def member_link(member_id: str) -> str:
    return "/rebates/member/" + quote(member_id, safe="")


@dataclass(frozen=True, slots=True)
class _Ledger:
    ledger: order_browse.LedgerPage
    waiting: list[rebate.Withdrawal]
    paid: list[rebate.Withdrawal]


def _ledger(services: WebServices, number: int, text: str) -> _Ledger:
    every = rebate.withdrawals(services.engine)
    paid = [w for w in every if w.paid]
    return _Ledger(
        order_browse.member_ledgers(services.engine, number, text=text),
        [w for w in every if not w.paid],
        list(reversed(paid[-RECENTLY_PAID:])),
    )


def _number(request: Request) -> int:
    return page_number(request.query_params.get("page"))


def _common(services: WebServices) -> dict[str, Any]:
    return {
        "bucket_names": BUCKET_NAMES,
        "kind_names": KIND_NAMES,
        "league_names": LEAGUE_NAMES,
        "member_link": member_link,
        "rebate_enabled": services.settings.rebate.enabled,
        "share_percent": services.settings.rebate.share_percent,
        "zone": services.settings.bot.timezone,
    }


async def _ledger_page(request: Request, problem: str = "", status: int = 200, force_id: int = 0) -> Response:
    """The page; with `force_id`, the problem above asks to confirm recording that uncovered request."""
    services: WebServices = request.app.state.services
    number = _number(request)
    text = request.query_params.get("q", "").strip()[:MAX_TEXT]
    found = await asyncio.to_thread(_ledger, services, number, text)
    context = {
        **_common(services),
        "problem": problem,
        "force_id": force_id,
        "ledger": found.ledger,
        "waiting": found.waiting,
        "paid": found.paid,
        "q": text,
        "paging": paging(
            number,
            found.ledger.member_count,
            order_browse.PER_PAGE,
            lambda n: query_link("/rebates", {"q": text}, n),
        ),
    }
    return page(request, "rebates.html", context, title="返利", status=status)


async def show(request: Request) -> Response:
    return await _ledger_page(request)


@dataclass(frozen=True, slots=True)
class _Member:
    balance: dict[str, int]
    entries: list[order_browse.EntryLine]
    entry_count: int
    bindings: list[order_browse.BoundOrder]
    withdrawals: list[rebate.Withdrawal]


def _member(services: WebServices, member_id: str, number: int) -> _Member:
    entries, count = order_browse.member_entries(services.engine, member_id, number)
    return _Member(
        rebate.balance(services.engine, member_id),
        entries,
        count,
        order_browse.member_bindings(services.engine, member_id),
        [w for w in rebate.withdrawals(services.engine) if w.member_id == member_id],
    )


async def member(request: Request) -> Response:
    services: WebServices = request.app.state.services
    member_id: str = request.path_params["member_id"]
    number = _number(request)
    found = await asyncio.to_thread(_member, services, member_id, number)
    if not found.entry_count and not found.bindings:
        return error_page(request, 404, "账本里没有这个成员", "这个成员还没有绑定过订单，也没有返利记录。")
    base = member_link(member_id)
    context = {
        **_common(services),
        "member_id": member_id,
        "balance": found.balance,
        "entries": found.entries,
        "entry_count": found.entry_count,
        "bindings": found.bindings,
        "withdrawals": found.withdrawals,
        "paging": paging(number, found.entry_count, order_browse.PER_PAGE, lambda n: f"{base}?page={n}"),
    }
    return page(request, "rebate_member.html", context, title=f"返利 · {member_id}")


async def confirm_pay(request: Request) -> Response:
    """What 标记已付 would record, with 确认已付 (a POST to the same address) and a way back."""
    services: WebServices = request.app.state.services
    withdrawal_id: int = request.path_params["withdrawal_id"]
    every = await asyncio.to_thread(rebate.withdrawals, services.engine)
    found = next((w for w in every if w.id == withdrawal_id), None)
    if found is None:
        return error_page(request, 404, "没有这笔提现申请", f"没有编号 {withdrawal_id} 的提现申请。")
    if found.paid:
        detail = f"编号 {found.id} 的提现（{yuan(found.amount_fen)}，{found.member_id}）已经记为已付了。"
        return error_page(request, 409, "这笔已经付过了", detail)
    context = {**_common(services), "w": found}
    return page(request, "rebate_pay.html", context, title=f"确认已付 · {found.member_id}")


async def pay(request: Request) -> Response:
    services: WebServices = request.app.state.services
    withdrawal_id: int = request.path_params["withdrawal_id"]
    form = await request.form()
    force = form.get("force") == "1"
    paid = await asyncio.to_thread(ledger.record_paid, services.engine, withdrawal_id, force=force)
    done, known = paid.done, paid.known
    if done is None and known is not None and not known.paid and known.shortfall_fen:
        problem = (
            f"{ledger.uncovered_reason(known)}，这次没有记为已付。先别转账；"
            "如果钱已经转给成员了，点下面的按钮照样记下（成员的余额会是负数）。"
        )
        return await _ledger_page(request, problem, 409, force_id=withdrawal_id)
    if done is None:
        if known is not None and known.paid:
            problem = (
                f"编号 {withdrawal_id} 的提现（{yuan(known.amount_fen)}，{known.member_id}）之前已经记为已付了，"
                "这次没有再记一遍，账本没有变化。"
            )
            return await _ledger_page(request, problem, 409)
        problem = f"没有编号 {withdrawal_id} 的提现申请，什么都没有改动。"
        return await _ledger_page(request, problem, 404)
    log.info(
        "web console: withdrawal %s marked paid (%s fen%s)",
        done.id,
        done.amount_fen,
        f", forced past a shortfall of {done.shortfall_fen} fen" if done.shortfall_fen else "",
    )
    message = f"已记为已付：编号 {done.id}，{yuan(done.amount_fen)}，付给 {done.member_id}"
    return RedirectResponse("/rebates?ok=" + quote(message), status_code=303)


WITHDRAWALS_HEADER = ("编号", "成员", "金额(元)", "申请时间")


async def withdrawals_csv(request: Request) -> Response:
    """The withdrawals waiting to be paid, for paying them in one go from a spreadsheet (then 标记已付
    each here or `tuike rebate pay ID`). One a refund uncovered is left out: it is not to be paid."""
    services: WebServices = request.app.state.services
    every = await asyncio.to_thread(rebate.withdrawals, services.engine, True)
    waiting = [w for w in every if not w.shortfall_fen]
    zone = ZoneInfo(services.settings.bot.timezone)
    rows = [
        (
            str(w.id),
            id_cell(w.member_id),
            yuan_cell(w.amount_fen),
            w.requested_at.astimezone(zone).strftime(TIME_FORMAT),
        )
        for w in waiting
    ]
    today = services.clock().astimezone(zone).date().isoformat()
    return Response(
        csv_bytes(WITHDRAWALS_HEADER, rows),
        media_type=MEDIA_TYPE,
        headers=download_headers(f"待付提现-{today}.csv", f"withdrawals-{today}.csv"),
    )


routes: list[BaseRoute] = [
    Route("/rebates", show, methods=["GET"]),
    Route("/rebates/withdrawals.csv", withdrawals_csv, methods=["GET"]),
    Route("/rebates/member/{member_id:path}", member, methods=["GET"]),
    Route("/rebates/withdrawals/{withdrawal_id:id}/pay", confirm_pay, methods=["GET"]),
    Route("/rebates/withdrawals/{withdrawal_id:id}/pay", pay, methods=["POST"]),
]
