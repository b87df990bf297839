"""Small helpers shared by tests."""

from __future__ import annotations

import subprocess
import sys
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
