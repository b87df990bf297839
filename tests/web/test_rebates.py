"""The 返利 page: every member's balance per bucket (the ledger's sums), one member's entries, the
withdrawals waiting to be paid by hand and "标记已付" — once; a second time is refused and counts
nothing. With [rebate] off the page says so and still shows the ledger."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from bot.leagues.base import Order
from bot.store import rebate
from bot.store.models import RebateEntry
from bot.store.orders import store_window
from tests.web.conftest import Console, browser_login, console_settings, serve_console

NOW = datetime.now(UTC)


def _order(order_id: str, commission: int, status: str = "pending", at: datetime = NOW) -> Order:
    return Order(order_id, "1", "p1", "空气炸锅", commission * 10, commission, status, "", at, at)


def seed(engine: Engine) -> int:
    """Alice: a settled order (¥10.00 rebate at 50%), ¥6.00 of it asked for; Bob: a pending one (¥4.00).
    Returns Alice's withdrawal request id."""
    store_window(
        engine,
        "jd",
        [
            (_order("300000000001", 2_000, "settled", NOW - timedelta(days=9)), None),
            (_order("300000000002", 800, "pending", NOW - timedelta(days=1)), None),
        ],
        NOW,
    )
    assert rebate.bind(engine, "wxid_alice", "300000000001", 50).outcome == "bound"
    assert rebate.bind(engine, "wxid_bob", "300000000002", 50).outcome == "bound"
    request_id, amount = rebate.request_withdrawal(engine, "wxid_alice", 600)
    assert request_id and amount == 600
    return request_id


def row_of(html: str, member: str) -> list[str]:
    """The cells of a member's row in the ledger table."""
    found = re.search(rf'<tr data-member="{member}">(.*?)</tr>', html, re.S)
    assert found, member
    return [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", found.group(1), re.S)
    ]


def entry_count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(RebateEntry)).one())


@pytest.fixture
async def rebate_console(tmp_path: Path, store: Engine) -> AsyncIterator[Console]:
    """The console with [rebate] turned on."""
    settings = console_settings(tmp_path)
    settings = settings.model_copy(update={"rebate": settings.rebate.model_copy(update={"enabled": True})})
    async for running in serve_console(tmp_path, store, settings=settings):
        yield running


async def test_the_ledger_lists_each_members_balance_per_bucket(rebate_console: Console) -> None:
    seed(rebate_console.engine)
    client = await rebate_console.logged_in()
    html = (await client.get("/rebates")).text
    assert "没有开启" not in html
    # member, pending, available, withdrawing, paid, orders bound, last change
    assert row_of(html, "wxid_alice")[:6] == ["wxid_alice", "¥0.00", "¥4.00", "¥6.00", "¥0.00", "1"]
    assert row_of(html, "wxid_bob")[:6] == ["wxid_bob", "¥4.00", "¥0.00", "¥0.00", "¥0.00", "1"]
    for member in ("wxid_alice", "wxid_bob"):  # the same figures the member hears from 余额
        cells = row_of(html, member)[1:5]
        assert cells == [
            f"¥{v // 100}.{v % 100:02d}" for v in rebate.balance(rebate_console.engine, member).values()
        ]
    assert re.search(r'id="bucket-pending">¥4.00<', html)
    assert re.search(r'id="bucket-available">¥4.00<', html)
    assert re.search(r'id="bucket-withdrawing">¥6.00<', html)
    assert '成员 <span class="muted">2 人</span>' in html

    found = (await client.get("/rebates", params={"q": "bob"})).text
    assert "wxid_bob" in found and 'data-member="wxid_alice"' not in found


async def test_a_member_with_only_a_binding_is_listed_too(rebate_console: Console) -> None:
    engine = rebate_console.engine
    store_window(engine, "pdd", [(_order("400000000001", 0, "pending"), None)], NOW)  # not estimated yet
    assert rebate.bind(engine, "wxid_carol", "400000000001", 50).outcome == "bound"
    client = await rebate_console.logged_in()
    html = (await client.get("/rebates")).text
    assert row_of(html, "wxid_carol")[:6] == ["wxid_carol", "¥0.00", "¥0.00", "¥0.00", "¥0.00", "1"]
    page = (await client.get("/rebates/member/wxid_carol")).text
    assert "400000000001" in page and "还没有账本记录" in page


async def test_a_members_page_shows_their_entries_and_orders(rebate_console: Console) -> None:
    request_id = seed(rebate_console.engine)
    client = await rebate_console.logged_in()
    html = (await client.get("/rebates/member/wxid_alice")).text
    assert re.search(r'id="balance-available">¥4.00<', html)
    assert re.search(r'id="balance-withdrawing">¥6.00<', html)
    assert "订单结算" in html and "申请提现" in html and f"提现编号 {request_id}" in html
    order_link = re.search(r'<a href="(/orders/\d+)">300000000001</a>', html)
    assert order_link
    order = (await client.get(order_link.group(1))).text
    assert "空气炸锅" in order and 'href="/rebates/member/wxid_alice"' in order
    assert f'action="/rebates/withdrawals/{request_id}/pay"' in html

    missing = await client.get("/rebates/member/wxid_nobody")
    assert missing.status_code == 404 and "账本里没有这个成员" in missing.text


