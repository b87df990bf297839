"""Editing the operator's template files safely: preview, save with history, restore, back to built-in.

What the web console's template editor (and any command line that wants to) calls; nothing here knows
HTTP. The rules:

* Only known message kinds (one built-in template each) and only the operator folder
  (`[templates] dir`) and its `groups/<group key>/` subfolders are ever written; the shipped
  `templates/` folder never is, whatever the configuration says. Group folders are named by
  `bot.render.engine.group_key`, version names come from the history listing only: no path from a request is
  ever joined as given.
* Preview renders the text being edited (not the saved file) through `Renderer.render_source`: the
  sandbox, limits, filters and message cut of a real send. Blocks; the console runs it in a worker thread.
* Save runs the preview checks (with the chosen group's sample data) and then `check.check_file`
  (variables the kind never receives, every sample of the kind) on the very file that is then moved
  into place with `os.replace` — atomic, so the Renderer (which re-stats the winner on every render)
  never reads half a file and serves the new text from the next message on.
* Before a file is overwritten or removed, its text goes to history:
  `<operator dir>/.history/<kind>/<UTC time>.j2`, or `.history/groups/<key>/<kind>/…` for a group
  override; the newest `HISTORY_KEEP` versions are kept.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError, UndefinedError

from bot.render.check import check_file
from bot.render.engine import (
    BUILTIN_TEMPLATES,
    GROUPS_FOLDER,
    SUFFIX,
    Renderer,
    TemplateProblem,
    TemplateProblemError,
    group_key,
    problem_from,
)
from bot.render.kinds import KINDS
from bot.render.limits import TemplateLimitError, TemplateTimeoutError
from bot.render.samples import SAMPLES

HISTORY_FOLDER = ".history"
HISTORY_KEEP = 20
MAX_SOURCE_CHARS = 100_000
"""A template is chat copy: a few kilobytes. Anything this long is a paste gone wrong."""

_STAMP = "%Y%m%dT%H%M%S.%fZ"
_VERSION_NAME = re.compile(r"^\d{8}T\d{6}\.\d{6}Z\.j2$")
_lock = threading.Lock()
"""One change at a time in this process: archive, check and replace belong together."""


class EditRefusedError(Exception):
    """A request the editor will not carry out (unknown kind, bad version name, no writable folder);
    the message is Chinese and fit for the operator's eyes."""


class TemplateRejectedError(Exception):
    """The text does not pass the checks: nothing was written. `problem` says where and why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.summary)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem in the edited text, as the editor shows it: at the line, with the line's text."""

    what: str
    """What kind of problem, in Chinese: 语法错误, 变量不存在, 超出限制 …"""
    message: str
    line: int | None = None
    line_text: str = ""
    file: str = ""
    """Another template's file name when the problem is in a file this one includes; else ""."""

    @property
    def summary(self) -> str:
        where = f"{self.file} " if self.file else ""
        where += f"第 {self.line} 行" if self.line else ""
        return f"{where}{'：' if where else ''}{self.what}：{self.message}"


@dataclass(frozen=True, slots=True)
class Preview:
    """The message the text renders to, or the problem that stops it."""

    text: str = ""
    problem: Problem | None = None


@dataclass(frozen=True, slots=True)
class Version:
    """One earlier version in a template's history."""

    name: str
    saved_at: datetime
    size: int


@dataclass(frozen=True, slots=True)
class FileStatus:
    """A template file and whether it renders every sample of its kind (`problem` None)."""

    path: Path
    origin: str
    """'builtin', 'operator' or 'group'."""
    problem: str | None


@dataclass(frozen=True, slots=True)
class KindOverview:
    kind: str
    winner: FileStatus
    """The file that wins when no group override applies."""
    overrides: tuple[tuple[str, FileStatus], ...]
    """(group key, its override file) for every group folder holding this kind."""


# ------------------------------------------------------------------------------------ validation


def kinds() -> list[str]:
    """The message kinds an operator can edit: known to the handlers and shipped as a built-in file."""
    return sorted(k for k in KINDS if (BUILTIN_TEMPLATES / (k + SUFFIX)).is_file())


def checked_kind(kind: str) -> str:
    if kind not in KINDS or not (BUILTIN_TEMPLATES / (kind + SUFFIX)).is_file():
        raise EditRefusedError("没有这种模板")
    return kind


