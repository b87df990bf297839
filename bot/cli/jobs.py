"""`tuike jobs [--json]`: the periodic jobs `tuike run` would schedule with this configuration.

Nothing is started: the channels and push services are built as `tuike run` builds them (never run,
no league is opened, no push is recovered), and `bot.jobs.plan.schedule` — the one list `tuike run`
registers its jobs from — puts them on a `Jobs` that is never started; the list is read from it.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

import click

from bot.cli.context import Context, fail, pass_context

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bot.config import Settings
    from bot.jobs import Jobs


@click.command("jobs")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per job (next_run in UTC).")
@pass_context
def jobs(ctx: Context, as_json: bool) -> None:
    """The periodic jobs this configuration runs: id, what, when, next run."""
    from bot.compose import prepare_database

    settings = ctx.loaded.settings
    try:
        engine = prepare_database(settings)
    except RuntimeError as exc:
        fail(str(exc))
    try:
        board = asyncio.run(_planned(settings, engine))
    finally:
        engine.dispose()
    from bot.jobs import describe

    now = datetime.now(UTC)
    zone = ZoneInfo(settings.bot.timezone)
    rows = board.listing(now)
    if as_json:
        for entry, next_run in rows:
            row: dict[str, Any] = {
                "id": entry.id,
                "kind": entry.kind,
                "account": entry.account,
                "trigger": str(entry.trigger),
                "next_run": _utc(next_run),
            }
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    if not rows:
        click.echo("这个配置没有周期任务 (no periodic jobs)")
        return
    click.echo(f"周期任务 (periodic jobs)，时间按 {settings.bot.timezone}：")
    for entry, next_run in rows:
        when = next_run.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if next_run else "不再运行"
        click.echo(f"  {entry.id}  {entry.what}")
        click.echo(f"      {describe(entry.trigger)} · 下次 {when}")


def _utc(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat() if moment else None


class _ListedForward:
    """Stands in for the 线报 pipeline, whose job is listed here and never run (building the real one
    would build its remaker over leagues that are named, not opened)."""

    async def tick(self) -> None:
        return None


async def _planned(settings: Settings, engine: Engine) -> Jobs:
    """The jobs as `tuike run` registers them (the same composition), on a scheduler that never starts."""
    from bot.chat.base import ChatUnavailable
    from bot.compose import Composition, account_of, build_channels
    from bot.jobs import Jobs, plan
    from bot.leagues.base import League
    from bot.leagues.setup import enabled_leagues

    board = Jobs(settings.bot.timezone)
    try:
        channels = build_channels(settings, None, engine)
    except (ChatUnavailable, ValueError) as exc:
        fail(str(exc))
    # the leagues are named, not opened: no job runs here, so none is called
    parts = Composition(
        settings, engine, leagues=cast("dict[str, League]", dict.fromkeys(enabled_leagues(settings)))
    )
    senders = {}
    for channel in channels:
        senders[account_of(channel)] = parts.dry_sender()
    pushes = parts.pushes(channels, senders, jobs=board)
    try:
        await plan.schedule(
            board,
            settings,
            pushes=pushes,
            orders=parts.order_sync(),
            channels=channels,
            forward=_ListedForward() if settings.forward.enabled else None,
        )
    finally:
        for channel in channels:
            client = getattr(channel, "client", None)  # a platform's HTTP client, made but never used
            if client is not None and hasattr(client, "aclose"):
                await client.aclose()
    return board
