"""What groups earned: per-group figures for a period, the periods owners ask about (today, this
month, last month in the configured zone), and the row shapes the CLI prints (JSON lines, CSV, text).

Money stays in integer fen; the conversion (orders per member request) is a per-mille integer. It is
orders over requests, not the share of requests that became an order: an order from a daily push or a
broadcast counts too, so it can pass 100% (`CONVERSION_NOTE` says so under the text table).

A row names its group by room id (`group`, None for the orders no group's link made) and name, the ids
an operator sees everywhere else; the store's row number never leaves the store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from bot.render.width import clip, ljust, rjust
from bot.store.orders import Figures, figures

FIELDS = (
    "group",
    "name",
    "orders",
    "paid_fen",
    "estimated_fen",
    "settled_fen",
    "cancelled",
    "requests",
    "conversion_permille",
    "owner_share_fen",
)


@dataclass(frozen=True, slots=True)
class Period:
    label: str
    """What an owner reads: 今天, 本月, 上月."""
    start: datetime
    end: datetime


def day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def owner_periods(now: datetime, zone: ZoneInfo) -> list[Period]:
    """Today, this month and last month, in `zone`, as UTC ranges."""
    local = now.astimezone(zone).date()
    month = local.replace(day=1)
    last_month = (month - timedelta(days=1)).replace(day=1)
    next_month = (month + timedelta(days=32)).replace(day=1)
    return [
        Period("今天", day_start(local, zone), day_start(local + timedelta(days=1), zone)),
        Period("本月", day_start(month, zone), day_start(next_month, zone)),
        Period("上月", day_start(last_month, zone), day_start(month, zone)),
    ]


def conversion_permille(f: Figures) -> int:
    return f.orders * 1000 // f.requests if f.requests else 0


def owner_share(fen: int, percent: int) -> int:
    """The owner's share of `fen` at `percent`, rounded down to the fen (never promise more than paid)."""
    return fen * percent // 100


def row_of(f: Figures, owner_share_percent: int = 0) -> dict[str, Any]:
    """One report row; `owner_share_fen` is the owner's share of the estimated commission (0 for the
    unattributed row: no group, no owner)."""
    share = owner_share(f.estimated_fen, owner_share_percent) if f.group_id is not None else 0
    return {
        "group": (f.room_id or None) if f.group_id is not None else None,
        "name": f.name,
        "orders": f.orders,
        "paid_fen": f.paid_fen,
        "estimated_fen": f.estimated_fen,
        "settled_fen": f.settled_fen,
        "cancelled": f.cancelled,
        "requests": f.requests,
        "conversion_permille": conversion_permille(f),
        "owner_share_fen": share,
    }


def report_rows(
    engine: Engine,
    start: datetime | None,
    end: datetime | None,
    group_id: int | None = None,
    owner_share_percent: int = 0,
) -> list[dict[str, Any]]:
    """One row per group with orders or requests in [start, end) (or just `group_id`), then one
    with `group` None for the orders no group's link made."""
    found = figures(engine, start, end, [group_id] if group_id is not None else None)
    if group_id is not None and not found:
        found = [Figures(group_id, "", "")]
    return [row_of(f, owner_share_percent) for f in found]


def group_figures(engine: Engine, group_id: int, periods: Iterable[Period]) -> list[tuple[Period, Figures]]:
    """The group's figures for each period (zeros when it sold nothing)."""
    out = []
    for period in periods:
        found = figures(engine, period.start, period.end, [group_id], with_unattributed=False)
        out.append((period, found[0] if found else Figures(group_id, "", "")))
    return out


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen) // 100}.{abs(fen) % 100:02d}"


CONVERSION_NOTE = (
    "转化 = 订单数 ÷ 成员请求数（找商品、发链接）。每日推送和群发带来的订单也算在订单数里，所以会超过 100%。"
)
NAME_COLUMNS = 28
COLUMNS = (("订单", 6), ("成交额", 13), ("预估佣金", 13), ("已结算佣金", 13), ("请求", 6), ("转化", 8))


def _percent(orders: int, requests: int) -> str:
    permille = orders * 1000 // requests if requests else 0
    return f"{permille // 10}.{permille % 10}%" if requests else "—"


def _line(name: str, cells: list[str]) -> str:
    return ljust(clip(name, NAME_COLUMNS), NAME_COLUMNS) + "".join(
        rjust(cell, width) for cell, (_title, width) in zip(cells, COLUMNS, strict=True)
    )


def text_table(rows: list[dict[str, Any]]) -> str:
    """The human report: one line per group, totals, then what the conversion counts. Columns are
    padded by display width, so a Chinese group name does not push its figures out of line."""
    lines = [_line("群", [title for title, _width in COLUMNS])]
    total = {"orders": 0, "paid_fen": 0, "estimated_fen": 0, "settled_fen": 0, "requests": 0}
    for row in rows:
        name = row["name"] if row["group"] is not None else "（未归属）"
        if row["group"] is not None and not name:
            name = str(row["group"])
        lines.append(_line(name, _cells(row)))
        for key in total:
            total[key] += row[key]
    lines.append(_line("合计", _cells(total)))
    lines.append(CONVERSION_NOTE)
    return "\n".join(lines)


def _cells(row: dict[str, Any]) -> list[str]:
    return [
        str(row["orders"]),
        yuan(row["paid_fen"]),
        yuan(row["estimated_fen"]),
        yuan(row["settled_fen"]),
        str(row["requests"]),
        _percent(row["orders"], row["requests"]),
    ]