def operator_dir(renderer: Renderer) -> Path:
    """The folder edits go to; refused when it is (or is inside) the shipped templates folder."""
    folder = renderer.operator_dir
    if folder is None:
        raise EditRefusedError("没有设置模板目录（[templates] dir），无法保存")
    resolved, shipped = folder.resolve(), BUILTIN_TEMPLATES.resolve()
    if resolved == shipped or shipped in resolved.parents:
        raise EditRefusedError(
            "模板目录指向了程序自带的 templates/ 文件夹，那里不能改；请在配置里把 [templates] dir 换成别的目录"
        )
    return folder


def scope_file(folder: Path, kind: str, group: str | None) -> Path:
    """Where the operator's file for this kind lives: the folder, or the group's override folder."""
    checked_kind(kind)
    if group is None:
        return folder / (kind + SUFFIX)
    return folder / GROUPS_FOLDER / group_key(group) / (kind + SUFFIX)


def history_dir(folder: Path, kind: str, group: str | None) -> Path:
    checked_kind(kind)
    base = folder / HISTORY_FOLDER
    if group is None:
        return base / kind
    return base / GROUPS_FOLDER / group_key(group) / kind


# -------------------------------------------------------------------------------------- samples


def sample_count(kind: str) -> int:
    return len(SAMPLES[checked_kind(kind)])


def sample_context(kind: str, index: int = 0, *, group_name: str = "", room_id: str = "") -> dict[str, Any]:
    """Sample data set `index` (0-based, clamped) of `kind`, speaking of the given group when one is
    chosen: its name where the kind shows a group name, its room id where it shows a chat id."""
    samples = SAMPLES[checked_kind(kind)]
    context = dict(samples[min(max(index, 0), len(samples) - 1)])
    if group_name:
        for name in ("group_name", "chat_name"):
            if context.get(name):
                context[name] = group_name
    if room_id and context.get("chat_id"):
        context["chat_id"] = room_id
    return context


# -------------------------------------------------------------------------------------- preview


def _what(exc: BaseException) -> str:
    if isinstance(exc, TemplateSyntaxError):
        return "语法错误"
    if isinstance(exc, UndefinedError):
        return "用到了不存在的变量"
    if isinstance(exc, TemplateTimeoutError):
        return "渲染超时"
    if isinstance(exc, TemplateLimitError | RecursionError | MemoryError | OverflowError):
        return "超出了模板的计算限制"
    if isinstance(exc, TemplateProblemError):
        return "渲染出来是空消息"
    return "渲染出错"


def _at_line(problem: TemplateProblem, what: str, source: str, edited: Path) -> Problem:
    other = problem.path.name != edited.name
    line_text = ""
    if problem.line and not other:
        lines = source.splitlines()
        if 0 < problem.line <= len(lines):
            line_text = lines[problem.line - 1]
    message = problem.message
    if message == "renders an empty message":
        message = "整条消息是空的，发不出去"
    return Problem(what, message, problem.line, line_text, problem.path.name if other else "")


def normalized(source: str) -> str:
    """Browsers send textarea lines with CRLF; files keep LF and end with one newline."""
    text = source.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.endswith("\n") else text + "\n"


def preview(
    renderer: Renderer, kind: str, source: str, context: Mapping[str, Any], *, group: str | None = None
) -> Preview:
    """Render the text being edited with `context`, as a real send would. Blocks (worker thread).
    With `renderer.worker` set (the console sets it) the render runs in that process (worker.py)."""
    if len(source) > MAX_SOURCE_CHARS:
        return Preview(problem=Problem("模板太长", f"最多 {MAX_SOURCE_CHARS} 个字符"))
    if renderer.worker is not None:
        shown: Preview = renderer.worker.preview(kind, source, context, group)
        return shown
    folder = renderer.operator_dir or BUILTIN_TEMPLATES
    edited = scope_file(folder, kind, group)
    source = normalized(source)
    try:
        return Preview(text=renderer.render_source(source, context, path=edited))
    except Exception as exc:
        return Preview(problem=_at_line(problem_from(exc, edited), _what(exc), source, edited))


# ---------------------------------------------------------------------------------------- files