async def test_a_withdrawal_is_marked_paid_once_and_a_second_time_is_refused(rebate_console: Console) -> None:
    engine = rebate_console.engine
    request_id = seed(engine)
    client = await rebate_console.logged_in()
    listing = (await client.get("/rebates")).text
    assert f'id="withdrawal-{request_id}"' in listing

    done = await client.post(f"/rebates/withdrawals/{request_id}/pay")
    assert done.status_code == 303
    target = done.headers["location"]
    assert unquote(target).startswith("/rebates?ok=已记为已付")
    after = (await client.get(target)).text
    assert "已记为已付：编号" in after and "¥6.00" in after
    assert f'id="withdrawal-{request_id}"' not in after and "没有待付的提现申请" in after
    assert f'id="paid-{request_id}"' in after
    assert rebate.balance(engine, "wxid_alice") == {
        "pending": 0,
        "available": 400,
        "withdrawing": 0,
        "paid": 600,
    }
    entries = entry_count(engine)

    again = await client.post(f"/rebates/withdrawals/{request_id}/pay")
    assert again.status_code == 409
    assert "之前已经记为已付了" in again.text and "没有再记一遍" in again.text
    assert rebate.balance(engine, "wxid_alice")["paid"] == 600
    assert entry_count(engine) == entries

    unknown = await client.post("/rebates/withdrawals/987654/pay")
    assert unknown.status_code == 404 and "没有编号 987654 的提现申请" in unknown.text
    assert entry_count(engine) == entries


async def test_mark_paid_asks_to_confirm_with_the_amount_and_member_first(rebate_console: Console) -> None:
    """One click on 标记已付 records nothing: it shows what would be recorded (amount, member, when asked)
    and only 确认已付 there records it."""
    engine = rebate_console.engine
    request_id = seed(engine)
    client = await rebate_console.logged_in()
    entries = entry_count(engine)
    for listing in ("/rebates", "/rebates/member/wxid_alice"):
        html = (await client.get(listing)).text
        row = html[html.index(f'id="withdrawal-{request_id}"') :].split("</tr>")[0]
        form = re.search(r'<form method="(\w+)" action="([^"]+)"', row)
        assert form and form.groups() == ("get", f"/rebates/withdrawals/{request_id}/pay"), row
        assert "标记已付" in row

    asked = await client.get(f"/rebates/withdrawals/{request_id}/pay")
    assert asked.status_code == 200
    assert "¥6.00" in asked.text and "wxid_alice" in asked.text and "确认已付" in asked.text
    assert re.search(rf'<form method="post" action="/rebates/withdrawals/{request_id}/pay"', asked.text)
    assert 'href="/rebates"' in asked.text  # a way back without recording
    assert entry_count(engine) == entries and rebate.balance(engine, "wxid_alice")["paid"] == 0

    done = await client.post(f"/rebates/withdrawals/{request_id}/pay")
    assert done.status_code == 303 and rebate.balance(engine, "wxid_alice")["paid"] == 600
    again = await client.get(f"/rebates/withdrawals/{request_id}/pay")
    assert again.status_code == 409 and "已经记为已付" in again.text and "确认已付" not in again.text
    missing = await client.get("/rebates/withdrawals/987654/pay")
    assert missing.status_code == 404


async def test_with_rebates_off_the_page_says_so_and_still_shows_the_ledger(console: Console) -> None:
    assert not console.services.settings.rebate.enabled
    seed(console.engine)
    client = await console.logged_in()
    html = (await client.get("/rebates")).text
    assert "返利功能现在没有开启" in html
    # what members hear, as the chat says it (tests/handlers/test_rebate_words.py)
    assert "不会有回应" not in html and "会收到「返利没有开」" in html
    assert row_of(html, "wxid_bob")[1] == "¥4.00"
    assert "标记已付" in html


async def test_mark_a_withdrawal_paid_in_a_browser(rebate_console: Console, browser_page: Any) -> None:
    request_id = seed(rebate_console.engine)
    page = browser_page
    await browser_login(page, rebate_console)
    await page.click("header nav >> text=返利")
    await page.wait_for_selector(f"#withdrawal-{request_id}")
    await page.screenshot(path=str(rebate_console.shots / "rebates.png"), full_page=True)
    await page.click(f"#withdrawal-{request_id} button")
    await page.wait_for_selector("text=确认已付")  # the amount and member, asked first
    assert await page.locator("main >> text=¥6.00").count() >= 1
    await page.click("button:has-text('确认已付')")
    await page.wait_for_selector("p.notice >> text=已记为已付")
    await page.wait_for_selector("#no-waiting")
    assert rebate.balance(rebate_console.engine, "wxid_alice")["paid"] == 600


