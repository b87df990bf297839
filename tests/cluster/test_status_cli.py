"""`tuike cluster status`: one JSON object per replica with exactly replica, heartbeat_at, accounts; a
readable table that tells live replicas from dead ones by their heartbeat's age."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from bot.cluster import rows
from tests.cluster.conftest import age_leases
from tests.helpers import tuike


def _config(write_config, url: str) -> Path:  # type: ignore[no-untyped-def]
    return Path(write_config(f'[database]\nurl = "{url}"\n\n[cluster]\nenabled = true\nlease_seconds = 10\n'))


def test_status_lists_each_replica_its_heartbeat_and_accounts(
    write_config, cluster_url: str, pg: Engine
) -> None:  # type: ignore[no-untyped-def]
    old, new = rows.Me.here("host-a-1"), rows.Me.here("host-b-2")
    rows.register(pg, old, 10)
    rows.beat(pg, old, ["gateway:wx1", "gateway:wx2"], 10)
    age_leases(pg, 600)  # host-a-1 went quiet ten minutes ago
    rows.register(pg, new, 10)
    rows.beat(pg, new, ["gateway:wx1"], 10)  # takes over one account; the other is nobody's now
    config = _config(write_config, cluster_url)

    done = tuike("--config", str(config), "cluster", "status", "--json", cwd=config.parent)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [sorted(line) for line in lines] == [["accounts", "heartbeat_at", "replica"]] * 2
    by_replica = {line["replica"]: line for line in lines}
    assert by_replica["host-b-2"]["accounts"] == ["gateway:wx1"]
    assert by_replica["host-a-1"]["accounts"] == []  # its leases ran out
    beats = {r: datetime.fromisoformat(line["heartbeat_at"]) for r, line in by_replica.items()}
    assert all(b.utcoffset() is not None and b <= datetime.now(UTC) for b in beats.values())
    assert 600 <= (beats["host-b-2"] - beats["host-a-1"]).total_seconds() < 660

    table = tuike("--config", str(config), "cluster", "status", cwd=config.parent)
    assert table.returncode == 0, table.stderr
    live = next(line for line in table.stdout.splitlines() if "host-b-2" in line)
    dead = next(line for line in table.stdout.splitlines() if "host-a-1" in line)
    assert "在线" in live and "gateway:wx1" in live
    assert "失联" in dead and "分钟前" in dead
    assert "没有副本在服务的账号 (unserved)：gateway:wx2" in table.stdout


def test_status_on_sqlite_says_the_cluster_needs_postgresql(write_config) -> None:  # type: ignore[no-untyped-def]
    config = Path(write_config(""))
    done = tuike("--config", str(config), "cluster", "status", cwd=config.parent)
    assert done.returncode == 2
    assert done.stderr.startswith("集群需要 PostgreSQL")
