"""Small helpers shared by tests."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

FRESH_ENV = "TUIKE_TEST_FRESH_PROCESSES"


def tuike(
    *args: str, cwd: Path, timeout: float = 120, input: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the `tuike` command line in a process of its own, as an operator would (`input`: its stdin,
    `env`: its whole environment, by default the test's).
    The process is forked from one that has imported the bot already (tests/zygote.py): a fresh
    interpreter would spend most of its CPU importing. $TUIKE_TEST_FRESH_PROCESSES=1 starts each
    command in a fresh interpreter instead."""
    if not os.environ.get(FRESH_ENV):
        from tests.zygote import Zygote

        return Zygote.shared().run(list(args), cwd=cwd, input=input, timeout=timeout, env=env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env,
        input=input,
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


@contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    """A fresh schema on the test PostgreSQL server; yields a URL whose connections use only it."""
    from sqlalchemy import create_engine, text

    schema = f"tuike_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


T = TypeVar("T")


def race(count: int, act: Callable[[int], T]) -> list[T]:
    """Run act(0) … act(count-1) in `count` threads released together by a barrier."""
    start = threading.Barrier(count)

    def run(n: int) -> T:
        start.wait(timeout=60)  # a guard against a hang, not a timing assumption
        return act(n)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))
