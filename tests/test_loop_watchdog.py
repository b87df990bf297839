"""The loop watchdog the end-to-end tests use notices a blocked loop, and says where."""

from __future__ import annotations

import asyncio
import time

from tests.conftest import LoopWatchdog


def _spin(seconds: float) -> None:
    """CPU-bound work on the loop's thread, as a blocking call would do."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


async def test_cpu_bound_work_on_the_loop_is_reported_with_its_stack() -> None:
    watchdog = LoopWatchdog(0.1)
    beating = asyncio.get_running_loop().create_task(watchdog.heartbeat())
    await asyncio.sleep(0)
    watchdog.start()
    _spin(0.5)
    await asyncio.sleep(0)
    watchdog.stop()
    beating.cancel()
    assert watchdog.blocked
    assert "_spin" in watchdog.blocked[0]


async def test_a_turning_loop_is_not_reported() -> None:
    watchdog = LoopWatchdog(0.1)
    beating = asyncio.get_running_loop().create_task(watchdog.heartbeat())
    await asyncio.sleep(0)
    watchdog.start()
    for _ in range(50):
        _spin(0.005)
        await asyncio.sleep(0)
    watchdog.stop()
    beating.cancel()
    assert watchdog.blocked == []
