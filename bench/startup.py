"""Start-up: how long `tuike --help` takes, and `tuike run` (console, embedded default) from start to
its first answer, each beside a bare `python -c pass` measured in the same run.

    .venv/bin/python bench/startup.py [--runs 7]

"Ready" is the moment the bot has answered a first message (帮助, written to its stdin at once), so it
counts everything a member would wait for: imports, config, the groups the operator blocked (read
from the SQLite file with sqlite3: the engine opens in the background), the templates, the router, the
channel. The console answers it before the leagues, deals,
pushes and order sync are built; "search ready" is the same for a first 找 蓝牙耳机, which waits for
all of that (the sandbox leagues included). The store is created by a first, unmeasured start, which also writes the bytecode caches as
any install does (pip compiles a wheel's modules; a plain run writes `__pycache__`): it runs without
PYTHONDONTWRITEBYTECODE, so a sandbox that sets it does not make every start compile ~100 modules
from source. Medians of `--runs` runs.

"Exit after answer" is `printf '帮助\n' | tuike run`: from the last line of the answer to the process's
end (stdin is closed at once, so the bot should stop as soon as it has answered), beside the same for
a bare `python -c` that echoes its stdin (the interpreter's own exit).
The last line is a JSON object of the figures (see bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TUIKE = [sys.executable, "-m", "bot"]


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def start_to_ready(cwd: Path, env: dict[str, str], first: str = "帮助") -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(
        [*TUIKE, "run"],
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(first + "\n")
    proc.stdin.flush()
    for line in proc.stdout:
        if line.strip() and not line.startswith("──"):
            break  # the first line of the answer
    ready = time.perf_counter() - start
    proc.stdin.close()
    proc.stdout.read()
    proc.wait(timeout=30)
    return ready


def exit_after_answer(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Seconds from the last line the process printed to its end, its stdin being '帮助' then closed."""
    proc = subprocess.Popen(
        command, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("帮助\n".encode())
    proc.stdin.close()
    last = time.perf_counter()
    for line in proc.stdout:
        if line.strip():
            last = time.perf_counter()
    proc.wait(timeout=30)
    return time.perf_counter() - last


ECHO = [sys.executable, "-c", "import sys\nfor line in sys.stdin: print(line, end='', flush=True)"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    cwd = Path(tempfile.mkdtemp())
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUIKE_")}
    first = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    start_to_ready(cwd, first)  # creates ./data and the store, and writes the bytecode caches
    bare, helps, readies, searches, exits, echo_exits = [], [], [], [], [], []
    for _ in range(args.runs):  # interleaved, so a busy moment weighs on all four alike
        bare.append(timed([sys.executable, "-c", "pass"], cwd))
        helps.append(timed([*TUIKE, "--help"], cwd))
        readies.append(start_to_ready(cwd, env))
        searches.append(start_to_ready(cwd, env, "找 蓝牙耳机"))
        exits.append(exit_after_answer([*TUIKE, "run"], cwd, env))
        echo_exits.append(exit_after_answer(ECHO, cwd, env))
    figures = {
        "python_pass_ms": round(statistics.median(bare) * 1000),
        "help_ms": round(statistics.median(helps) * 1000),
        "ready_ms": round(statistics.median(readies) * 1000),
        "search_ready_ms": round(statistics.median(searches) * 1000),
        "exit_after_answer_ms": round(statistics.median(exits) * 1000),
        "python_exit_after_echo_ms": round(statistics.median(echo_exits) * 1000),
    }
    figures["help_ratio_to_python"] = round(figures["help_ms"] / figures["python_pass_ms"], 1)
    figures["ready_ratio_to_python"] = round(figures["ready_ms"] / figures["python_pass_ms"], 1)
    figures["search_ready_ratio_to_python"] = round(figures["search_ready_ms"] / figures["python_pass_ms"], 1)
    print(f"python -c pass: {figures['python_pass_ms']} ms")
    print(f"tuike --help: {figures['help_ms']} ms ({figures['help_ratio_to_python']}× python -c pass)")
    print(
        f"tuike run (console) to its first answer: {figures['ready_ms']} ms "
        f"({figures['ready_ratio_to_python']}× python -c pass)"
    )
    print(
        f"tuike run (console) to its first search answer: {figures['search_ready_ms']} ms "
        f"({figures['search_ready_ratio_to_python']}× python -c pass)"
    )
    print(
        f"printf '帮助\\n' | tuike run: exits {figures['exit_after_answer_ms']} ms after its answer "
        f"(a bare python echo: {figures['python_exit_after_echo_ms']} ms)"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
