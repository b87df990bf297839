"""Turns handler data into chat text through operator-editable Jinja templates.

Operators tune their copy daily, per group, without touching Python; a typo must never take the bot
down. So:

* Templates are untrusted operator code and run in an `ImmutableSandboxedEnvironment`: no dunder
  attribute tricks, no mutating the lists and dicts a handler passes in; and with `Limits` on what
  they may compute (bot.render.limits). A version that breaks a limit is refused until it changes.
* The bot renders with `render_async`: in a worker thread, so no template stalls the event loop.
* `StrictUndefined`: a misspelt variable is an error (and a fallback), never an empty gap in front of
  a member.
* Autoescape is off: the output is chat text, not HTML, and escaping would turn the `&` in affiliate
  URLs into `&amp;`, breaking the very link that earns the commission.
* Every render looks up the file that wins for this kind and group: `<dir>/groups/<group key>/`,
  then `<dir>/`, then the built-in `templates/`. The winner is stat()ed (one to three stat calls,
  microseconds) and recompiled only when its mtime, size or inode changed, so an edit takes effect on
  the very next message without a restart.
* A version that does not compile or render falls back to the last version of the same file that did,
  else to the next file down the chain (the built-in one last). The problem is logged with file and
  line, and the operator is told once per broken version through `notify`.

Group key: the folder name for a group's overrides is `group_key(chat_id)` — the chat id (WeChat room
id such as `20870958924@chatroom`, console `console:测试群`) with anything other than letters
(including Chinese), digits and `-_.@` replaced by `_`. The id, not the group name, because owners
rename groups. `tuike templates list` shows the keys of the folders it finds.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
import traceback
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from hashlib import sha1
from pathlib import Path
from typing import Any, Protocol, cast
from zoneinfo import ZoneInfo

from jinja2 import FileSystemLoader, StrictUndefined, Template, TemplateSyntaxError

from bot.render.emoji import emoji_presentation
from bot.render.filters import (
    count,
    coupon_summary,
    cut,
    make_date_filter,
    make_datetime_filter,
    make_time_filter,
    make_weekday_filter,
    percent,
    shorten,
    yuan,
)
from bot.render.limits import (
    DEFAULT_LIMITS,
    LimitedEnvironment,
    Limits,
    TemplateLimitError,
    TemplateTimeoutError,
    budget,
)

log = logging.getLogger("bot.render")  # the name operators know from the log lines and filter on

BUILTIN_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
SUFFIX = ".j2"
GROUPS_FOLDER = "groups"

_KIND_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_UNSAFE_KEY_CHAR = re.compile(r"[^\w.@-]")
_MAX_KEY = 64
_BLANK_RUNS = re.compile(r"\n{3,}")

Version = tuple[int, int, int]
"""(mtime_ns, size, inode): changes on every save, whether the editor writes in place or renames."""


class RenderError(Exception):
    """No version of the template (not even the built-in one) renders with this data: a code bug."""


class TemplateProblemError(Exception):
    """Raised by the renderer itself for output it refuses to send (an empty message)."""


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    """One thing wrong with a template file, printed as `file:line: message`."""

    path: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = display_path(self.path)
        return f"{where}:{self.line}: {self.message}" if self.line else f"{where}: {self.message}"


def display_path(path: Path) -> str:
    """Relative to the working directory when the file is under it: what an operator would type."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def group_key(chat: str) -> str:
    """The filesystem-safe folder name for a group's overrides; idempotent, never empty or `..`."""
    key = _UNSAFE_KEY_CHAR.sub("_", chat.strip())
    if key.startswith("."):
        key = "_" + key[1:]
    if len(key) > _MAX_KEY:
        key = key[:48] + "-" + sha1(chat.encode("utf-8")).hexdigest()[:12]
    return key or "_"


def problem_from(exc: BaseException, path: Path) -> TemplateProblem:
    """Where in which template file an error happened: syntax errors carry it, runtime ones in frames."""
    if isinstance(exc, TemplateSyntaxError):
        where = Path(exc.filename) if exc.filename else path
        return TemplateProblem(where, exc.lineno, exc.message or str(exc))
    line: int | None = None
    where = path
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.endswith(SUFFIX):
            where, line = Path(frame.filename), frame.lineno
    message = str(exc) or type(exc).__name__
    if not isinstance(exc, TemplateProblemError):
        message = f"{message} ({type(exc).__name__})"
    return TemplateProblem(where, line, message)


def make_environment(zone: tzinfo, search: list[Path], limits: Limits = DEFAULT_LIMITS) -> LimitedEnvironment:
    """The one Jinja setup every render, check and preview uses. `search` serves `{% include %}`."""
    env = LimitedEnvironment(
        loader=FileSystemLoader([str(p) for p in search]),
        undefined=StrictUndefined,
        # Chat text, not HTML: escaping would turn `&` in affiliate URLs into `&amp;`.
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=True,
        limits=limits,
    )
    env.filters.update(
        yuan=yuan,
        percent=percent,
        shorten=shorten,
        time=make_time_filter(zone),
        date=make_date_filter(zone),
        datetime=make_datetime_filter(zone),
        weekday=make_weekday_filter(zone),
        coupon_summary=coupon_summary,
        count=count,
    )
    env.limit_filters()
    return env


