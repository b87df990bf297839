"""The console's lists go 50 a page: which page this is, how many there are, and the links to the
pages around it. Each page module knows how its own links carry its filters (`link`); this only
decides which links there are. The templates show them with the `pager` macro (templates/_macros.html).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode


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
