"""Turns handler data into chat text through operator-editable Jinja templates.

Templates are untrusted operator code, so they run in a `SandboxedEnvironment`; a misspelt variable
is an error (`StrictUndefined`), not an empty string in front of a member. Autoescape is off: the
output is chat text, not HTML, and escaping would turn `&` in affiliate URLs into `&amp;`.

Search order for a template `deal`: `<operator dir>/groups/<group key>/deal.j2`, then
`<operator dir>/deal.j2`, then the built-in `templates/deal.j2`. An edit takes effect on the next
message. A template that fails to compile or render falls back to the last version of itself that
worked (or the built-in one); the failure is logged with file and line and the operator is told once.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import FileSystemLoader, StrictUndefined, Template, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

log = logging.getLogger(__name__)

BUILTIN_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SUFFIX = ".j2"
GROUPS_DIR = "groups"


# -- filters -----------------------------------------------------------------------------------


def yuan(fen: int) -> str:
    """Fen → `¥12.90`, with integer arithmetic only."""
    if not isinstance(fen, int) or isinstance(fen, bool):
        raise TypeError(f"yuan expects integer fen, got {type(fen).__name__}")
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole}.{cents:02d}"


def percent(ratio_ppm: int) -> str:
    """Parts per million → `15%` or `12.5%` (at most two decimals, trailing zeros dropped)."""
    hundredths = (ratio_ppm + 50) // 100  # ppm → 0.01 %
    whole, frac = divmod(hundredths, 100)
    return f"{whole}%" if frac == 0 else f"{whole}.{frac:02d}".rstrip("0") + "%"


def char_width(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def display_width(text: str) -> int:
    return sum(char_width(c) for c in text)


def shorten(text: str, width: int = 40, ellipsis: str = "…") -> str:
    """Cut to `width` display columns (a CJK character counts 2), never inside a character."""
    if display_width(text) <= width:
        return text
    room = width - display_width(ellipsis)
    out, used = [], 0
    for char in text:
        w = char_width(char)
        if used + w > room:
            break
        out.append(char)
        used += w
    return "".join(out).rstrip() + ellipsis


def coupon_summary(coupon: Any) -> str:
    """A coupon the way shoppers say it: 满99减20, 无门槛减5元, 9.5折."""
    if coupon is None:
        return ""
    permille = getattr(coupon, "discount_permille", 0)
    if permille:
        tenths, rest = divmod(permille, 100)
        text = f"{tenths}.{rest // 10}折" if rest else f"{tenths}折"
        text = text.replace(".0折", "折")
    else:
        text = f"减{_money(coupon.amount_fen)}元"
    threshold = coupon.threshold_fen
    return (f"满{_money(threshold)}" if threshold else "无门槛") + text


def _money(fen: int) -> str:
    whole, cents = divmod(fen, 100)
    return str(whole) if cents == 0 else f"{whole}.{cents:02d}".rstrip("0")


def cut_message(text: str, max_chars: int) -> str:
    """Keep a message under `max_chars`, cutting at a line break when one is near."""
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]
    newline = cut.rfind("\n")
    if newline > max_chars // 2:
        cut = cut[:newline]
    return cut.rstrip() + "…"


def group_key(chat_id: str) -> str:
    """A filesystem-safe folder name for a chat id (`12345@chatroom` → `12345_chatroom`)."""
    return re.sub(r"[^\w.-]", "_", chat_id).strip("._") or "_"


# -- the renderer --------------------------------------------------------------------------------


class RenderError(Exception):
    """Neither the template nor any fallback could render: a bug in the shipped templates."""


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line or 0}: {self.message}"


def _problem(exc: Exception, template: Template | None, fallback_file: str) -> Problem:
    if isinstance(exc, TemplateSyntaxError):
        return Problem(exc.filename or fallback_file, exc.lineno, exc.message or str(exc))
    line = None
    tb = exc.__traceback__
    filename = template.filename if template is not None else fallback_file
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    # Jinja rewrites render tracebacks so these frames already carry template line numbers.
    return Problem(filename or fallback_file, line, f"{type(exc).__name__}: {exc}")


class Renderer:
    """Renders one template per message kind, e.g. `render("deal", {...}, group=chat_id)`."""

    def __init__(
        self,
        operator_dir: Path | None = None,
        *,
        timezone: str = "Asia/Shanghai",
        max_chars: int = 1500,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.operator_dir = operator_dir
        self.zone = ZoneInfo(timezone)
        self.max_chars = max_chars
        self.notify = notify or (lambda text: log.warning("%s", text))
        self._envs: dict[str | None, SandboxedEnvironment] = {}
        self._last_good: dict[tuple[str | None, str], Template] = {}
        self._reported: set[tuple[str, float]] = set()
        self._plain: Renderer | None = None
        self.env = self._env(None)

    # environments: one per search path, so a group's folder shadows the others only for that group
    def search_path(self, group: str | None) -> list[Path]:
        path = []
        if self.operator_dir is not None:
            if group is not None:
                path.append(self.operator_dir / GROUPS_DIR / group_key(group))
            path.append(self.operator_dir)
        path.append(BUILTIN_TEMPLATES)
        return path

    def _env(self, group: str | None) -> SandboxedEnvironment:
        key = group_key(group) if group is not None and self.operator_dir is not None else None
        env = self._envs.get(key)
        if env is None:
            env = SandboxedEnvironment(
                loader=FileSystemLoader([str(p) for p in self.search_path(group if key else None)]),
                undefined=StrictUndefined,
                autoescape=False,
                trim_blocks=True,
                lstrip_blocks=True,
                auto_reload=True,
            )
            env.filters.update(
                yuan=yuan,
                percent=percent,
                shorten=shorten,
                coupon_summary=coupon_summary,
                time=self._time,
                date=self._date,
                datetime=self._datetime,
            )
            self._envs[key] = env
        return env

    def _local(self, value: datetime) -> datetime:
        return value.astimezone(self.zone)

    def _time(self, value: datetime) -> str:
        return self._local(value).strftime("%H:%M")

    def _date(self, value: datetime) -> str:
        local = self._local(value)
        return f"{local.month}月{local.day}日"

    def _datetime(self, value: datetime) -> str:
        return f"{self._date(value)} {self._time(value)}"

    def render(self, name: str, context: Mapping[str, Any] | None = None, *, group: str | None = None) -> str:
        env = self._env(group)
        key = (group_key(group) if group is not None and self.operator_dir is not None else None, name)
        data = dict(context or {})
        template: Template | None = None
        try:
            template = env.get_template(name + SUFFIX)
            text = template.render(data)
        except Exception as exc:  # operator code: any failure falls back, none reaches the member
            self._report(exc, template, name)
        else:
            self._last_good[key] = template
            return cut_message(text.strip(), self.max_chars)
        # fall back: the last good version of this template, then the built-in one
        fallbacks: list[Template] = []
        if key in self._last_good and self._last_good[key] is not template:
            fallbacks.append(self._last_good[key])
        builtin = BUILTIN_TEMPLATES / (name + SUFFIX)
        if builtin.exists():
            fallbacks.append(self._builtin_env().get_template(name + SUFFIX))
        for fallback in fallbacks:
            try:
                return cut_message(fallback.render(data).strip(), self.max_chars)
            except Exception as exc:
                self._report(exc, fallback, name)
        raise RenderError(f"template {name!r} cannot be rendered")

    def _builtin_env(self) -> SandboxedEnvironment:
        if self.operator_dir is None:
            return self.env
        if self._plain is None:
            self._plain = Renderer(None, timezone=str(self.zone), max_chars=self.max_chars)
        return self._plain.env

    def _report(self, exc: Exception, template: Template | None, name: str) -> None:
        problem = _problem(exc, template, name + SUFFIX)
        path = Path(problem.file)
        version = path.stat().st_mtime if path.exists() else 0.0
        log.error("template problem: %s", problem)
        if (problem.file, version) not in self._reported:
            self._reported.add((problem.file, version))
            self.notify(f"模板出错了，已先用上一个能用的版本：{problem}")

    # -- operator tools ------------------------------------------------------------------------

    def kinds(self) -> list[str]:
        return sorted(p.stem for p in BUILTIN_TEMPLATES.glob("*" + SUFFIX))

    names = kinds

    def groups(self) -> list[str]:
        if self.operator_dir is None or not (self.operator_dir / GROUPS_DIR).is_dir():
            return []
        return sorted(p.name for p in (self.operator_dir / GROUPS_DIR).iterdir() if p.is_dir())

    def winner(self, name: str, group: str | None = None) -> Path | None:
        for folder in self.search_path(group):
            candidate = folder / (name + SUFFIX)
            if candidate.exists():
                return candidate
        return None

    def check(self, samples: Mapping[str, Mapping[str, Any]]) -> list[Problem]:
        """Compile and render every template file (built-in, operator, per group) against samples."""
        problems: list[Problem] = []
        folders: list[tuple[Path, str | None]] = [(BUILTIN_TEMPLATES, None)]
        if self.operator_dir is not None:
            folders.append((self.operator_dir, None))
            folders += [(self.operator_dir / GROUPS_DIR / g, g) for g in self.groups()]
        for folder, _group in folders:
            if not folder.is_dir():
                continue
            env = SandboxedEnvironment(
                loader=FileSystemLoader([str(folder), str(BUILTIN_TEMPLATES)]),
                undefined=StrictUndefined,
                autoescape=False,
                trim_blocks=True,
                lstrip_blocks=True,
            )
            env.filters.update(self.env.filters)
            for path in sorted(folder.glob("*" + SUFFIX)):
                template = None
                try:
                    template = env.get_template(path.name)
                    template.render(dict(samples.get(path.stem, {})))
                except Exception as exc:
                    problems.append(_problem(exc, template, str(path)))
        return problems
