"""The console's pager: how many pages a list has, and which of 上一页 / 下一页 / 回到第一页 it offers
on each (bot.web.paging); the list pages themselves are tested beside their own pages."""

from __future__ import annotations

import pytest

from bot.web.paging import Paging, paging, query_link


def link(number: int) -> str:
    return f"/list?page={number}"


def test_an_empty_list_is_one_page_without_links_on() -> None:
    assert paging(1, 0, 50, link) == Paging(1, 1, "", "", "/list?page=1")


@pytest.mark.parametrize(
    ("total", "pages"), [(1, 1), (49, 1), (50, 1), (51, 2), (100, 2), (101, 3), (100_000, 2000)]
)
def test_the_last_page_holds_what_is_left_over(total: int, pages: int) -> None:
    assert paging(1, total, 50, link).pages == pages


def test_the_first_page_offers_only_the_next() -> None:
    first = paging(1, 120, 50, link)
    assert (first.previous, first.next) == ("", "/list?page=2")


def test_a_middle_page_offers_both_ways() -> None:
    middle = paging(2, 120, 50, link)
    assert (middle.number, middle.previous, middle.next) == (2, "/list?page=1", "/list?page=3")


def test_the_last_page_offers_only_the_one_before() -> None:
    last = paging(3, 120, 50, link)
    assert (last.previous, last.next) == ("/list?page=2", "")


def test_a_page_past_the_end_goes_back_but_not_further_and_knows_the_first() -> None:
    beyond = paging(9, 120, 50, link)
    assert (beyond.pages, beyond.previous, beyond.next, beyond.first) == (
        3,
        "/list?page=8",
        "",
        "/list?page=1",
    )


def test_links_keep_the_filter_and_leave_out_what_is_empty_and_page_one() -> None:
    query = {"league": "jd", "status": "", "q": "空气 炸锅"}
    assert query_link("/orders", query, 1) == "/orders?league=jd&q=%E7%A9%BA%E6%B0%94+%E7%82%B8%E9%94%85"
    assert query_link("/orders", query, 3).endswith("&page=3")
    assert query_link("/rebates", {"q": ""}, 1) == "/rebates"
    assert query_link("/rebates", {"q": ""}, 2) == "/rebates?page=2"
