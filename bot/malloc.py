"""glibc's allocator, tuned once for a bot that runs for weeks.

glibc gives each thread that allocates a malloc arena of its own (up to eight per core). `tuike run`
does its blocking work — the store's writes, the renderer, imports — in worker threads, in bursts; each
arena keeps the memory its burst freed, split up among what is still in use, so RSS creeps up while
Python's own heap (what `tracemalloc` sees) does not. Two arenas hold the same work with less kept
aside. `MALLOC_ARENA_MAX` in the environment, when set, wins (glibc read it at start).

What the arenas still keep — whole free pages between chunks in use, which glibc gives back on its own
only from the top of a heap — a trimmer thread hands back to the system once a minute (`malloc_trim`):
in a 500k-message soak that was most of what RSS grew by outside Python's own arenas. Elsewhere (musl,
macOS, Windows) nothing is done.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
import threading

M_ARENA_MAX = -8
"""mallopt's parameter number for the arena cap (glibc's malloc.h)."""
ARENAS = 2
TRIM_EVERY = 60.0
"""Seconds between two `malloc_trim` calls: a trim walks the free chunks (milliseconds, off the event
loop, without the GIL), and a minute's churn is what it gives back."""

trimmed = threading.Event()
"""Set after each trim (tests wait on it)."""
_trimmer: threading.Thread | None = None
_start = threading.Lock()


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")  # CDLL calls release the GIL
    except OSError:  # not glibc
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def limit_arenas(arenas: int = ARENAS, trim_every: float | None = TRIM_EVERY) -> bool:
    """Cap glibc's arenas for threads started from now on, and start the trimmer (once per process,
    every `trim_every` seconds; None: not); True when the cap took effect."""
    libc = _glibc()
    if libc is None:
        return False
    capped = "MALLOC_ARENA_MAX" not in os.environ and bool(libc.mallopt(M_ARENA_MAX, arenas))
    if trim_every is not None:
        start_trimming(trim_every)
    return capped


def trim() -> bool:
    """Give the arenas' free pages back to the system now; True when some were."""
    libc = _glibc()
    return bool(libc.malloc_trim(0)) if libc is not None else False


def start_trimming(every: float = TRIM_EVERY) -> bool:
    """Start the trimmer thread unless it runs already; False where there is no glibc."""
    global _trimmer
    if _glibc() is None:
        return False
    with _start:
        if _trimmer is None:
            _trimmer = threading.Thread(target=_trim_forever, args=(every,), name="malloc-trim", daemon=True)
            _trimmer.start()
    return True


def _trim_forever(every: float) -> None:
    wake = threading.Event()  # never set: a daemon thread, gone with the process
    while not wake.wait(every):
        trim()
        trimmed.set()
