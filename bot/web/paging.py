"""The console's lists go 50 a page: which page this is, how many there are, and the links to the
pages around it. Each page module knows how its own links carry its filters (`link`); this only
decides which links there are. The templates show them with the `pager` macro (templates/_macros.html).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from bot.store import models

MAX_PAGE = 100_000
"""No list has more pages: 50 a page, five million rows. A larger number (typed or pasted) is read as
the last page there could be, so the database never gets an offset it cannot take."""


MAX_ID = models.MAX_ID
"""A larger number in an address is read as this one, which finds nothing."""


def whole_number(value: object, default: int = 0, most: int = MAX_ID) -> int:
    """A whole number from an address or a form (a page, an id): `default` when there is none or it is
    not one; at most `most`, so a huge one finds nothing instead of overflowing the database's integers."""
    text = "" if value is None else str(value).strip()
    if not (text.isascii() and text.isdigit()):  # "", "-3", "2.5", "abc", full-width "１２"
        return default
    return min(int(text), most)


def page_number(value: str | None) -> int:
    """The `page=` of a list's address: 1 when missing or not a number, at most `MAX_PAGE`."""
    return max(1, whole_number(value, 1, MAX_PAGE))


@dataclass(frozen=True, slots=True)
class Paging:
    number: int
    """The page shown (1 is the first; it may lie past the last when a link is old)."""
    pages: int
    """How many pages there are: at least 1, also for an empty list."""
    previous: str
    """The link to the page before, or '' on the first page."""
    next: str
    """The link to the page after, or '' on the last page (or past it)."""
    first: str
    """The link to the first page."""


def paging(number: int, total: int, per_page: int, link: Callable[[int], str]) -> Paging:
    """Page `number` of `total` items, `per_page` a page; `link(n)` is page n's address (with the
    list's filters)."""
    pages = max(1, -(-total // per_page))
    return Paging(
        number=number,
        pages=pages,
        previous=link(number - 1) if number > 1 else "",
        next=link(number + 1) if number < pages else "",
        first=link(1),
    )


def query_link(path: str, query: Mapping[str, str], number: int) -> str:
    """`path` with the filled-in parts of `query`, on page `number` (page 1 needs no `page=`)."""
    kept = {key: value for key, value in query.items() if value}
    if number > 1:
        kept["page"] = str(number)
    return path + ("?" + urlencode(kept) if kept else "")
