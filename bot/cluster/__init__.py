"""Replicas over one PostgreSQL (`[cluster] enabled`): each chat account served by exactly one replica at a
time, through a lease row renewed every few seconds; a dead replica's accounts taken over by the others.

- rows.py    the tables (`cluster_replicas`, `account_leases`) and the statements that decide, on the
             database's clock
- leases.py  `Leases`: the heartbeat, `held(account)` before every send, `on_gain` / `on_loss`
- serving.py the composition's side: an account's channel started on gain, stopped on loss

docs/cluster.md says how to run it.
"""

from __future__ import annotations

from bot.config import Settings


def refusal(settings: Settings) -> str:
    """Why this config may not run as a cluster replica ('' when it may): the cluster shares one
    PostgreSQL; SQLite is one process's file."""
    if not settings.cluster.enabled:
        return ""
    if settings.database_url.startswith("sqlite"):
        return (
            "[cluster] enabled = true 需要 PostgreSQL：多个副本要共用一个数据库，SQLite 只能单进程使用。"
            "请把 [database] url 设为 postgresql+psycopg://…，或者关掉 [cluster] enabled / "
            "the cluster needs PostgreSQL ([database] url), not SQLite"
        )
    return ""
