"""What a restart of `tuike run` on the embedded default must not do."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

ANSWER = "为你找到「蓝牙耳机」的好价"
SAFETY_SECONDS = 120
"""Only against a hang: every wait here ends on what the bot prints."""


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def _run(cwd: Path, line: str) -> Run:
    """`tuike run` with `line` typed on its stdin, which stays open until the answer is printed, then
    closes, as at the end of a script. On a busy machine the answer can come after the deadline (the
    "查到了马上发给你" fallback first, the answer a moment later): the wait is for the answer itself."""
    with (
        tempfile.TemporaryFile("w+", encoding="utf-8") as errors,
        subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            encoding="utf-8",
        ) as process,
    ):
        guard = threading.Timer(SAFETY_SECONDS, process.kill)
        guard.start()
        try:
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(line + "\n")
            process.stdin.flush()
            out: list[str] = []
            while ANSWER not in "".join(out):
                printed = process.stdout.readline()
                if not printed:  # the bot ended (or the guard stopped a hang): the caller sees why
                    break
                out.append(printed)
            process.stdin.close()
            out.append(process.stdout.read())
            returncode = process.wait()
        finally:
            guard.cancel()
            if process.poll() is None:
                process.kill()
                process.wait()
        errors.seek(0)
        return Run(returncode, "".join(out), errors.read())


def test_a_restart_does_not_log_a_refused_token(tmp_path: Path) -> None:
    """The sandbox forgets its tokens when the process ends; offering it the stored one logged
    `token refused (40001)` on every start."""
    first = _run(tmp_path, "找 蓝牙耳机")
    second = _run(tmp_path, "找 蓝牙耳机")
    assert first.returncode == second.returncode == 0, second.stderr
    assert ANSWER in second.stdout
    assert "token refused" not in first.stderr + second.stderr
