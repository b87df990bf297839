"""`tuike report --chart PATH.png`: commission per day per league, and the groups that earned most.

Drawn with matplotlib's object API (no pyplot state, the Agg canvas: no display needed) in Noto Sans
CJK, which the install brings (the `cvttf-NotoSansCJK-Regular` package), so the Chinese labels read
right on a server without fonts. Amounts stay integer fen; only the axis labels show yuan.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from bot.leagues.registry import LEAGUES
from bot.store.orders import commission_lines, figures

if TYPE_CHECKING:
    from matplotlib.figure import Figure

LEAGUE_NAMES = {plugin.name: plugin.short_name for plugin in LEAGUES}
"""How the console and charts label each league (its plug-in's short name)."""
TOP_GROUPS = 10


def cjk_font() -> str:
    """The path of the CJK font the install brings."""
    import cvttf_NotoSansCJK_Regular as noto

    return str(noto.get_TTF_path())


def _yuan_label(fen: float, _position: object = None) -> str:
    whole = int(fen)
    return f"¥{whole // 100}" if whole % 100 == 0 else f"¥{whole // 100}.{whole % 100:02d}"


def draw_chart(
    engine: Engine,
    path: Path,
    zone: ZoneInfo,
    start: datetime | None = None,
    end: datetime | None = None,
    fmt: str = "png",
) -> dict[str, int]:
    """Draw the chart to `path` in `fmt` (png, jpeg, svg, pdf); returns what it drew: days, leagues, groups."""
    figure = build_figure(engine, zone, start, end)
    figure.savefig(path, format=fmt)
    drawn: dict[str, int] = figure.drawn  # type: ignore[attr-defined]
    return drawn


MIN_DAYS_SHOWN = 7
"""The daily axis spans at least a week of slots, so one or two days are bars, not the whole width."""


def build_figure(
    engine: Engine, zone: ZoneInfo, start: datetime | None = None, end: datetime | None = None
) -> Figure:
    """The chart as a matplotlib Figure (its `drawn` says days, leagues and groups). Days are labelled
    slots (MM-DD), one per day, never a time axis that would show a single day as its hours."""
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties, fontManager
    from matplotlib.ticker import FuncFormatter

    font = cjk_font()
    fontManager.addfont(font)
    family = FontProperties(fname=font).get_name()

    lines = commission_lines(engine, start, end)
    per_day: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for at, league, _group, fen in lines:
        per_day[league][at.astimezone(zone).date()] += fen
    days: list[date] = []
    if lines:
        first = min(at.astimezone(zone).date() for at, *_ in lines)
        last = max(at.astimezone(zone).date() for at, *_ in lines)
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    groups = sorted(
        (f for f in figures(engine, start, end) if f.group_id is not None and f.estimated_fen > 0),
        key=lambda f: f.estimated_fen,
        reverse=True,
    )[:TOP_GROUPS]

    figure = Figure(figsize=(11, 9), dpi=100)
    figure.set_layout_engine("constrained")
    daily, top = figure.subplots(2, 1, height_ratios=[3, 2])
    money = FuncFormatter(_yuan_label)
    slots = list(range(len(days)))
    bottom = [0] * len(days)
    for league in sorted(per_day):
        heights = [per_day[league].get(day, 0) for day in days]
        daily.bar(slots, heights, width=0.8, bottom=bottom, label=LEAGUE_NAMES.get(league, league))
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    if days:
        every = max(1, len(days) // 15)  # at most about fifteen day labels
        daily.set_xticks(slots[::every], [day.strftime("%m-%d") for day in days[::every]])
        daily.set_xlim(-0.6, max(len(days), MIN_DAYS_SHOWN) - 0.4)
    else:
        daily.set_xticks([])
    daily.set_title("每日预估佣金（按联盟）", fontfamily=family, fontsize=14)
    daily.yaxis.set_major_formatter(money)
    if per_day:
        daily.legend(prop=FontProperties(fname=font))
    else:
        daily.text(
            0.5,
            0.5,
            "这段时间还没有订单",
            ha="center",
            va="center",
            fontfamily=family,
            transform=daily.transAxes,
        )
    for label in daily.get_xticklabels():
        label.set_rotation(30)

    names = [(f.name or f.room_id)[:16] for f in groups][::-1]
    top.barh(names, [f.estimated_fen for f in groups][::-1], color="#d9534f")
    top.set_title(f"预估佣金最多的 {len(groups)} 个群", fontfamily=family, fontsize=14)
    top.xaxis.set_major_formatter(money)
    for label in top.get_yticklabels():
        label.set_fontfamily(family)
    figure.drawn = {"days": len(days), "leagues": len(per_day), "groups": len(groups)}  # type: ignore[attr-defined]
    return figure
