"""`Leases` on PostgreSQL with an injected monotonic clock: an account counts as held only until the
last successful renewal's start + lease − the safety margin, whether or not the heartbeat ran since."""

from __future__ import annotations

from sqlalchemy import Engine

from bot.cluster.leases import Leases
from bot.config import ClusterSettings
from tests.helpers import wait_until


async def test_an_account_is_lost_by_the_replica_s_own_clock_before_the_database_lease_ends(
    pg: Engine,
) -> None:
    now = [1000.0]
    gained: list[str] = []
    lost: list[str] = []

    async def gain(account: str) -> None:
        gained.append(account)

    async def lose(account: str) -> None:
        lost.append(account)

    settings = ClusterSettings(enabled=True, replica_id="r1", lease_seconds=30)
    leases = Leases(pg, settings, ["gateway:a"], on_gain=gain, on_loss=lose, clock=lambda: now[0])
    await leases.start()
    try:
        await wait_until(lambda: gained == ["gateway:a"], 30)
        assert leases.held("gateway:a") and not leases.held("gateway:b")
        now[0] += 30 - 5 - 0.01  # just inside lease − margin (5 s of 30) since the renewal began
        assert leases.held("gateway:a")
        now[0] += 0.02  # past it: no send for the account from now on, before any heartbeat runs
        assert not leases.held("gateway:a")
        await wait_until(lambda: lost == ["gateway:a"], 30)  # and its channel is told to stop
    finally:
        await leases.stop()
