"""The lease statements on PostgreSQL: who may register, who holds what, fair shares, takeover."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import Engine, text

from bot.cluster import rows
from tests.cluster.conftest import age_leases
from tests.helpers import race

ACCOUNTS = ("gateway:a", "gateway:b", "gateway:c", "gateway:d")


def me(name: str, pid: int | None = None) -> rows.Me:
    here = rows.Me.here(name)
    return rows.Me(here.replica_id, here.host, pid if pid is not None else here.pid, here.incarnation)


def test_a_second_live_replica_with_the_same_id_is_refused_saying_why(pg: Engine) -> None:
    rows.register(pg, me("r1"), 30)
    with pytest.raises(rows.ReplicaTaken) as refused:
        rows.register(pg, me("r1", pid=1), 30)  # pid 1 is alive: not a dead process of this host
    assert str(refused.value).startswith("副本名 'r1' 已经被另一个正在运行的副本使用")
    assert "秒前还有心跳" in str(refused.value)
    rows.register(pg, me("r2"), 30)  # another id is fine


def test_the_id_of_a_replica_whose_heartbeat_is_older_than_a_lease_may_be_used_again(pg: Engine) -> None:
    first = me("r1", pid=1)
    rows.register(pg, first, 30)
    age_leases(pg, 31)
    second = me("r1", pid=1)
    rows.register(pg, second, 30)
    with pytest.raises(rows.Replaced):  # the old start, resumed, finds its row taken: it serves nothing
        rows.beat(pg, first, ACCOUNTS, 30)
    assert rows.beat(pg, second, ACCOUNTS, 30).held == frozenset(ACCOUNTS)


def test_a_dead_process_of_this_host_does_not_block_its_id(pg: Engine) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(done.stdout)
    rows.register(pg, me("r1", pid=dead_pid), 30)
    rows.register(pg, me("r1", pid=os.getpid()), 30)  # its heartbeat is fresh, but its process is gone


def test_one_replica_alone_holds_every_account_and_renews_them(pg: Engine) -> None:
    one = me("r1")
    rows.register(pg, one, 30)
    first = rows.beat(pg, one, ACCOUNTS, 30)
    assert first.held == frozenset(ACCOUNTS) and first.live == 1 and first.fair == 4
    assert rows.beat(pg, one, ACCOUNTS, 30).held == frozenset(ACCOUNTS)
    with pg.connect() as connection:
        left = connection.execute(
            text("SELECT min(extract(epoch FROM expires_at - now())) FROM account_leases")
        ).scalar()
    assert 29 < float(left) <= 30  # the database's clock sets the expiry: now() + lease


def test_accounts_spread_over_live_replicas_and_nobody_takes_a_held_one(pg: Engine) -> None:
    one, two = me("r1"), me("r2")
    rows.register(pg, one, 30)
    assert rows.beat(pg, one, ACCOUNTS, 30).held == frozenset(ACCOUNTS)
    rows.register(pg, two, 30)
    seen = rows.beat(pg, two, ACCOUNTS, 30)
    assert seen.held == frozenset() and seen.live == 2 and seen.fair == 2  # all held, none expired
    over = rows.beat(pg, one, ACCOUNTS, 30)
    assert over.fair == 2 and len(over.held) == 4  # the caller gives up the extra two
    extra = sorted(over.held)[2:]
    kept = rows.beat(pg, one, ACCOUNTS, 30, releasing=extra)
    assert kept.held == frozenset(sorted(ACCOUNTS)[:2])
    assert rows.beat(pg, two, ACCOUNTS, 30).held == frozenset(extra)


def test_expired_leases_of_a_dead_replica_are_taken_over(pg: Engine) -> None:
    one, two = me("r1"), me("r2")
    rows.register(pg, one, 30)
    rows.register(pg, two, 30)
    assert len(rows.beat(pg, one, ACCOUNTS, 30).held) == 2
    assert len(rows.beat(pg, two, ACCOUNTS, 30).held) == 2
    age_leases(pg, 31)  # r1 died: no beat for a lease; r2 beats again now
    after = rows.beat(pg, two, ACCOUNTS, 30)
    assert after.live == 1 and after.held == frozenset(ACCOUNTS)
    rows.register(pg, me("r1", pid=1), 30)  # r1's stale row may be taken by a newer start of r1
    with pytest.raises(rows.Replaced):
        rows.beat(pg, one, ACCOUNTS, 30)


def test_replicas_racing_for_the_same_free_leases_never_share_one(pg: Engine) -> None:
    replicas = [me(f"r{n}") for n in range(4)]
    for replica in replicas:
        rows.register(pg, replica, 30)
    accounts = [f"gateway:{n}" for n in range(8)]
    found = race(4, lambda n: rows.beat(pg, replicas[n], accounts, 30))
    taken = [a for beat in found for a in beat.held]
    assert sorted(taken) == sorted(set(taken))  # nobody holds an account another holds
    assert all(len(beat.held) <= beat.fair == 2 for beat in found)


def test_leaving_frees_the_leases_at_once(pg: Engine) -> None:
    one, two = me("r1"), me("r2")
    rows.register(pg, one, 30)
    rows.beat(pg, one, ACCOUNTS, 30)
    rows.leave(pg, one)
    rows.register(pg, two, 30)
    assert rows.beat(pg, two, ACCOUNTS, 30).held == frozenset(ACCOUNTS)
    view = rows.overview(pg)
    assert [r.replica for r in view.replicas] == ["r2"]
    assert view.replicas[0].accounts == tuple(sorted(ACCOUNTS))
    assert view.unserved == ()


def test_a_replica_holding_less_than_its_share_gets_one_from_a_replica_holding_more(pg: Engine) -> None:
    replicas = [me(f"r{n}") for n in range(3)]
    for replica in replicas[:2]:
        rows.register(pg, replica, 30)
    assert len(rows.beat(pg, replicas[0], ACCOUNTS, 30).held) == 2  # 4 accounts, 2 live: 2 each
    assert len(rows.beat(pg, replicas[1], ACCOUNTS, 30).held) == 2
    rows.register(pg, replicas[2], 30)
    assert rows.beat(pg, replicas[2], ACCOUNTS, 30).held == frozenset()  # all four held: none free
    first = rows.beat(pg, replicas[0], ACCOUNTS, 30)
    assert first.fair == 1  # r2 holds none, less than 4 // 3: r0 keeps one and gives one up
    rows.beat(pg, replicas[0], ACCOUNTS, 30, releasing=sorted(first.held)[1:])
    assert len(rows.beat(pg, replicas[2], ACCOUNTS, 30).held) == 1
    assert rows.beat(pg, replicas[1], ACCOUNTS, 30).fair == 2  # nobody is short now: 2, 1, 1 stays
