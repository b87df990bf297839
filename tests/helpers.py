"""Small helpers shared by tests."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def tuike(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the `tuike` command line in a fresh process, as an operator would."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


async def wait_until(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Let the loop run until `condition` holds (never a fixed sleep: a busy machine only makes it
    slower, not wrong); fail after `within` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"still waiting after {within} s")
        await asyncio.sleep(0.001)
