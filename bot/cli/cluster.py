"""`tuike cluster status [--json]`: the replicas of a cluster, their heartbeats and the accounts each holds.

Read from the shared PostgreSQL (bot/cluster/rows.py), so it works from any host with the config: a
replica is live while its last heartbeat (the database's clock) is younger than `[cluster] lease_seconds`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import click

from bot.cli.context import Context, fail, pass_context


@click.group("cluster")
def cluster() -> None:
    """Replicas over one PostgreSQL: which replica serves which chat account."""


@cluster.command("status")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object per replica: replica, heartbeat_at (ISO 8601, UTC), accounts.",
)
@pass_context
def status(ctx: Context, as_json: bool) -> None:
    """The replicas, their heartbeats and the accounts each holds."""
    from bot.cluster import rows
    from bot.compose import prepare_database

    settings = ctx.loaded.settings
    if settings.database_url.startswith("sqlite"):
        fail(
            "集群需要 PostgreSQL：[database] url 还是 SQLite，这里没有集群可看 / the cluster needs PostgreSQL"
        )
    try:
        engine = prepare_database(settings)
    except RuntimeError as exc:
        fail(str(exc))
    try:
        view = rows.overview(engine)
    except Exception as exc:
        fail(f"读不到集群状态 (cannot read the cluster): {type(exc).__name__}")
    finally:
        engine.dispose()
    if as_json:
        for replica in view.replicas:
            row = {
                "replica": replica.replica,
                "heartbeat_at": replica.heartbeat_at.astimezone(UTC).isoformat(),
                "accounts": list(replica.accounts),
            }
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    lease = settings.cluster.lease_seconds
    if not view.replicas:
        click.echo("还没有副本加入集群 (no replicas yet)")
    else:
        zone = ZoneInfo(settings.bot.timezone)
        width = max(len(r.replica) for r in view.replicas)
        click.echo(f"集群副本 (replicas)：心跳超过 {lease} 秒算失联，时间按 {settings.bot.timezone}")
        click.echo(f"  {'副本'.ljust(width - 2)}  状态  最后心跳             主机 / 进程   账号")
        for replica in view.replicas:
            live = "在线" if replica.age_seconds < lease else "失联"
            beat = _local(replica.heartbeat_at, zone)
            ago = _ago(replica.age_seconds)
            accounts = "、".join(replica.accounts) or "—"
            click.echo(
                f"  {replica.replica.ljust(width)}  {live}  {beat}（{ago}）  "
                f"{replica.host} / {replica.pid}   {accounts}"
            )
    if view.unserved:
        click.echo(f"没有副本在服务的账号 (unserved)：{'、'.join(view.unserved)}")


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%m-%d %H:%M:%S")


def _ago(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} 秒前"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} 分钟前"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.0f} 小时前"
    return f"{seconds / 86400:.0f} 天前"
