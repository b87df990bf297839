"""Fixtures shared by the whole suite: configs, a temporary store, PostgreSQL when available."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import shutil
import sys
import threading
import time
import traceback
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from bot.store import db
from tests.helpers import postgres_schema
from tests.pg_template import PostgresTemplate

PG_ENV = "TUIKE_TEST_DATABASE_URL"


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated to head once per test run; each test gets a copy (a copy is ~1 ms, running
    the migrations ~50 ms). tests/store/test_migrations.py still runs them from empty itself."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    eng = db.make_engine(f"sqlite:///{path}")
    db.upgrade(eng)
    eng.dispose()  # the last connection checkpoints the WAL: the file alone holds the schema
    return path


def migrated_copy(template: Path, path: Path) -> Engine:
    shutil.copyfile(template, path)
    return db.make_engine(f"sqlite:///{path}")


@pytest.fixture
def engine(tmp_path: Path, migrated_sqlite: Path) -> Iterator[Engine]:
    """A migrated SQLite database in a temporary folder."""
    eng = migrated_copy(migrated_sqlite, tmp_path / "test.db")
    yield eng
    eng.dispose()


@pytest.fixture
def pg_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1/test)")
    return url


@pytest.fixture
def write_config(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a config file under tmp_path whose data_dir is also there; returns its path."""

    def write(body: str = "", name: str = "config.toml") -> Path:
        path = tmp_path / name
        data_dir = (tmp_path / "data").as_posix()
        if "[bot]" in body:
            body = body.replace("[bot]", f'[bot]\ndata_dir = "{data_dir}"', 1)
        else:
            body = f'[bot]\ndata_dir = "{data_dir}"\n' + body
        path.write_text(body, encoding="utf-8")
        return path

    return write


@pytest.fixture
async def sandbox():  # type: ignore[no-untyped-def]
    """The sandbox league on a free loopback port."""
    from tuike_sandbox.server import SandboxServer

    async with SandboxServer() as server:
        yield server


@pytest.fixture
async def channels_client(sandbox, engine):  # type: ignore[no-untyped-def]
    from bot.leagues.wechat.client import ChannelsClient

    client = ChannelsClient(
        sandbox.base_url, "wx_test_org", "sandbox", engine=engine, backoff=0.001, timeout=2
    )
    yield client
    await client.aclose()


@pytest.fixture
async def channels_league(channels_client):  # type: ignore[no-untyped-def]
    from bot.leagues.wechat.league import ChannelsLeague

    return ChannelsLeague(channels_client, mini_program_appid="wx_sandbox_mp")


LOOP_BLOCK_ENV = "TUIKE_TEST_LOOP_BLOCK_MS"


class LoopWatchdog:
    """Notices when the event loop stops turning for longer than `limit` seconds, and where.

    A heartbeat task stamps the wall time and the loop thread's CPU time every few milliseconds; a
    thread checks the stamps. A stall counts when the loop went `limit` without a beat *and* its thread
    spent at least half of that on the CPU — so a machine too busy to schedule the process (a shared
    CI box) is not mistaken for a blocking call. The loop thread's stack at that moment names the
    culprit. (Blocking waits that burn no CPU, the store's queries, are caught by the query check in
    `loop_watchdog`.)"""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.blocked: list[str] = []
        self._loop_thread = threading.get_ident()
        self._cpu_clock = time.pthread_getcpuclockid(self._loop_thread)
        self._gc_total = 0.0
        self._gc_started: float | None = None
        self._beat = (time.monotonic(), time.thread_time(), 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="loop-watchdog", daemon=True)

    async def heartbeat(self) -> None:
        while True:
            self._beat = (time.monotonic(), time.thread_time(), self._gc_seconds())
            await asyncio.sleep(self.limit / 20)

    def _watch(self) -> None:
        reported: tuple[float, float] | None = None
        while not self._stop.wait(self.limit / 10):
            beat = self._beat
            if beat == reported:
                continue
            # A garbage-collection pass of the whole test process (its heap holds a thousand tests'
            # leftovers) is no blocking call of the bot's: its time is not counted.
            in_gc = self._gc_seconds() - beat[2]
            stale = time.monotonic() - beat[0] - in_gc
            busy = time.clock_gettime(self._cpu_clock) - beat[1] - in_gc
            if stale > self.limit and busy > self.limit / 2:
                reported = beat
                frame = sys._current_frames().get(self._loop_thread)
                stack = traceback.format_stack(frame) if frame else ["?"]
                if any("importlib._bootstrap" in line for line in stack):
                    continue  # a module's first import (httpcore loads h11 on first use): once per process
                where = "".join(stack[-12:])
                self.blocked.append(
                    f"blocked {stale * 1000:.0f} ms ({busy * 1000:.0f} ms on the CPU) at:\n{where}"
                )

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.monotonic()
        elif self._gc_started is not None:
            self._gc_total += time.monotonic() - self._gc_started
            self._gc_started = None

    def _gc_seconds(self) -> float:
        started = self._gc_started
        return self._gc_total + (time.monotonic() - started if started is not None else 0.0)

    def start(self) -> None:
        gc.callbacks.append(self._on_gc)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        gc.callbacks.remove(self._on_gc)


