"""A pytest plugin for bench/suite.py: the CPU seconds each test file costs, per worker.

Each test's CPU is this process's plus its children's that ended within the test (a `tuike` process
forked by tests/zygote.py is the zygote's child and not counted here; the suite's total in
bench/suite.py counts everything). Each worker writes `<dir>/<worker>.json` at the end.
"""

from __future__ import annotations

import json
import os
import resource
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

DIR_ENV = "TUIKE_SUITE_CPU_DIR"
_by_file: defaultdict[str, float] = defaultdict(float)


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    started = _cpu()
    yield
    _by_file[item.nodeid.split("::", 1)[0]] += _cpu() - started


def pytest_sessionfinish(session: pytest.Session) -> None:
    folder = os.environ.get(DIR_ENV)
    if folder and _by_file:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        (Path(folder) / f"{worker}.json").write_text(json.dumps(_by_file), encoding="utf-8")
