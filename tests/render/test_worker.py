"""Issue 33 #1, the second half: edited text renders where a runaway cannot stop the event loop.

A runaway the limits do not know yet is played by `stuck_in_c`: one C call that holds the
interpreter lock (what `str()` of a doubling list did). In a thread it would stop the loop; in the
worker process it is killed at the hard limit, the loop runs on, and the next call gets a new worker."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from bot.render import files as tf
from bot.render.engine import Renderer
from bot.render.worker import PreviewWorker, WorkerLimitError


def stuck_in_c(_renderer: Any) -> int:
    return sum(range(10**15))  # one C call, holding the interpreter lock throughout


def allocate(_renderer: Any, size: int) -> int:
    return len(bytearray(size))


def off_the_cpu(_renderer: Any, seconds: float) -> str:
    time.sleep(seconds)  # what a machine too busy to schedule the worker looks like from outside
    return "done"


@pytest.fixture
def worker(tmp_path: Path) -> Any:
    """A worker with a short hard limit (the runaway test waits it out) and a small address space.
    The first call of a test's own function imports this module in the worker, which can take
    seconds on a loaded machine: that is done here, before a limit is measured."""
    made = PreviewWorker(tmp_path, hard_seconds=2.0, memory_bytes=600 * 2**20)
    made.hard_seconds = 120.0
    made.call(allocate, 1)  # imports this module in the worker
    made.hard_seconds = 2.0
    yield made
    made.close()


def test_a_preview_in_the_worker_is_the_preview_in_process(tmp_path: Path, worker: PreviewWorker) -> None:
    renderer = Renderer(tmp_path)
    context = tf.sample_context("help", 0)
    source = "你好 {{ 6 * 7 }}\n{% set ns = namespace(x=[1]) %}{% for i in range(24) %}{% set ns.x = [ns.x, ns.x] %}{% endfor %}"
    here = tf.preview(renderer, "help", source, context)
    renderer.worker = worker
    there = tf.preview(renderer, "help", source, context)
    assert there == here and there.problem is not None and "展开后太大" in there.problem.message
    assert tf.preview(renderer, "help", "你好 {{ 6 * 7 }}", context).text == "你好 42"


async def test_a_runaway_in_c_is_killed_and_the_event_loop_runs_on(worker: PreviewWorker) -> None:
    await asyncio.to_thread(worker.start)
    ticks = 0
    done = asyncio.Event()

    async def tick() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(tick())
    try:
        with pytest.raises(WorkerLimitError, match="秒内没有渲染完"):
            await asyncio.to_thread(worker.call, stuck_in_c)
        seen_while_stuck = ticks
    finally:
        done.set()
        await ticker
    assert seen_while_stuck > 0  # the loop went on while the worker was stuck
    context = tf.sample_context("help", 0)
    again = await asyncio.to_thread(worker.preview, "help", "还在 {{ 1 + 1 }}", context, None)
    assert again.text == "还在 2"  # a new worker


def test_a_render_that_wants_too_much_memory_fails_in_the_worker_only(worker: PreviewWorker) -> None:
    with pytest.raises(RuntimeError, match="内存"):
        worker.call(allocate, 2**30)
    assert worker.call(allocate, 1000) == 1000


def test_a_busy_machine_does_not_make_a_render_a_runaway(worker: PreviewWorker) -> None:
    """The hard limit is the worker's CPU time: a call that waits longer than it, using no CPU (the
    machine gave the worker no turn), is answered, not killed."""
    worker.hard_seconds = 0.3
    assert worker.call(off_the_cpu, 1.0) == "done"


def test_a_worker_that_neither_answers_nor_works_is_stopped_all_the_same(
    worker: PreviewWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.render.worker

    monkeypatch.setattr(bot.render.worker, "WALL_SECONDS", 0.5)
    worker.hard_seconds = 0.2
    with pytest.raises(WorkerLimitError, match="秒内没有渲染完"):
        worker.call(off_the_cpu, 600.0)
    monkeypatch.undo()
    worker.hard_seconds = 120.0  # the new worker's first call imports this module (seconds when loaded)
    assert worker.call(allocate, 10) == 10