def history(renderer: Renderer, kind: str, group: str | None = None) -> list[Version]:
    """Earlier versions of this kind's file in this scope, newest first."""
    folder = renderer.operator_dir
    if folder is None:
        return []
    where = history_dir(folder, kind, group)
    if not where.is_dir():
        return []
    versions = []
    for entry in where.iterdir():
        if _VERSION_NAME.match(entry.name) and entry.is_file():
            saved = datetime.strptime(entry.name.removesuffix(SUFFIX), _STAMP).replace(tzinfo=UTC)
            versions.append(Version(entry.name, saved, entry.stat().st_size))
    return sorted(versions, key=lambda v: v.name, reverse=True)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=".saving-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _archive(folder: Path, kind: str, group: str | None, current: Path, now: datetime) -> None:
    """Keep `current`'s text in history (under a fresh UTC time name), then trim to HISTORY_KEEP."""
    if not current.is_file():
        return
    where = history_dir(folder, kind, group)
    where.mkdir(parents=True, exist_ok=True)
    moment = now.astimezone(UTC)
    while (where / (moment.strftime(_STAMP) + SUFFIX)).exists():
        moment += timedelta(microseconds=1)
    _write_atomic(where / (moment.strftime(_STAMP) + SUFFIX), current.read_text(encoding="utf-8"))
    names = sorted(p.name for p in where.iterdir() if _VERSION_NAME.match(p.name))
    for name in names[:-HISTORY_KEEP]:
        (where / name).unlink(missing_ok=True)


def _utcnow() -> datetime:
    return datetime.now(UTC)


_RUNTIME_WHAT = {
    "UndefinedError": "用到了不存在的变量",
    "TemplateTimeoutError": "渲染超时",
    "TemplateLimitError": "超出了模板的计算限制",
    "RecursionError": "超出了模板的计算限制",
    "MemoryError": "超出了模板的计算限制",
    "OverflowError": "超出了模板的计算限制",
}


def _what_of_check(problem: TemplateProblem) -> str:
    """check_file hands back messages, not exceptions: `problem_from` ends runtime ones with the
    exception's type in brackets; variables the kind never gets are its own message."""
    if "is not a variable of" in problem.message:
        return "用到了这种消息没有的变量"
    if problem.message == "renders an empty message":
        return "渲染出来是空消息"
    found = re.search(r"\((\w+)\)$", problem.message)
    if found is None:
        return "语法错误"
    return _RUNTIME_WHAT.get(found.group(1), "有一组示例数据渲染不出来")


def _check_file_text(renderer: Renderer, scratch: Path, kind: str, source: str) -> Path:
    """Write `source` as `<scratch>/<kind>.j2` and check it as `tuike templates check` would."""
    candidate = scratch / (kind + SUFFIX)
    candidate.write_text(source, encoding="utf-8", newline="\n")
    problems = check_file(renderer, candidate)
    if problems:
        raise TemplateRejectedError(_at_line(problems[0], _what_of_check(problems[0]), source, candidate))
    return candidate


def _preview_every_sample(
    renderer: Renderer, kind: str, source: str, *, group: str | None, group_name: str
) -> None:
    """Preview with each sample data set, for the group: the first that fails names its set."""
    count = sample_count(kind)
    for index in range(count):
        context = sample_context(kind, index, group_name=group_name, room_id=group or "")
        problem = preview(renderer, kind, source, context, group=group).problem
        if problem is not None:
            if count > 1:
                problem = replace(problem, message=f"{problem.message}（示例数据第 {index + 1} 组）")
            raise TemplateRejectedError(problem)


