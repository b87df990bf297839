"""How long the test suite takes, measured so a shared machine does not lie about it.

Wall time on a machine other people also load says little, so this prints the CPU seconds of the whole
run (user + sys of pytest and every process it started: xdist workers, Chromium, `tuike` subprocesses,
the sandbox), the collection time alone (importing every test module, building every parameter), the
number of tests, the wall time and the load average before and after. The slowest tests
(`--durations`) go to a file beside the figures, to know what to work on next.

Run: .venv/bin/python bench/suite.py [--workers 2] [--durations-file PATH] [-- extra pytest args]
(last line: one JSON object of the figures). Issue 32's aim: `make test` within 5 minutes on two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


BYTECODE = {"PYTHONDONTWRITEBYTECODE": ""}
PLUGIN: dict[str, str] = {}
"""With --cpu-by-file: where bench/suite_cpu.py (a pytest plugin) is found and writes."""
"""As `make test`: bytecode is written (set --no-bytecode to measure without, as some shells run)."""


def run(args: list[str]) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run pytest with `args`; returns the process, its wall seconds and the CPU seconds of its tree."""
    cpu_before = children_cpu()
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **BYTECODE, **PLUGIN},
    )
    return done, time.monotonic() - started, children_cpu() - cpu_before


def collect() -> tuple[int, float, float]:
    """The count of tests, and the wall and CPU seconds of collecting them in one process."""
    done, wall, cpu = run(["--collect-only", "-q", "-p", "no:cacheprovider"])
    # addopts has -q, so -q again prints one "path: count" line per file
    counts = [int(n) for n in re.findall(r"^\S+\.py: (\d+)$", done.stdout, re.MULTILINE)]
    if done.returncode != 0 or not counts:
        sys.exit(f"collection failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return sum(counts), wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="4", help="pytest -n (default 4, as `make test`)")
    parser.add_argument("--no-bytecode", action="store_true", help="PYTHONDONTWRITEBYTECODE=1")
    parser.add_argument("--durations-file", type=Path, default=ROOT / ".pytest_cache" / "suite-durations.txt")
    parser.add_argument("--collect-only", action="store_true", help="only time the collection")
    parser.add_argument("--cpu-by-file", action="store_true", help="also the test files costing most CPU")
    parser.add_argument("pytest_args", nargs="*", help="after --: more pytest arguments")
    options = parser.parse_args()
    BYTECODE["PYTHONDONTWRITEBYTECODE"] = "1" if options.no_bytecode else ""

    tests, collect_wall, collect_cpu = collect()
    figures: dict[str, object] = {
        "tests": tests,
        "collect_seconds": round(collect_wall, 2),
        "collect_cpu_seconds": round(collect_cpu, 2),
    }
    print(f"{tests} tests, collected in {collect_wall:.1f} s ({collect_cpu:.1f} s CPU)")
    if not options.collect_only:
        load_before = os.getloadavg()[0]
        extra = list(options.pytest_args)
        folder = tempfile.mkdtemp(prefix="suite-cpu-")
        if options.cpu_by_file:
            path = os.pathsep.join(filter(None, [str(ROOT / "bench"), os.environ.get("PYTHONPATH")]))
            PLUGIN.update(PYTHONPATH=path, TUIKE_SUITE_CPU_DIR=folder)
            extra += ["-p", "suite_cpu"]
        done, wall, cpu = run(["-n", options.workers, "--durations=60", *extra])
        load_after = os.getloadavg()[0]
        options.durations_file.parent.mkdir(parents=True, exist_ok=True)
        options.durations_file.write_text(done.stdout + done.stderr, encoding="utf-8")
        summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
        print(summary)
        print(f"durations and output: {options.durations_file}")
        figures |= {
            "passed": done.returncode == 0,
            "summary": summary,
            "cpu_seconds": round(cpu, 1),
            "wall_seconds": round(wall, 1),
            "load": [round(load_before, 2), round(load_after, 2)],
            "workers": int(options.workers),
            "bytecode": not options.no_bytecode,
        }
        if options.cpu_by_file:
            by_file: Counter[str] = Counter()
            for part in Path(folder).glob("*.json"):
                by_file.update(json.loads(part.read_text(encoding="utf-8")))
            for name, seconds in by_file.most_common(15):
                print(f"{seconds:7.1f} s CPU  {name}")
            figures["cpu_by_file_top15"] = {name: round(s, 1) for name, s in by_file.most_common(15)}
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