def compile_file(env: LimitedEnvironment, path: Path) -> Template:
    """Compile one file as itself (not through the loader), so errors name this exact file."""
    return compile_source(env, path.read_text(encoding="utf-8"), path)


def compile_source(env: LimitedEnvironment, source: str, path: Path) -> Template:
    """Compile template text as if it were the file `path` (which need not exist): errors, and the
    frames of runtime errors, carry that file name and the text's own line numbers."""
    code = env.compile(source, path.name, str(path))
    return env.template_class.from_code(env, code, env.make_globals(None), None)


def tidy(text: str) -> str:
    """Trailing spaces go, blank lines left by untaken branches collapse to one, edges are stripped;
    emoji get the selector that makes every WeChat build draw them as pictures (emoji.py)."""
    lines = [line.rstrip() for line in text.splitlines()]
    return emoji_presentation(_BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip())


def render_checked(template: Template, context: Mapping[str, Any], limits: Limits = DEFAULT_LIMITS) -> str:
    """Render and tidy; an empty result is an error too (a half-saved file, a wrong `if`).

    Runs under a fresh `budget` (time, loop steps) and stops once the output passes
    `limits.max_output`: the error is thrown into the template where it was writing, so it names the
    line."""
    pieces: list[str] = []
    size = 0
    with budget(limits) as allowance:
        chunks = cast(Generator[str, None, None], template.generate(dict(context)))
        try:
            for chunk in chunks:
                pieces.append(chunk)
                size += len(chunk)
                problem = allowance.overrun()
                if size > limits.max_output:
                    problem = TemplateLimitError(f"输出太长：超过 {limits.max_output} 个字符")
                if problem is not None:
                    chunks.throw(problem)
        finally:
            chunks.close()
    text = tidy("".join(pieces))
    if not text:
        raise TemplateProblemError("renders an empty message")
    return text


def _broke_a_limit(exc: BaseException, path: Path) -> bool:
    """Limits (time too: it is CPU time, which a busy machine does not use up), and what Python raises
    on its own for runaway templates (recursion, memory). A built-in file is never refused for time:
    it is the last fallback, and a stall elsewhere in the process must not silence a kind for good."""
    if isinstance(exc, TemplateTimeoutError) and path.parent == BUILTIN_TEMPLATES:
        return False
    return isinstance(exc, TemplateLimitError | RecursionError | MemoryError | OverflowError)


def _version(path: Path) -> Version | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _log_notice(message: str) -> None:
    log.warning("%s", message)


@dataclass
class _FileState:
    """What the renderer knows about one template file across its versions."""

    version: Version | None = None
    template: Template | None = None
    good: Template | None = None
    good_version: Version | None = None
    reported: set[Version] = field(default_factory=set)
    refused: set[Version] = field(default_factory=set)
    """Versions that broke a limit: never run again (a hostile edit costs one budget, not one per message)."""
    problem: tuple[Version, TemplateProblem] | None = None
    """The last problem reported, with the version it was found in."""


class PreviewRunner(Protocol):
    """Where edited text is previewed instead of the calling thread: bot.render.worker.PreviewWorker
    (named by shape here, so the engine imports neither it nor the sample data it previews with)."""

    def start(self) -> None: ...

    def preview(self, kind: str, source: str, context: Mapping[str, Any], group: str | None) -> Any: ...


