"""glibc's allocator tuning (bot/malloc.py): the pages a burst freed go back to the system, and
`tuike run`'s one trimmer thread does that on its own. In a child process, so the allocator's state
is fresh and no thread outlives the test."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from bot import malloc

pytestmark = pytest.mark.skipif(malloc._glibc() is None, reason="glibc only")


def run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_trim_gives_back_the_pages_a_burst_freed_between_chunks_still_in_use() -> None:
    out = run(
        """
        import ctypes
        from pathlib import Path
        from bot import malloc

        def rss_mb():
            line = [x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("VmRSS:")]
            return int(line[0].split()[1]) / 1024

        libc = ctypes.CDLL("libc.so.6")
        libc.malloc.restype = ctypes.c_void_p
        libc.free.argtypes = [ctypes.c_void_p]
        blocks = [libc.malloc(8192) for _ in range(4096)]  # 32 MB in a burst, below the mmap threshold
        for block in blocks:
            ctypes.memset(block, 1, 8192)
        for block in blocks[:-1]:  # the last one still in use: glibc cannot give the rest back on its own
            libc.free(block)
        before = rss_mb()
        malloc.trim()
        print(before - rss_mb())
        """
    )
    assert float(out) >= 24, f"only {float(out):.1f} MB of the 32 MB freed went back to the system"


def test_tuike_runs_one_trimmer_thread_and_it_trims() -> None:
    out = run(
        """
        import threading
        from bot import malloc

        malloc.limit_arenas(trim_every=0.01)
        malloc.limit_arenas(trim_every=0.01)  # a second App in the same process starts no second one
        assert malloc.trimmed.wait(60), "no trim"
        print(sum(t.name == "malloc-trim" for t in threading.enumerate()))
        """
    )
    assert int(out) == 1
