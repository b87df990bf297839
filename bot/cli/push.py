"""`tuike push daily --group G [--dry-run]` and `tuike push status`."""

from __future__ import annotations

import asyncio
import json
import sys
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import click

from bot.chat import registry
from bot.chat.base import Image, LinkCard, MiniProgramCard, Outgoing, Text
from bot.cli.context import one_group, settings_of
from bot.config import Settings
from bot.push import claims
from bot.push.sender import PacedSender
from bot.push.slots import daily_slot_key, next_slot
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
    from bot.compose import Composition

    engine = _engine(settings)
    group = one_group(engine, group_name)
    assert group.id is not None
    sub = next((s for s in subscriptions.for_group(engine, group.id) if s.kind == "daily"), None)
    sub = sub or Subscription(group_id=group.id, kind="daily", at_time=settings.push.default_time)

    async def work() -> None:
        async with AsyncExitStack() as stack:
            parts = Composition(settings, engine)
            await parts.open_leagues(stack)
            # the group's own account sends (accounts own groups); a group from before accounts: the first
            kind = group.account.split(":", 1)[0] if group.account else None
            if kind is not None and (
                kind not in settings.chat.kinds or not registry.capabilities(kind).can_push
            ):
                click.echo(f"「{group.name}」由 {group.account} 服务，这里的配置不能给它推送", err=True)
                sys.exit(2)
            channel = parts.channel(kind, account=group.account or None)
            sender = PacedSender(channel.send, rate_per_minute=None, jitter=(0, 0))  # one message, at once
            service = parts.push_service(sender)
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
@click.option("--json", "as_json", is_flag=True, help="One JSON object: upcoming, recent, failures.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Upcoming slots, the last results per group, and failures."""
    from bot.store.groups import all_groups

    settings = settings_of(ctx)
    engine = _engine(settings)
    zone = ZoneInfo(settings.bot.timezone)
    now = datetime.now(UTC)
    try:
        rows = subscriptions.active(engine)
        groups = {g.id: g for g in all_groups(engine)}  # every group: one that unsubscribed still has a name
        recent = claims.latest(engine, 20)
        counts = claims.counts_since(engine, now - timedelta(days=7))  # every row of the week, not a page
    finally:
        engine.dispose()
    failures = counts.get(claims.FAILED, 0) + counts.get(claims.INTERRUPTED, 0)
    upcoming = []
    for sub, group in rows:
        at = next_slot(sub.at_time, now, zone) if sub.kind == "daily" else None
        upcoming.append(
            {
                "room_id": group.room_id,
                "name": group.name,
                "kind": sub.kind,
                "at": at.astimezone(zone).isoformat() if at else None,
                "_slot": daily_slot_key(at, zone)[6:] if at else "",
            }
        )
    results = []
    for row in recent:
        known = groups.get(row.group_id)
        results.append(
            {
                "room_id": known.room_id if known else "",
                "name": known.name if known else f"group {row.group_id}",
                "slot": row.slot,
                "status": row.status,
                "detail": row.detail,
                "at": row.claimed_at.astimezone(zone).isoformat(),
                "_when": row.claimed_at.astimezone(zone).strftime("%m-%d %H:%M"),
            }
        )
    if as_json:
        out = {
            "timezone": settings.bot.timezone,
            "upcoming": [{k: v for k, v in u.items() if not k.startswith("_")} for u in upcoming],
            "recent": [{k: v for k, v in r.items() if not k.startswith("_")} for r in results],
            "failed_7_days": failures,
        }
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    click.echo(f"即将推送 (upcoming, {settings.bot.timezone}):")
    for u in upcoming:
        click.echo(
            f"  {u['name']}  每日好物  {u['_slot']}" if u["kind"] == "daily" else f"  {u['name']}  直播提醒"
        )
    if not upcoming:
        click.echo("  (没有订阅)")
    click.echo("最近结果 (recent):")
    for r in results:
        click.echo(
            f"  {r['_when']}  {r['name']}  {r['slot']}  {r['status']}"
            + (f"  {r['detail']}" if r["detail"] else "")
        )
    click.echo(f"失败/中断 (failed or interrupted, 7 days): {failures}")
