"""The 订单 CSV export: order lines as Excel opens them, a batch at a time (and, with `csv_bytes`, the
small exports such as the withdrawals waiting to be paid).

Operators reconcile commission in Excel, so the file is written for it:
- UTF-8 with a byte-order mark (without it Excel reads Chinese as GBK and shows mojibake), CRLF line
  ends, a header of Chinese column names;
- money in yuan with exactly two decimals, computed from the integer fen (never through float);
- times in the bot's zone, `2026-05-20 12:00:00`, which Excel reads as a date and time;
- long all-digit ids (order, sub-order, product) end with a tab, the convention of Alipay's and the
  banks' statements: Excel otherwise turns an 18-digit order number into 2.80175E+17 and, once saved,
  keeps only its first 15 digits — the reconciliation key would be lost;
- text that comes from members, leagues or groups (titles, group names, ids) and starts with
  = + - @ or a tab / line break gets a leading apostrophe, so Excel shows it instead of running it as a
  formula (CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from datetime import date
from urllib.parse import quote
from zoneinfo import ZoneInfo

from bot.store.order_browse import OrderLine

HEADER = (
    "下单时间",
    "联盟",
    "订单号",
    "子订单/SKU",
    "商品ID",
    "商品",
    "状态",
    "付款金额(元)",
    "佣金(元)",
    "群",
    "群编号",
    "推广位PID",
    "群标记",
    "推客",
    "联盟最后更新",
)
BOM = "\ufeff"
MEDIA_TYPE = "text/csv; charset=utf-8"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_LONG_NUMBER = 12
"""From 12 digits on Excel shows a number in scientific notation (and keeps 15 significant digits)."""


def yuan_cell(fen: int) -> str:
    """1234.56 from 123456 fen, -0.01 from -1: two decimals from integer arithmetic only."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"yuan_cell expects whole fen (int), got {type(fen).__name__}")
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def text_cell(value: str) -> str:
    """Text from outside (a title, a group name), shown by Excel as text, never run as a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def id_cell(value: str) -> str:
    """An id Excel keeps whole: a long run of digits (or one with a leading zero) stays text."""
    if (
        value.isascii()
        and value.isdigit()
        and (len(value) >= _LONG_NUMBER or (len(value) > 1 and value[0] == "0"))
    ):
        return value + "\t"
    return text_cell(value)


class OrderCsv:
    """Writes order lines as CSV bytes: `start()` once (BOM and header), then `rows()` per batch."""

    def __init__(
        self, zone: ZoneInfo, league_name: Callable[[str], str], status_name: Callable[[str], str]
    ) -> None:
        self.zone = zone
        self.league_name = league_name
        self.status_name = status_name

    def start(self) -> bytes:
        return csv_bytes(HEADER, [])

    def rows(self, lines: Iterable[OrderLine]) -> bytes:
        return _csv_text(self._row(line) for line in lines).encode("utf-8")

    def _row(self, line: OrderLine) -> tuple[str, ...]:
        if line.group_id is None:
            group = "未归属"
        else:
            group = text_cell(line.group_name) if line.group_name else f"群 #{line.group_id}"
        return (
            line.created_at.astimezone(self.zone).strftime(TIME_FORMAT),
            text_cell(self.league_name(line.league)),
            id_cell(line.order_id),
            id_cell(line.sku_id),
            id_cell(line.product_id),
            text_cell(line.title),
            text_cell(self.status_name(line.status)),
            yuan_cell(line.paid_fen),
            yuan_cell(line.commission_fen),
            group,
            "" if line.group_id is None else str(line.group_id),
            text_cell(line.pid),
            text_cell(line.tag),
            text_cell(line.sharer_appid),
            line.updated_at.astimezone(self.zone).strftime(TIME_FORMAT),
        )


def _csv_text(rows: Iterable[Iterable[str]]) -> str:
    """Rows as CSV lines with CRLF ends."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def csv_bytes(header: Iterable[str], rows: Iterable[Iterable[str]]) -> bytes:
    """A file's start, or a whole small file: the BOM, the header and the rows (cells already made with
    the `*_cell`s)."""
    return (BOM + _csv_text([list(header), *rows])).encode("utf-8")


def download_names(first: str, last: str, today: date) -> tuple[str, str]:
    """The file's name (Chinese) and its ASCII fallback for the filter's dates (ISO, as the form holds
    them): 订单-2026-05-01-2026-05-31.csv; without an end date it runs to `today`, and without a start
    date it is everything up to the end, 订单-截至2026-05-31.csv."""
    last = last or today.isoformat()
    if first:
        return f"订单-{first}-{last}.csv", f"orders-{first}-{last}.csv"
    return f"订单-截至{last}.csv", f"orders-until-{last}.csv"


def content_disposition(name: str, fallback: str) -> str:
    """An attachment named `name` (RFC 6266 / 5987), with an ASCII `filename` for old clients."""
    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in fallback)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


def download_headers(name: str, fallback: str) -> dict[str, str]:
    """A CSV response's headers: an attachment called `name`, never cached, never sniffed as HTML."""
    return {
        "Content-Disposition": content_disposition(name, fallback),
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
