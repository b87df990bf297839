"""Small helpers shared by tests."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def tuike(
    *args: str, cwd: Path, timeout: float = 120, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the `tuike` command line in a fresh process, as an operator would (`input`: its stdin)."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
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