async def test_two_clicks_at_once_pay_a_withdrawal_once(rebate_console: Console) -> None:
    engine = rebate_console.engine
    request_id = await asyncio.to_thread(seed, engine)
    client = await rebate_console.logged_in()
    other = await rebate_console.logged_in()
    first, second = await asyncio.gather(
        client.post(f"/rebates/withdrawals/{request_id}/pay"),
        other.post(f"/rebates/withdrawals/{request_id}/pay"),
    )
    assert sorted([first.status_code, second.status_code]) == [303, 409]
    balance = await asyncio.to_thread(rebate.balance, engine, "wxid_alice")
    assert balance["paid"] == 600 and balance["withdrawing"] == 0


@pytest.fixture
async def operator(rebate_console: Console) -> httpx.AsyncClient:
    """A logged-in client, made before a test's loop watchdog starts (making one loads CA files)."""
    return await rebate_console.logged_in()


async def test_the_pages_never_query_the_store_on_the_event_loop(
    rebate_console: Console, operator: httpx.AsyncClient, loop_watchdog: Any
) -> None:
    request_id = await asyncio.to_thread(seed, rebate_console.engine)
    client = operator
    for path in ("/rebates", "/rebates?q=alice&page=1", "/rebates/member/wxid_alice"):
        assert (await client.get(path)).status_code == 200, path
    assert (await client.post(f"/rebates/withdrawals/{request_id}/pay")).status_code == 303
    assert (await client.post(f"/rebates/withdrawals/{request_id}/pay")).status_code == 409


async def test_withdrawals_waiting_to_be_paid_export_for_a_spreadsheet(rebate_console: Console) -> None:
    engine = rebate_console.engine
    alice = await asyncio.to_thread(seed, engine)
    await asyncio.to_thread(
        store_window, engine, "jd", [(_order("300000000003", 1_001, "settled"), None)], NOW
    )
    assert rebate.bind(engine, "=cmd|' /C calc'!A0", "300000000003", 50).outcome == "bound"
    hostile, _ = rebate.request_withdrawal(engine, "=cmd|' /C calc'!A0")
    client = await rebate_console.logged_in()
    assert 'href="/rebates/withdrawals.csv"' in (await client.get("/rebates")).text

    got = await client.get("/rebates/withdrawals.csv")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert "filename*=UTF-8''" in got.headers["content-disposition"]
    assert got.content.startswith(b"\xef\xbb\xbf")
    lines = got.content.decode("utf-8-sig").split("\r\n")
    assert lines[0] == "编号,成员,金额(元),申请时间"
    assert lines[1].startswith(f"{alice},wxid_alice,6.00,")
    assert lines[2].startswith(f"{hostile},'=cmd|' /C calc'!A0,5.00,"), "shown, never run as a formula"
    assert lines[3:] == [""]

    await client.post(f"/rebates/withdrawals/{alice}/pay")
    after = (await client.get("/rebates/withdrawals.csv")).content.decode("utf-8-sig").split("\r\n")
    assert [line.split(",")[0] for line in after[1:-1]] == [str(hostile)], "paid ones leave the file"

    client.cookies.clear()
    assert (await client.get("/rebates/withdrawals.csv")).status_code in (303, 401), "behind the login"


async def test_a_withdrawal_a_refund_uncovered_is_flagged_and_held(rebate_console: Console) -> None:
    """Issue 33, item 4: after a refund took back what a request was asking for, the 返利 page flags
    it, 标记已付 refuses it saying why (nothing is recorded), the payment CSV leaves it out, and an
    operator who had already transferred the money records it with 「仍然记为已付」."""
    engine = rebate_console.engine
    request_id = await asyncio.to_thread(seed, engine)  # alice asks for ¥6.00 of her ¥10.00
    await asyncio.to_thread(
        store_window,
        engine,
        "jd",
        [(_order("300000000001", 2_000, "cancelled", NOW + timedelta(minutes=1)), None)],
        NOW,
    )
    await asyncio.to_thread(rebate.reconcile, engine)
    client = await rebate_console.logged_in()
    html = (await client.get("/rebates")).text
    row = re.search(rf'<tr id="withdrawal-{request_id}"[^>]*>(.*?)</tr>', html, re.S)
    assert row and "退款" in row.group(1) and "差 ¥6.00" in row.group(1)
    entries = entry_count(engine)

    refused = await client.post(f"/rebates/withdrawals/{request_id}/pay")
    assert refused.status_code == 409
    assert "退款" in refused.text and "¥6.00" in refused.text and "没有记为已付" in refused.text
    assert entry_count(engine) == entries
    csv = (await client.get("/rebates/withdrawals.csv")).content.decode("utf-8-sig").split("\r\n")
    assert [line.split(",")[0] for line in csv[1:-1]] == [], "not in the file to pay from"

    assert 'name="force"' not in html, "forcing is asked only once 标记已付 was refused"
    assert f'id="force-{request_id}"' in refused.text and 'name="force" value="1"' in refused.text
    forced = await client.post(f"/rebates/withdrawals/{request_id}/pay", data={"force": "1"})
    assert forced.status_code == 303
    balance = await asyncio.to_thread(rebate.balance, engine, "wxid_alice")
    assert balance == {"pending": 0, "available": -600, "withdrawing": 0, "paid": 600}
