"""Rendering where a runaway cannot stop the bot: a separate process with a hard limit.

The limits (bot.render.limits) refuse what a template would build before it is built, but they are
checks written in Python: a way past them found tomorrow would again run in C holding the interpreter
lock, and in a worker thread that stops the event loop (chat, pushes and the console) for as long as
it runs; `asyncio.wait_for` cannot interrupt it. The console's live preview and its save-time checks
render the operator's text the moment it is typed, so they run here: in one spawned process with
`hard_seconds` per call and `memory_bytes` of address space. Past either the process is killed and
replaced, and the editor says so. The seconds are the worker's CPU time (as the limits' clock is the
rendering thread's): a busy machine slows a render down, it does not make it a runaway; a worker
that neither answers nor works is stopped after `WALL_SECONDS` all the same.

A call is any module-level function and picklable arguments (`PreviewWorker.call`); `preview` is the
one the console uses. One call at a time: a second tab's preview waits its turn.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.render.limits import DEFAULT_LIMITS, Limits

if TYPE_CHECKING:
    from bot.render.engine import Renderer
    from bot.render.files import Preview

log = logging.getLogger("bot.render")

MEMORY_BYTES = 1 << 30
"""Address space the worker may map: the interpreter and Jinja take ~150 MB, a render a few more."""


STARTUP_SECONDS = 60.0
"""How long a new process may take to import and say it is ready (a loaded machine is slow)."""

WALL_SECONDS = 60.0
"""The wall-time backstop of one call, for a worker that uses no CPU and still does not answer."""

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) process `pid` has used, from /proc; None where there is no /proc."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime: fields 14 and 15 of stat(5)


class WorkerLimitError(Exception):
    """The worker ran past its hard limit (time) or died (memory); it has been replaced."""


def _serve(
    conn: Connection, operator_dir: str | None, timezone: str, max_chars: int, limits: Limits, memory: int
) -> None:
    """The worker process: one Renderer like the bot's, answering calls until the pipe closes."""
    import resource

    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    from bot.render import files  # noqa: F401  (what a preview needs, imported before the clock runs)
    from bot.render.engine import Renderer

    renderer = Renderer(
        Path(operator_dir) if operator_dir else None, timezone=timezone, max_chars=max_chars, limits=limits
    )
    conn.send(("ready", None))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        func, args = request
        try:
            answer: tuple[str, Any] = ("ok", func(renderer, *args))
        except MemoryError:
            answer = ("error", "渲染用的内存超出了上限")
        except BaseException as exc:  # the parent decides; the worker goes on
            answer = ("error", f"{type(exc).__name__}: {exc}")
        try:
            conn.send(answer)
        except (EOFError, OSError):
            return


def _preview(
    renderer: Renderer, kind: str, source: str, context: dict[str, Any], group: str | None
) -> Preview:
    from bot.render import files

    return files.preview(renderer, kind, source, context, group=group)


class PreviewWorker:
    """A render process for one Renderer's settings; started on first use, replaced when it overruns."""

    def __init__(
        self,
        operator_dir: Path | None,
        *,
        timezone: str = "Asia/Shanghai",
        max_chars: int = 1500,
        limits: Limits = DEFAULT_LIMITS,
        hard_seconds: float | None = None,
        memory_bytes: int = MEMORY_BYTES,
    ) -> None:
        self._settings = (
            str(operator_dir) if operator_dir else None,
            timezone,
            max_chars,
            limits,
            memory_bytes,
        )
        self.hard_seconds = hard_seconds if hard_seconds is not None else limits.seconds * 2 + 1
        self._lock = threading.Lock()
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None

    @classmethod
    def for_renderer(cls, renderer: Renderer, **options: Any) -> PreviewWorker:
        return cls(
            renderer.operator_dir,
            timezone=str(renderer.zone),
            max_chars=renderer.max_chars,
            limits=renderer.limits,
            **options,
        )

    def preview(self, kind: str, source: str, context: Mapping[str, Any], group: str | None) -> Preview:
        """`files.preview` in the worker; a worker that overran or died is a problem on the page."""
        from bot.render.files import Preview, Problem

        try:
            answer = self.call(_preview, kind, source, dict(context), group)
        except WorkerLimitError as exc:
            return Preview(problem=Problem("渲染超时", str(exc)))
        except RuntimeError as exc:
            return Preview(problem=Problem("超出了模板的计算限制", str(exc)))
        assert isinstance(answer, Preview)
        return answer

    def call(self, func: Callable[..., Any], *args: Any) -> Any:
        """`func(renderer, *args)` in the worker (func must be importable by name). Blocks: call it in
        a thread from async code. Raises WorkerLimitError past the hard limit, RuntimeError for an
        exception in the worker."""
        with self._lock:
            conn = self._started()
            try:
                pid = self._process.pid if self._process is not None else None
                before = cpu_seconds(pid) if pid is not None else None
                conn.send((func, args))
                answered = self._answered(conn, pid, before)
                status, value = conn.recv() if answered else ("overran", None)
            except (EOFError, OSError):
                status, value = "died", None
            if status == "overran" or status == "died":
                self._stop()
                what = (
                    f"{self.hard_seconds:g} 秒内没有渲染完" if status == "overran" else "渲染进程用尽了内存"
                )
                log.warning(
                    "template render worker %s; replaced", "overran" if status == "overran" else "died"
                )
                raise WorkerLimitError(f"{what}，已经停下")
        if status == "error":
            raise RuntimeError(value)
        return value

    def _answered(self, conn: Connection, pid: int | None, before: float | None) -> bool:
        """Wait for the answer while this call has used less than `hard_seconds` of the worker's CPU
        (`before`: its CPU seconds when the call was sent; wall time where /proc is missing), and at
        most `WALL_SECONDS` of wall time."""
        started = time.monotonic()
        if conn.poll(self.hard_seconds):
            return True
        if before is None or pid is None:
            return False
        while time.monotonic() - started < max(WALL_SECONDS, self.hard_seconds):
            now = cpu_seconds(pid)
            if now is None or now - before >= self.hard_seconds:
                return False
            if conn.poll(0.05):
                return True
        return False

    def start(self) -> None:
        """Start the process now (it takes a moment to import), so the first call's hard limit is
        all render. Blocks: call it in a thread from async code."""
        with self._lock:
            self._started()

    def _started(self) -> Connection:
        if self._process is not None and self._process.is_alive() and self._conn is not None:
            return self._conn
        self._stop()
        spawn = multiprocessing.get_context("spawn")  # no fork of a threaded process
        parent, child = spawn.Pipe()
        process = spawn.Process(
            target=_serve, args=(child, *self._settings), name="tuike-render", daemon=True
        )
        process.start()
        child.close()
        self._process, self._conn = process, parent
        self._finalizer = weakref.finalize(self, _kill, process, parent)
        try:
            ready = parent.poll(STARTUP_SECONDS) and parent.recv()[0] == "ready"
        except (EOFError, OSError):
            ready = False
        if not ready:
            self._stop()
            raise RuntimeError("模板渲染进程没有启动")
        return parent

    def _stop(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
        self._process = self._conn = self._finalizer = None

    def close(self) -> None:
        with self._lock:
            self._stop()


def _kill(process: BaseProcess, conn: Connection) -> None:
    conn.close()
    if process.is_alive():
        process.kill()
    process.join(5)