def save(
    renderer: Renderer,
    kind: str,
    source: str,
    *,
    group: str | None = None,
    group_name: str = "",
    now: Callable[[], datetime] = _utcnow,
) -> Path:
    """Check `source` and make it the operator's (or the group's) file for `kind`; the file it
    replaces goes to history. Raises TemplateRejectedError (nothing written) or EditRefusedError.

    The checks: every sample of the kind rendered as the preview does (for the group `group_name`
    names), then `check.check_file` on the file itself."""
    folder = operator_dir(renderer)
    target = scope_file(folder, kind, group)
    if len(source) > MAX_SOURCE_CHARS:
        raise TemplateRejectedError(Problem("模板太长", f"最多 {MAX_SOURCE_CHARS} 个字符"))
    text = normalized(source)
    _preview_every_sample(renderer, kind, text, group=group, group_name=group_name)
    with _lock:
        folder.mkdir(parents=True, exist_ok=True)
        # checked where it will live (same file system), then renamed into place: atomic
        scratch = Path(tempfile.mkdtemp(prefix=".saving-", dir=folder))
        try:
            candidate = _check_file_text(renderer, scratch, kind, text)
            if target.is_file() and target.read_text(encoding="utf-8") == text:
                return target
            _archive(folder, kind, group, target, now())
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(candidate, target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return target


def restore(
    renderer: Renderer,
    kind: str,
    version: str,
    *,
    group: str | None = None,
    group_name: str = "",
    now: Callable[[], datetime] = _utcnow,
) -> Path:
    """Make an earlier version current again (checked like a save); the current file goes to history
    and the restored version leaves it. `version` must be a name `history()` lists."""
    folder = operator_dir(renderer)
    listed = {v.name for v in history(renderer, kind, group)}
    if version not in listed:
        raise EditRefusedError("历史里没有这个版本")
    old = history_dir(folder, kind, group) / version
    text = old.read_text(encoding="utf-8")
    target = save(renderer, kind, text, group=group, group_name=group_name, now=now)
    old.unlink(missing_ok=True)
    return target


def reset(
    renderer: Renderer, kind: str, *, group: str | None = None, now: Callable[[], datetime] = _utcnow
) -> bool:
    """Remove the operator's (or the group's) file so the next file down wins again (the built-in one
    for the operator's). The removed text goes to history. False when there was no such file."""
    folder = operator_dir(renderer)
    target = scope_file(folder, kind, group)
    with _lock:
        if not target.is_file():
            return False
        _archive(folder, kind, group, target, now())
        target.unlink()
        if group is not None:
            with contextlib.suppress(OSError):  # an empty group folder would still be listed as overriding
                target.parent.rmdir()
    return True


# ------------------------------------------------------------------------------------- overview

_Stamp = tuple[str, int, int, int]
_status_cache: dict[tuple[_Stamp, tuple[_Stamp, ...]], str | None] = {}
_status_lock = threading.Lock()


def _stamp(path: Path) -> _Stamp | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (str(path), st.st_mtime_ns, st.st_size, st.st_ino)


def _partials(renderer: Renderer) -> tuple[_Stamp, ...]:
    """The versions of the operator's partials (`_name.j2`): an `{% include %}`d file that changes
    changes whether the files including it render."""
    folder = renderer.operator_dir
    if folder is None or not folder.is_dir():
        return ()
    return tuple(s for p in sorted(folder.glob("_*" + SUFFIX)) if (s := _stamp(p)) is not None)


def file_status(
    renderer: Renderer, path: Path, origin: str, partials: tuple[_Stamp, ...] | None = None
) -> FileStatus:
    """Whether `path` renders every sample of its kind (as `tuike templates check` decides), cached
    per version of the file and of the operator's partials: a page listing every kind checks only
    what changed since it was last shown."""
    stamp = _stamp(path)
    if stamp is None:
        return FileStatus(path, origin, "文件不见了")
    key = (stamp, _partials(renderer) if partials is None else partials)
    with _status_lock:
        if key in _status_cache:
            return FileStatus(path, origin, _status_cache[key])
    problems = check_file(renderer, path)
    problem = str(problems[0]) if problems else None
    with _status_lock:
        if len(_status_cache) > 2000:
            _status_cache.clear()
        _status_cache[key] = problem
    return FileStatus(path, origin, problem)


def origin_of(renderer: Renderer, path: Path) -> str:
    if path.parent == BUILTIN_TEMPLATES:
        return "builtin"
    if renderer.operator_dir is not None and path.parent == renderer.operator_dir:
        return "operator"
    return "group"


def overview(renderer: Renderer) -> list[KindOverview]:
    """Every kind: the file that wins by default, and each group folder that overrides it. Blocks."""
    folder = renderer.operator_dir
    partials = _partials(renderer)
    in_group: dict[str, list[str]] = {}  # kind -> group keys overriding it: one listing per group folder
    for key in renderer.groups():
        assert folder is not None
        for entry in os.scandir(folder / GROUPS_FOLDER / key):
            if entry.name.endswith(SUFFIX) and entry.is_file():
                in_group.setdefault(entry.name.removesuffix(SUFFIX), []).append(key)
    result = []
    for kind in kinds():
        winner = renderer.winner(kind) or BUILTIN_TEMPLATES / (kind + SUFFIX)
        overrides = tuple(
            (key, file_status(renderer, folder / GROUPS_FOLDER / key / (kind + SUFFIX), "group", partials))
            for key in in_group.get(kind, [])
            if folder is not None
        )
        result.append(
            KindOverview(
                kind, file_status(renderer, winner, origin_of(renderer, winner), partials), overrides
            )
        )
    return result
