"""`tuike forward log [--json] [--limit N]`: recent 线报 source messages, newest first, with what became
of each — forwarded to N groups, held for the end of the quiet hours, queued (being worked on or
retried), or dropped and why.

`run(args)` is called by the `forward` command group (bot/cli/forward.py) with `args.json`,
`args.limit` and `args.settings`. With --json, one JSON object per line, exactly: `id`, `received_at`
(UTC, ISO 8601), `source` (room id), `source_name`, `sender`, `status` (forwarded | dropped | held |
queued), `groups` (how many target groups it reached), `reason` ("" when forwarded), `keys` (the
products' dedupe keys, "league:item"), `excerpt`, and `next_try_at` (UTC, or null).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from bot.config import Settings
from bot.store.models import ForwardLog

STATUS_WORDS = {"forwarded": "已转发", "dropped": "已丢弃", "held": "免打扰暂存", "queued": "排队中"}


def as_json(row: ForwardLog) -> dict[str, Any]:
    return {
        "id": row.id,
        "received_at": _utc(row.received_at),
        "source": row.source_room,
        "source_name": row.source_name,
        "sender": row.sender_id,
        "status": row.status,
        "groups": row.groups,
        "reason": row.reason,
        "keys": [k for k in row.keys.split(",") if k],
        "excerpt": row.excerpt,
        "next_try_at": _utc(row.next_try_at),
    }


def _utc(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat() if moment else None


def outcome(row: ForwardLog) -> str:
    """What became of the message, in a sentence (the console says it the same way)."""
    if row.status == "forwarded":
        return f"已转发到 {row.groups} 个群"
    if row.status == "dropped":
        return f"已丢弃：{row.reason}"
    if row.status == "held":
        return f"免打扰暂存：{row.reason}"
    if row.groups:
        return f"已发 {row.groups} 个群，其余排队中：{row.reason}"
    return f"排队中{('：' + row.reason) if row.reason else ''}"


def run(args: Any) -> int | None:
    settings: Settings = args.settings
    from bot.compose import prepare_database
    from bot.store import forward

    try:
        engine = prepare_database(settings)
    except RuntimeError as exc:
        click.echo(str(exc), err=True)
        return 2
    try:
        rows = forward.recent(engine, int(args.limit))
    finally:
        engine.dispose()
    if args.json:
        for row in rows:
            click.echo(json.dumps(as_json(row), ensure_ascii=False))
        return None
    if not rows:
        state = "" if settings.forward.enabled else "（线报转发没有开启：[forward] enabled = true）"
        click.echo(f"还没有收到线报{state} (no source messages yet)")
        return None
    zone = ZoneInfo(settings.bot.timezone)
    click.echo(f"最近 {len(rows)} 条线报，新的在前，时间按 {settings.bot.timezone}：")
    for row in rows:
        when = row.received_at.astimezone(zone).strftime("%m-%d %H:%M")
        source = row.source_name or row.source_room
        click.echo(f"  #{row.id} {when} 来自 {source}：{row.excerpt}")
        click.echo(f"      {outcome(row)}")
    return None
