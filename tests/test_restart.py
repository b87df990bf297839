"""What a restart of `tuike run` on the embedded default must not do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _run(cwd: Path, lines: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        input=lines,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_restart_does_not_log_a_refused_token(tmp_path: Path) -> None:
    """The sandbox forgets its tokens when the process ends; offering it the stored one logged
    `token refused (40001)` on every start."""
    first = _run(tmp_path, "找 蓝牙耳机\n")
    second = _run(tmp_path, "找 蓝牙耳机\n")
    assert first.returncode == second.returncode == 0, second.stderr
    assert "为你找到「蓝牙耳机」的好价" in second.stdout
    assert "token refused" not in first.stderr + second.stderr
