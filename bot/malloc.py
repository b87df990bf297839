"""glibc's allocator, tuned once for a bot that runs for weeks.

glibc gives each thread that allocates a malloc arena of its own (up to eight per core). `tuike run`
does its blocking work — the store's writes, the renderer, imports — in worker threads, in bursts; each
arena keeps the memory its burst freed, split up among what is still in use, so RSS creeps up while
Python's own heap (what `tracemalloc` sees) does not. Two arenas hold the same work with less kept
aside. `MALLOC_ARENA_MAX` in the environment, when set, wins (glibc read it at start). Elsewhere
(musl, macOS, Windows) nothing is done.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_ARENA_MAX = -8
"""mallopt's parameter number for the arena cap (glibc's malloc.h)."""
ARENAS = 2


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's arenas for threads started from now on; True when it took effect."""
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):  # not glibc
        return False
