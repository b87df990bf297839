"""Tiny server-side charts: a stacked bar chart as inline SVG, no JavaScript, nothing fetched.

The SVG scales with its box (`viewBox`), so the page decides its width; it is drawn small (420 units
wide) so that its labels stay readable on a 375 px phone and not huge on a desk (the page caps its
width). Values are integers (money in fen, shown as yuan on the axis); every label is escaped; each
bar carries a `<title>` (the browser's tooltip) with its day, series and exact amount.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

PALETTE = ("#e8590c", "#1c7ed6", "#2b8a3e", "#ae3ec9", "#f59f00", "#0c8599", "#868e96")
WIDTH, HEIGHT = 420, 210
LEFT, RIGHT, TOP, BOTTOM = 46, 8, 30, 22
FONT = 12


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    values: Sequence[int]
    color: str = ""


def yuan_tick(fen: int) -> str:
    """An axis label: ¥12 for whole yuan, ¥0.50 otherwise."""
    return f"¥{fen // 100}" if fen % 100 == 0 else f"¥{fen // 100}.{fen % 100:02d}"


def yuan_exact(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


def nice_step(top: int, ticks: int = 4) -> int:
    """A round step (1, 2 or 5 times a power of ten, at least 1) so that `ticks` steps cover `top`."""
    if top <= 0:
        return 1
    raw = -(-top // ticks)  # ceiling division: integers only
    power = 1
    while power * 10 <= raw:
        power *= 10
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return factor * power
    return 10 * power


def _text(x: float, y: float, text: str, anchor: str = "start", cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{klass}>{escape(text)}</text>'


def stacked_bars(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    label_every: int = 5,
    empty: str = "暂无数据",
    tick: Callable[[int], str] = yuan_tick,
    exact: Callable[[int], str] = yuan_exact,
) -> Markup:
    """One bar per label, the series stacked in it (first at the bottom); a legend on top; the
    y axis in round steps (money by default: values in fen). `labels[i]` is shown under every
    `label_every`-th bar counted from the last (so the newest day is always labelled)."""
    n = len(labels)
    totals = [sum(s.values[i] for s in series) for i in range(n)]
    top = max(totals, default=0)
    step = nice_step(max(top, 1) if top > 0 else 100 * 4)
    y_max = step * max(1, -(-top // step))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    base = TOP + plot_h

    def y_of(value: int) -> float:
        return base - plot_h * value / y_max

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" class="chart" font-size="{FONT}">',
        f"<title>{escape(title)}</title>",
    ]
    # legend
    x = LEFT
    for k, s in enumerate(series):
        color = s.color or PALETTE[k % len(PALETTE)]
        out.append(f'<rect x="{x}" y="8" width="10" height="10" rx="2" fill="{escape(color)}"/>')
        out.append(_text(x + 14, 17, s.label, cls="legend"))
        x += 14 + FONT * len(s.label) + 14
    # grid and y axis
    value = 0
    while value <= y_max:
        y = y_of(value)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" class="grid"/>')
        out.append(_text(LEFT - 4, y + 4, tick(value), "end", "axis"))
        value += step
    # bars
    slot = plot_w / max(n, 1)
    bar = max(slot * 0.7, 1.0)
    for i in range(n):
        x0 = LEFT + slot * i + (slot - bar) / 2
        below = 0
        for k, s in enumerate(series):
            v = s.values[i]
            if v <= 0:
                continue
            color = s.color or PALETTE[k % len(PALETTE)]
            y1, y0 = y_of(below + v), y_of(below)
            out.append(
                f'<rect x="{x0:.1f}" y="{y1:.1f}" width="{bar:.1f}" height="{max(y0 - y1, 0.5):.1f}" '
                f'fill="{escape(color)}"><title>{escape(f"{labels[i]} {s.label} {exact(v)}")}</title></rect>'
            )
            below += v
        if (n - 1 - i) % label_every == 0:
            out.append(_text(x0 + bar / 2, base + 15, labels[i], "middle", "axis"))
    out.append(f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" class="base"/>')
    if top <= 0:
        out.append(_text(LEFT + plot_w / 2, TOP + plot_h / 2, empty, "middle", "empty"))
    out.append("</svg>")
    return Markup("".join(out))
