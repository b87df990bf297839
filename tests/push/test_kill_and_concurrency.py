"""The promises that matter most: a killed bot never double-sends a slot and loses only the message
in flight; two bots on one database push each slot once. Real processes, real SIGKILL."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import Session

from bot.store import db, subscriptions
from bot.store.groups import ensure_group
from bot.store.models import Subscription

ROOT = Path(__file__).resolve().parents[2]
GROUPS = 50


def _driver(
    url: str, out: Path, instance: str, delay: float = 0.01, rate: float | None = None
) -> subprocess.Popen[str]:
    paced = [str(rate)] if rate else []
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.push.push_driver",
            url,
            str(out),
            instance,
            str(GROUPS),
            str(delay),
            *paced,
        ],
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


def _kill_mid_batch(url: str, out: Path) -> None:
    """At 2,000 messages a second the service claims a batch of slots per transaction, ahead of the
    sender; each send here takes 30 ms, so the kill lands with most of the batch claimed and unsent."""
    first = _driver(url, out, "botA", delay=0.03, rate=2000)
    _wait_for(lambda: len(_lines(out)) >= 5 or first.poll() is not None, "the first sends")
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=10)
    sent_before = len(_lines(out))
    assert sent_before < GROUPS, "the kill landed mid-batch"
    second = _driver(url, out, "botA", rate=2000)
    stdout, stderr = second.communicate(timeout=120)
    assert second.returncode == 0, stderr
    received = Counter(line.split("\t")[0] for line in _lines(out))
    assert max(received.values()) == 1, "no group receives the slot twice"
    statuses = _statuses(url)
    assert statuses["sent"] + statuses["interrupted"] == GROUPS, statuses
    assert statuses["interrupted"] > 1, "the kill left a batch claimed ahead"
    missing = {f"room{n:03d}@chatroom" for n in range(GROUPS)} - set(received)
    assert len(missing) <= statuses["interrupted"], "a group lost its push without an interrupted record"
    assert f"{statuses['interrupted']} interrupted" in stdout
    engine = create_engine(url)
    with engine.connect() as connection:
        lost = connection.execute(
            text("SELECT group_id FROM push_log WHERE status = 'interrupted' ORDER BY group_id")
        ).all()
    engine.dispose()
    for (group_id,) in lost:  # reported slot by slot, each with its group
        assert f"group {group_id} slot daily:2026-11-22T08:30 was mid-send" in stdout


def test_sigkill_mid_batch_reports_each_slot_of_the_batch(tmp_path: Path) -> None:
    _kill_mid_batch(f"sqlite:///{tmp_path / 'bot.db'}", tmp_path / "sent.txt")


def test_sigkill_mid_batch_on_postgresql(pg_schema_url: str, tmp_path: Path) -> None:
    _kill_mid_batch(pg_schema_url, tmp_path / "sent.txt")


def _two_processes(url: str, out: Path) -> None:
    setup = _driver(url, out, "setup")
    _o, stderr = setup.communicate(timeout=60)
    assert setup.returncode == 0, stderr
    a = _driver(url, out, "botA", delay=0.002)
    b = _driver(url, out, "botB", delay=0.002)
    composed = 0
    for proc in (a, b):
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
        composed += int(re.search(r"composed: (\d+)", stdout).group(1))  # type: ignore[union-attr]
    received = Counter(line.split("\t")[0] for line in _lines(out))
    assert len(received) == GROUPS
    assert set(received.values()) == {1}, "each slot pushed once"
    senders = Counter(line.split("\t")[1] for line in _lines(out))
    assert sum(senders.values()) == GROUPS
    # the due groups are divided, not raced for: each is composed (league calls) by one process only
    assert composed == GROUPS, f"{composed} pushes composed for {GROUPS} groups"


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


# ------------------------------------------------------------------ the real `tuike run`, killed


RUN_GROUPS = 16
"""Sent at 60 a minute: the kill comes after at most half of them, so at least eight seconds of sends are
left for it to land in, even when a loaded machine is slow to read the bot's output (at 120 a minute a
CI run with four workers once saw all 16 out first)."""
SLOT_PREFIX = "daily:"


class _Bot:
    """`tuike run` on the console channel with stdin held open; its stdout is collected by a thread."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", "config.toml", "run"],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.errors: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.error_reader = threading.Thread(target=self._read_errors, daemon=True)
        self.error_reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def _read_errors(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.errors.append(line)

    def pushes(self) -> list[str]:
        """Room ids that got a push, one entry per message, in order."""
        return [
            m[1] for line in list(self.lines) if (m := re.match(r"── 发往「(room\d+@chatroom)」──", line))
        ]

    def finish(self, sig: signal.Signals) -> str:
        """Signal, wait, and keep every line the process wrote (reading with `communicate` here would
        take the last lines away from `lines`)."""
        self.proc.send_signal(sig)
        self.proc.wait(timeout=60)
        self.reader.join(timeout=10)
        self.error_reader.join(timeout=10)
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()
        return "".join(self.errors)


def _subscribed_store(url: str) -> None:
    """RUN_GROUPS groups whose daily slot (two minutes ago, local time) is due now."""
    engine = db.make_engine(url)
    db.upgrade(engine)
    local = datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(minutes=2)
    for n in range(RUN_GROUPS):
        group = ensure_group(engine, f"room{n:03d}@chatroom", f"群{n:03d}")
        assert group.id is not None
        sub = subscriptions.subscribe(engine, group.id, "daily", local.strftime("%H:%M"))
        with Session(engine) as session:
            row = session.get(Subscription, sub.id)
            assert row is not None
            row.created_at = row.updated_at = datetime.now(UTC) - timedelta(days=3)
            session.add(row)
            session.commit()
    engine.dispose()


def _finished(url: str) -> Counter[str]:
    engine = db.make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT status FROM push_log WHERE slot LIKE 'daily:%'")).all()
    engine.dispose()
    return Counter(r[0] for r in rows)


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _kill_tuike_run_mid_push(tmp_path: Path, url: str, kill_after: int) -> None:
    _subscribed_store(url)
    (tmp_path / "config.toml").write_text(
        f"""
[bot]
data_dir = "{(tmp_path / "data").as_posix()}"
admin_chat = "console:运营"
[database]
url = "{url}"
[push]
deals_per_push = 1
rate_per_minute = 60
jitter_min_seconds = 0
jitter_max_seconds = 0
""",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUIKE_")}

    first = _Bot(tmp_path, env)
    _wait_for(lambda: len(first.pushes()) >= kill_after or first.proc.poll() is not None, "the first pushes")
    first.finish(signal.SIGKILL)
    sent_before = first.pushes()
    assert len(sent_before) < RUN_GROUPS, "the kill landed mid-push"

    second = _Bot(tmp_path, env)
    done = {"sent", "interrupted", "failed", "skipped"}
    _wait_for(
        lambda: sum(n for s, n in _finished(url).items() if s in done) == RUN_GROUPS, "every slot to end"
    )
    _wait_for(
        lambda: len(second.pushes()) + len(sent_before) >= _finished(url)["sent"], "the last send's line"
    )
    stderr = second.finish(signal.SIGTERM)
    assert second.proc.returncode == 0, stderr

    received = Counter(sent_before + second.pushes())
    assert max(received.values()) == 1, f"a group got its slot twice: {received.most_common(3)}"
    statuses = _finished(url)
    assert statuses["failed"] == statuses["skipped"] == 0, statuses
    assert statuses["interrupted"] <= 1, "only the message in flight can be lost"
    assert statuses["sent"] + statuses["interrupted"] == RUN_GROUPS
    missing = {f"room{n:03d}@chatroom" for n in range(RUN_GROUPS)} - set(received)
    assert len(missing) <= statuses["interrupted"], "a group lost its push without an interrupted record"
    if statuses["interrupted"]:
        notice = "\n".join(second.lines)
        assert "── 发往「console:运营」──" in notice and "上次停机时有 1 条推送正在发送" in notice
        engine = db.make_engine(url)
        with engine.connect() as connection:
            room = connection.execute(
                text(
                    "SELECT g.name FROM push_log p JOIN groups g ON g.id = p.group_id WHERE p.status = 'interrupted'"
                )
            ).scalar_one()
        engine.dispose()
        assert f"· {room}" in notice, "the operator is told which group"


@pytest.mark.parametrize("seed", [1, 2])
def test_sigkill_tuike_run_mid_push_on_sqlite(tmp_path: Path, seed: int) -> None:
    kill_after = random.Random(seed).randint(1, RUN_GROUPS // 2)
    _kill_tuike_run_mid_push(tmp_path, f"sqlite:///{(tmp_path / 'data' / 'tuike.db').as_posix()}", kill_after)


def test_sigkill_tuike_run_mid_push_on_postgresql(pg_schema_url: str, tmp_path: Path) -> None:
    _kill_tuike_run_mid_push(tmp_path, pg_schema_url, random.Random(3).randint(1, RUN_GROUPS // 2))