class Renderer:
    """Renders one template per message kind, e.g. `render("deal", {...}, group=chat_id)`."""

    def __init__(
        self,
        operator_dir: Path | None = None,
        *,
        timezone: str = "Asia/Shanghai",
        max_chars: int = 1500,
        notify: Callable[[str], None] | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.operator_dir = Path(operator_dir) if operator_dir else None
        self.zone = ZoneInfo(timezone)
        self.max_chars = max_chars
        self.notify = notify if notify is not None else _log_notice
        self.limits = limits
        search = [self.operator_dir] if self.operator_dir else []
        self.env = make_environment(self.zone, [*search, BUILTIN_TEMPLATES], limits)
        self._files: dict[Path, _FileState] = {}
        self._lock = threading.RLock()  # renders run in worker threads; file state is shared
        self.worker: PreviewRunner | None = None
        """Where previews of edited text run (bot.render.worker); None: in the calling thread."""

    # -------------------------------------------------------------------------------------- lookup

    def search_dirs(self, group: str | None = None) -> list[Path]:
        """Folders searched for a template, first match wins."""
        dirs: list[Path] = []
        if self.operator_dir:
            if group:
                dirs.append(self.operator_dir / GROUPS_FOLDER / group_key(group))
            dirs.append(self.operator_dir)
        dirs.append(BUILTIN_TEMPLATES)
        return dirs

    def _candidates(self, name: str, group: str | None) -> Iterator[tuple[Path, Version]]:
        """Existing files for `name`, best first; lazily, so the hot path stats only up to the winner."""
        for folder in self.search_dirs(group):
            path = folder / (name + SUFFIX)
            version = _version(path)
            if version is not None:
                yield path, version

    def winner(self, name: str, group: str | None = None) -> Path | None:
        """The file that wins for this kind and group (whether or not it currently renders)."""
        return next((path for path, _ in self._candidates(name, group)), None)

    def kinds(self) -> list[str]:
        """The message kinds: one built-in template each (partials start with `_`)."""
        return sorted(p.stem for p in BUILTIN_TEMPLATES.glob("*" + SUFFIX) if not p.stem.startswith("_"))

    names = kinds

    def groups(self) -> list[str]:
        """Group keys that have an override folder."""
        if not self.operator_dir:
            return []
        root = self.operator_dir / GROUPS_FOLDER
        return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []

    def problems(self) -> list[TemplateProblem]:
        """What is wrong with the template files as they are on disk now: one problem per file whose
        current version this renderer found broken (so it falls back). A file
        fixed (a new version) or removed since drops out."""
        with self._lock:
            found = [(path, state.problem) for path, state in self._files.items() if state.problem]
        return [problem for path, (version, problem) in found if _version(path) == version]

    # ------------------------------------------------------------------------------------- render

    async def render_async(self, name: str, context: Mapping[str, Any], *, group: str | None = None) -> str:
        """`render` in a worker thread, so a slow template never stalls the event loop.

        Each attempt inside has its own time budget; the outer wait is a last resort for a render
        that is stuck somewhere the budget is not checked (it then counts as a `RenderError`)."""
        attempts = 4  # group file, operator file, built-in, plus one last good version
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(self.render, name, context, group=group),
                timeout=self.limits.seconds * attempts + 1,
            )
        except TimeoutError as exc:
            raise RenderError(f"template {name!r} took too long to render") from exc

    def render(self, name: str, context: Mapping[str, Any], *, group: str | None = None) -> str:
        """The message text for this kind and group, at most `max_chars` long. Blocks: the bot's
        event loop calls `render_async`; the CLI and checks call this.

        Falls back through older good versions and less specific files; raises `RenderError` only
        when even the built-in template fails with this data, which is a bug in the caller.
        """
        if not _KIND_NAME.match(name):
            raise RenderError(f"not a template name: {name!r}")
        last: TemplateProblem | None = None
        for path, version in self._candidates(name, group):
            state = self._load(path, version)
            attempts = [(state.template, version)] if state.template else []
            if state.good is not None and state.good is not state.template and state.good_version:
                attempts.append((state.good, state.good_version))
            for template, tried in attempts:
                if tried in state.refused:
                    continue
                try:
                    text = render_checked(template, context, self.limits)
                except Exception as exc:
                    if _broke_a_limit(exc, path):
                        with self._lock:
                            state.refused.add(tried)
                    last = self._report(path, tried, exc)
                    continue
                if template is state.template:
                    state.good, state.good_version = template, version
                return cut(text, self.max_chars)
        if last is None:
            raise RenderError(f"no template named {name!r}")
        raise RenderError(f"template {name!r} cannot be rendered: {last}")

    def render_source(self, source: str, context: Mapping[str, Any], *, path: Path) -> str:
        """Render template text that is not (yet) a file, e.g. what an operator is editing, exactly as a
        send would: the same sandbox, limits, filters, tidying and message cut, but with no fallback —
        any problem is raised (`problem_from(exc, path)` says where). Blocks: call it in a worker
        thread from async code."""
        template = compile_source(self.env, source, path)
        return cut(render_checked(template, context, self.limits), self.max_chars)

    def _load(self, path: Path, version: Version) -> _FileState:
        with self._lock:
            return self._load_locked(path, version)

    def _load_locked(self, path: Path, version: Version) -> _FileState:
        state = self._files.setdefault(path, _FileState())
        if state.version == version:
            return state
        state.version, state.template = version, None
        try:
            state.template = compile_file(self.env, path)
        except Exception as exc:
            self._report(path, version, exc)
        else:
            log.info("template %s loaded", display_path(path))
        return state

    def _report(self, path: Path, version: Version, exc: BaseException) -> TemplateProblem:
        problem = problem_from(exc, path)
        with self._lock:
            state = self._files.setdefault(path, _FileState())
            if version in state.reported:
                log.debug("template %s still broken", problem)
                return problem
            state.reported.add(version)
            state.problem = (version, problem)
        log.warning("template %s; using the last good version instead", problem)
        try:
            self.notify(f"模板出错了，先用上一个能用的版本顶上，请修改后保存：\n{problem}")
        except Exception:
            log.exception("could not tell the operator about the broken template %s", problem)
        return problem
