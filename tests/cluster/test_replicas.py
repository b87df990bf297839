"""Replicas in processes of their own on one PostgreSQL: one sender per account at a time, takeover of a
killed holder, a paused holder that sends nothing once its lease is gone, a database cut off for a
while, host clocks hours apart, and a replica id that is already live. Every lease is 3 s; every wait
is for a condition (the `within` bounds only guard against a hang)."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tests.cluster.harness import Proxy, Recorder, Replica, reap, start_replica
from tests.helpers import wait_until

LEASE = 3
GUARD = 60.0
"""How long a wait may take before the test gives up (processes start slowly on a busy machine)."""


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    found = Recorder()
    await found.start()
    yield found
    await found.stop()


@pytest.fixture
async def replicas() -> AsyncIterator[list[Replica]]:
    started: list[Replica] = []
    yield started
    await reap(started)


async def _holder_and_standby(
    url: str, recorder: Recorder, replicas: list[Replica], logs: Path, first_url: str | None = None
) -> tuple[Replica, Replica]:
    """r1 serving "acct", then r2 running beside it without the lease (its tries refused)."""
    first = await start_replica(first_url or url, "r1", ["acct"], recorder, logs, lease=LEASE)
    replicas.append(first)
    await wait_until(lambda: bool(recorder.of("send", "acct", "r1")), GUARD)
    second = await start_replica(url, "r2", ["acct"], recorder, logs, lease=LEASE)
    replicas.append(second)
    await wait_until(lambda: len(recorder.of("refused", "acct", "r2")) >= 3, GUARD)
    return first, second


async def test_a_killed_holder_s_account_is_taken_over_by_the_standby(
    cluster_url: str, recorder: Recorder, replicas: list[Replica], tmp_path: Path
) -> None:
    first, _second = await _holder_and_standby(cluster_url, recorder, replicas, tmp_path)
    assert not recorder.of("send", "acct", "r2")  # never two senders for one account
    first.signal(signal.SIGKILL)
    await first.process.wait()
    killed = time.monotonic()
    await wait_until(lambda: bool(recorder.of("send", "acct", "r2")), GUARD)
    assert recorder.holders("acct") == ["r1", "r2"]
    # not before the dead holder's lease ran out by the database's clock (a renewal at most a third
    # of a lease before the kill): the standby waits for the expiry, never for a host's guess
    assert recorder.of("gain", "acct", "r2")[0].at - killed > LEASE * 2 / 3 - 0.5


async def test_a_paused_holder_sends_nothing_for_the_account_it_lost(
    cluster_url: str, recorder: Recorder, replicas: list[Replica], tmp_path: Path
) -> None:
    first, _second = await _holder_and_standby(cluster_url, recorder, replicas, tmp_path)
    paused: list[float] = []

    def pause_with_a_send_in_flight(event: object) -> None:
        if not paused and getattr(event, "kind", "") == "send" and getattr(event, "replica", "") == "r1":
            first.signal(signal.SIGSTOP)  # before its send is acknowledged
            paused.append(time.monotonic())

    recorder.before_ack.append(pause_with_a_send_in_flight)
    await wait_until(lambda: bool(paused), GUARD)
    await wait_until(lambda: bool(recorder.of("send", "acct", "r2")), GUARD)  # taken over meanwhile
    taken = recorder.of("send", "acct", "r2")[0].at
    first.signal(signal.SIGCONT)
    # r1 wakes past its lease: it tries the next message, the seam refuses it, the channel stops
    await wait_until(lambda: bool(recorder.of("refused", "acct", "r1", after=taken)), GUARD)
    await wait_until(lambda: bool(recorder.of("loss", "acct", "r1")), GUARD)
    assert not recorder.of("send", "acct", "r1", after=paused[0])
    assert recorder.holders("acct") == ["r1", "r2"]


async def test_a_holder_cut_off_from_the_database_stops_before_the_takeover_and_comes_back_cleanly(
    cluster_url: str, recorder: Recorder, replicas: list[Replica], tmp_path: Path
) -> None:
    proxy = Proxy(cluster_url)
    through_proxy = await proxy.start()
    try:
        first, second = await _holder_and_standby(cluster_url, recorder, replicas, tmp_path, through_proxy)
        await proxy.cut()
        cut = time.monotonic()
        await wait_until(lambda: bool(recorder.of("loss", "acct", "r1")), GUARD)  # it says it stopped
        await wait_until(lambda: bool(recorder.of("send", "acct", "r2")), GUARD)
        taken = recorder.of("send", "acct", "r2")[0].at
        assert recorder.of("send", "acct", "r1", after=cut)  # served on while its lease was valid
        assert recorder.of("loss", "acct", "r1")[0].at < taken  # and stopped before anyone else began
        assert not recorder.of("send", "acct", "r1", after=recorder.of("loss", "acct", "r1")[0].at)

        await proxy.restore()
        await wait_until(lambda: len(recorder.of("refused", "acct", "r1", after=taken)) >= 3, GUARD)
        second.signal(signal.SIGTERM)  # a clean stop frees its lease at once: r1, reconnected, takes it
        await wait_until(lambda: bool(recorder.of("left", replica="r2")), GUARD)
        await wait_until(lambda: bool(recorder.of("send", "acct", "r1", after=taken)), GUARD)
        assert recorder.holders("acct") == ["r1", "r2", "r1"]
        assert second.process.returncode in (None, 0)
        assert first.process.returncode is None
    finally:
        await proxy.cut()


async def test_leases_follow_the_database_clock_whatever_the_hosts_clocks_say(
    cluster_url: str, pg: Engine, recorder: Recorder, replicas: list[Replica], tmp_path: Path
) -> None:
    accounts = ["acct-a", "acct-b"]
    ahead = await start_replica(cluster_url, "ahead", accounts, recorder, tmp_path, lease=LEASE, skew=3600)
    replicas.append(ahead)
    await wait_until(lambda: bool(recorder.of("send", replica="ahead")), GUARD)
    behind = await start_replica(cluster_url, "behind", accounts, recorder, tmp_path, lease=LEASE, skew=-3600)
    replicas.append(behind)
    # the accounts spread: each replica serves one (the first gives one up to the second)
    await wait_until(lambda: bool(recorder.of("send", replica="behind")), GUARD)
    with pg.connect() as connection:
        left = connection.execute(
            text("SELECT max(extract(epoch FROM expires_at - now())) FROM account_leases")
        ).scalar()
    assert 0 < float(left) <= LEASE  # an hour-fast host did not write its leases an hour ahead
    ahead.signal(signal.SIGKILL)
    await ahead.process.wait()
    killed = time.monotonic()
    await wait_until(
        lambda: {e.account for e in recorder.of("send", replica="behind", after=killed)} == set(accounts),
        GUARD,
    )
    for account in accounts:
        assert recorder.holders(account)[-1] == "behind"


async def test_a_second_replica_with_a_live_replica_s_id_refuses_to_start(
    cluster_url: str, recorder: Recorder, replicas: list[Replica], tmp_path: Path
) -> None:
    first = await start_replica(cluster_url, "r1", ["acct"], recorder, tmp_path, lease=LEASE)
    replicas.append(first)
    await wait_until(lambda: bool(recorder.of("ready", replica="r1")), GUARD)
    logs = tmp_path / "second"
    logs.mkdir()
    second = await start_replica(cluster_url, "r1", ["acct"], recorder, logs, lease=LEASE)
    replicas.append(second)
    assert await asyncio.wait_for(second.process.wait(), GUARD) == 3
    said = next(logs.iterdir()).read_text(encoding="utf-8")
    assert "副本名 'r1' 已经被另一个正在运行的副本使用" in said
    assert f"进程 {first.pid}" in said
    assert first.process.returncode is None and recorder.holders("acct") == ["r1"]