@pytest.fixture
async def loop_watchdog() -> AsyncIterator[LoopWatchdog]:
    """Fails the test when anything blocks the event loop longer than 100 ms, or when a store query
    runs on the loop's thread at all: nothing blocking may run on the loop. The threshold is far above what a coroutine step costs, so a slow shared machine does
    not trip it; $TUIKE_TEST_LOOP_BLOCK_MS changes it."""
    watchdog = LoopWatchdog(int(os.environ.get(LOOP_BLOCK_ENV, "100")) / 1000)
    beating = asyncio.get_running_loop().create_task(watchdog.heartbeat())
    await asyncio.sleep(0)  # the first beat
    watchdog.start()
    loop_thread = threading.get_ident()
    on_loop: list[str] = []

    def query_on_loop(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        """However fast, a store query on the loop thread is a blocking call (the store is sync)."""
        if threading.get_ident() == loop_thread:
            on_loop.append(" ".join(statement.split())[:120])

    event.listen(Engine, "before_cursor_execute", query_on_loop)
    try:
        yield watchdog
    finally:
        event.remove(Engine, "before_cursor_execute", query_on_loop)
        watchdog.stop()
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating
    assert not watchdog.blocked, "the event loop was blocked:\n" + "\n".join(watchdog.blocked)
    assert not on_loop, "store queries ran on the event loop:\n" + "\n".join(on_loop)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path, migrated_sqlite: Path) -> Iterator[Engine]:
    """A migrated store on SQLite and, when $TUIKE_TEST_DATABASE_URL is set, on PostgreSQL: the same test
    on both databases, because what one stores the other must store the same way."""
    if request.param == "sqlite":
        engine = migrated_copy(migrated_sqlite, tmp_path / "store.db")
        yield engine
        engine.dispose()
        return
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests need {PG_ENV}")
    template = request.getfixturevalue("postgres_template")
    with template.schema() if template else postgres_schema(url) as schema_url:
        engine = db.make_engine(schema_url)
        if not template:
            db.upgrade(engine)
        yield engine
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[PostgresTemplate | None]:
    """Once per test process: the script that makes a migrated PostgreSQL schema (tests/pg_template.py);
    None without a server or pg_dump (each schema is then migrated)."""
    url = os.environ.get(PG_ENV)
    template = PostgresTemplate.made(url) if url else None
    yield template
    if template:
        template.close()


PROCESS_STATE = {
    "bot.leagues.metering": ("LEDGER.reset", "forget_quota"),
    "bot.orders.funds": ("forget",),
    "bot.web.pages.leagues": ("forget_org",),
}
"""What the bot keeps in the process (league health and calls, quotas, reconciliations, organisation
windows: what the console shows) and how to forget it."""


@pytest.fixture(autouse=True)
def _no_state_from_earlier_tests() -> None:
    """Each test starts without what an earlier test left in this process: which tests ran before it
    here depends on the order and the worker, and must not change what it sees."""
    for module_name, forgets in PROCESS_STATE.items():
        module = sys.modules.get(module_name)
        if module is None:
            continue  # never imported here: nothing kept
        for dotted in forgets:
            target: Any = module
            for name in dotted.split("."):
                target = getattr(target, name)
            target()


SLOW_FIRST = (
    "tests/fuzz/",
    "tests/test_cli",
    "tests/test_secrets.py",
    "tests/test_restart.py",
    "tests/test_e2e_",
    "tests/push/test_kill_and_concurrency.py",
    "tests/push/test_taobao_daily.py",
    "tests/push/test_union_daily.py",
    "tests/orders/test_cli.py",
    "tests/render/test_cli_templates.py",
    "tests/render/test_worker.py",
    "tests/web/test_console_replicas.py",
    "tests/forward/test_log_cli.py",
)
"""Where the longest tests are (processes of their own, browsers, property tests) when no earlier run
here measured them: they start first."""
DURATIONS = "tuike/durations"
"""The pytest cache's key for each test's seconds in the runs before (setup, call and teardown)."""
_durations: dict[str, float] = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest first: xdist hands tests out in this order, so the last ones a worker gets are short and
    no worker is left running a long test alone at the end. A file's tests stay together (its module
    fixtures are made once), files ordered by their longest test as measured by the runs before here
    (.pytest_cache), else as SLOW_FIRST and the browser tests guess; otherwise the collection's order."""
    root = config.rootpath
    cache = getattr(config, "cache", None)
    known: dict[str, float] = cache.get(DURATIONS, {}) if cache is not None else {}

    def guess(item: pytest.Item) -> float:
        if item.nodeid in known:
            return known[item.nodeid]
        where = item.path.relative_to(root).as_posix() if item.path.is_relative_to(root) else ""
        slow = "browser_page" in getattr(item, "fixturenames", ()) or where.startswith(SLOW_FIRST)
        return 10.0 if slow else 0.0

    longest: dict[Path, float] = {}
    for item in items:
        longest[item.path] = max(longest.get(item.path, 0.0), guess(item))
    items.sort(key=lambda item: -longest[item.path])


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _durations[report.nodeid] = _durations.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The run's durations into the cache, by the process that saw every test (not an xdist worker)."""
    cache = getattr(session.config, "cache", None)
    if cache is None or hasattr(session.config, "workerinput") or not _durations:
        return
    cache.set(DURATIONS, {**cache.get(DURATIONS, {}), **{k: round(v, 3) for k, v in _durations.items()}})
