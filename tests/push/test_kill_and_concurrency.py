"""The promises that matter most: a killed bot never double-sends a slot and loses only the message
in flight; two bots on one database push each slot once. Real processes, real SIGKILL."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
GROUPS = 50


def _driver(url: str, out: Path, instance: str, delay: float = 0.01) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.push.push_driver", url, str(out), instance, str(GROUPS), str(delay)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _lines(out: Path) -> list[str]:
    return out.read_text(encoding="utf-8").splitlines() if out.exists() else []


def _statuses(url: str) -> Counter[str]:
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT status FROM push_log WHERE slot = 'daily:2026-11-22T08:30'")
        ).all()
    engine.dispose()
    return Counter(r[0] for r in rows)


@pytest.mark.parametrize("kill_after", [1, 17, 38])
def test_sigkill_mid_push_then_restart(tmp_path: Path, kill_after: int) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    out = tmp_path / "sent.txt"
    first = _driver(url, out, "botA", delay=0.03)
    deadline = time.monotonic() + 60
    while len(_lines(out)) < kill_after and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=10)
    before = len(_lines(out))
    assert before < GROUPS, "the kill landed mid-push"
    second = _driver(url, out, "botA")
    stdout, stderr = second.communicate(timeout=120)
    assert second.returncode == 0, stderr
    received = Counter(line.split("\t")[0] for line in _lines(out))
    assert max(received.values()) == 1, "no group receives the slot twice"
    missing = GROUPS - len(received)
    assert missing <= 1, "every group but the one in flight receives it"
    statuses = _statuses(url)
    assert statuses["sent"] >= GROUPS - 1
    assert statuses["sent"] + statuses["interrupted"] == GROUPS
    if missing:
        assert statuses["interrupted"] == 1
        assert "1 interrupted" in stdout


def _two_processes(url: str, out: Path) -> None:
    setup = _driver(url, out, "setup")
    _o, stderr = setup.communicate(timeout=60)
    assert setup.returncode == 0, stderr
    a = _driver(url, out, "botA", delay=0.002)
    b = _driver(url, out, "botB", delay=0.002)
    for proc in (a, b):
        _stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
    received = Counter(line.split("\t")[0] for line in _lines(out))
    assert len(received) == GROUPS
    assert set(received.values()) == {1}, "each slot pushed once"
    senders = Counter(line.split("\t")[1] for line in _lines(out))
    assert sum(senders.values()) == GROUPS


def test_two_processes_on_one_sqlite_file(tmp_path: Path) -> None:
    _two_processes(f"sqlite:///{tmp_path / 'shared.db'}", tmp_path / "sent.txt")


@pytest.fixture
def pg_schema_url(pg_url: str) -> Iterator[str]:
    schema = f"tuike_push_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg_url else "?"
    try:
        yield f"{pg_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_two_processes_on_postgresql(pg_schema_url: str, tmp_path: Path) -> None:
    _two_processes(pg_schema_url, tmp_path / "sent.txt")
