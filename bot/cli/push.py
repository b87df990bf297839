"""`tuike push daily --group G [--dry-run]` and `tuike push status`."""

from __future__ import annotations

import asyncio
import sys
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import click

from bot.chat.base import Image, LinkCard, MiniProgramCard, Outgoing, Text
from bot.cli.context import one_group, settings_of
from bot.config import Settings
from bot.leagues.linkcache import LinkCache
from bot.leagues.setup import open_leagues
from bot.push import claims
from bot.push.sender import PacedSender
from bot.push.service import PushService, daily_slot_key, next_slot
from bot.render import Renderer
from bot.store import db, subscriptions
from bot.store.models import Subscription


def _engine(settings: Settings):  # type: ignore[no-untyped-def]
    engine = db.make_engine(settings.database_url)
    if db.is_sqlite(settings.database_url):
        db.upgrade(engine)
    return engine


def _show(outgoing: Outgoing) -> str:
    lines = []
    for part in outgoing.reply.parts:
        if isinstance(part, Text):
            lines.append(part.text)
        elif isinstance(part, Image):
            lines.append(f"[图片 {part.name}] {part.url}")
        elif isinstance(part, LinkCard | MiniProgramCard):
            lines.append(f"[卡片] {part.title}")
    return "\n".join(lines)


@click.group("push")
def push() -> None:
    """Daily deals and live reminders."""


@push.command("daily")
@click.option("--group", "group_name", required=True, help="Group name or room id.")
@click.option("--dry-run", is_flag=True, help="Print what would be sent; send and record nothing.")
@click.pass_context
def daily(ctx: click.Context, group_name: str, dry_run: bool) -> None:
    """Push today's daily deals to one group now (a manual slot; never the scheduled one twice)."""
    settings = settings_of(ctx)
    from bot.app import build_channel, build_renderer
    from bot.leagues.setup import default_spots, spot_issuers
    from bot.push.service import daily_source, group_spot
    from bot.services.attribution import GroupSpots

    engine = _engine(settings)
    group = one_group(engine, group_name)
    assert group.id is not None
    sub = next((s for s in subscriptions.for_group(engine, group.id) if s.kind == "daily"), None)
    sub = sub or Subscription(group_id=group.id, kind="daily", at_time=settings.push.default_time)

    async def work() -> None:
        async with AsyncExitStack() as stack:
            leagues = await open_leagues(settings, engine, stack)
            renderer: Renderer = build_renderer(settings)
            # the group's own account sends (accounts own groups); a group from before accounts: the first
            kind = group.account.split(":", 1)[0] if group.account else None
            if kind not in (None, *settings.chat.kinds) or kind == "ilink":
                click.echo(f"「{group.name}」由 {group.account} 服务，这里的配置不能给它推送", err=True)
                sys.exit(2)
            channel = build_channel(settings, kind=kind, engine=engine)
            sender = PacedSender(channel.send, rate_per_minute=None, jitter=(0, 0))
            spots = GroupSpots(engine, default_spots(settings), issuers=spot_issuers(leagues))
            daily_league, daily_spots = daily_source(settings, leagues, spots)
            service = PushService(
                settings,
                engine,
                leagues.get("channels"),
                renderer,
                sender,
                LinkCache(engine),
                group_spot(settings),
                daily_league=daily_league,
                daily_spots=daily_spots,
            )
            now = datetime.now(UTC)
            composed = await service.compose_daily(group, sub, now)
            if composed is None:
                click.echo("没有可以推送的商品 (nothing to push)")
                return
            outgoing, product_ids = composed
            if dry_run:
                click.echo(f"将发往「{group.name}」:\n{_show(outgoing)}")
                return
            sender.start()
            slot = "manual:" + now.astimezone(ZoneInfo(settings.bot.timezone)).strftime("%Y-%m-%dT%H:%M:%S")
            ok = await service.enqueue(group.id, slot, outgoing, product_ids)  # type: ignore[arg-type]
            await sender.close()
            click.echo(("已推送" if ok else "推送失败") + f" {slot} → {group.name}")

    asyncio.run(work())
    engine.dispose()


@push.command("status")
@click.pass_context
def status(ctx: click.Context) -> None:
    """Upcoming slots, the last results per group, and failures."""
    settings = settings_of(ctx)
    engine = _engine(settings)
    zone = ZoneInfo(settings.bot.timezone)
    now = datetime.now(UTC)
    click.echo("即将推送 (upcoming):")
    rows = subscriptions.active(engine)
    for sub, group in rows:
        if sub.kind == "daily":
            slot = next_slot(sub.at_time, now, zone)
            click.echo(f"  {group.name}  每日好物  {daily_slot_key(slot, zone)[6:]}")
        else:
            click.echo(f"  {group.name}  直播提醒")
    if not rows:
        click.echo("  (没有订阅)")
    names = subscriptions.group_names(engine)  # every group: one that unsubscribed still has a name
    recent = claims.latest(engine, 20)
    click.echo("最近结果 (recent):")
    for row in recent:
        name = names.get(row.group_id, f"group {row.group_id}")
        when = row.claimed_at.astimezone(zone).strftime("%m-%d %H:%M")
        click.echo(f"  {when}  {name}  {row.slot}  {row.status}" + (f"  {row.detail}" if row.detail else ""))
    counts = claims.counts_since(engine, now - timedelta(days=7))  # every row of the week, not a page
    failures = counts.get(claims.FAILED, 0) + counts.get(claims.INTERRUPTED, 0)
    click.echo(f"失败/中断 (failed or interrupted, 7 days): {failures}")
    engine.dispose()
