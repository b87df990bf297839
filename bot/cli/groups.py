"""`tuike groups [--json]`, `tuike groups subscribe|unsubscribe GROUP …`: the groups the bot knows,
with the ids the config needs, and what an owner can do in chat, from the command line.

GROUP is a room id, or a name only one group has (`one_group`), as in every command. A change is
written to the store; a running bot picks it up from its minute tick (the catch-all that pushes any
due slot), and its per-slot jobs on its next restart or owner command.
"""

from __future__ import annotations

import json
from typing import Any

import click

from bot.cli.context import fail, one_group, settings_of
from bot.config import Settings


def _engine(settings: Settings):  # type: ignore[no-untyped-def]
    from bot.store import db

    engine = db.make_engine(settings.database_url)
    if db.is_sqlite(settings.database_url):
        db.upgrade(engine)
    return engine


@click.group("groups", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per group.")
@click.pass_context
def groups(ctx: click.Context, as_json: bool) -> None:
    """The groups the bot knows: room id, name, account, owner and subscriptions."""
    if ctx.invoked_subcommand is not None:
        return
    from bot.store import subscriptions
    from bot.store.groups import all_groups

    settings = settings_of(ctx)
    engine = _engine(settings)
    try:
        rows: list[dict[str, Any]] = []
        for group in all_groups(engine):
            assert group.id is not None
            subs = subscriptions.for_group(engine, group.id)
            rows.append(
                {
                    "room_id": group.room_id,
                    "name": group.name,
                    "account": group.account,
                    "owner_id": group.owner_id,
                    "owner_name": group.owner_name,
                    "daily": [
                        {"at": s.at_time, "categories": [c for c in s.categories.split(",") if c]}
                        for s in subs
                        if s.kind == "daily"
                    ],
                    "live": any(s.kind == "live" for s in subs),
                }
            )
        wanted = {c for row in rows for d in row["daily"] for c in d["categories"]}
        names = _category_names(settings, engine) if wanted else {}
    finally:
        engine.dispose()
    for row in rows:
        for d in row["daily"]:
            d["category_names"] = [names.get(c, c) for c in d["categories"]]
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    if not rows:
        click.echo("机器人还不认识任何群：群里有人说话后就会出现在这里 (no groups yet)")
        return
    for row in rows:
        click.echo(_line(row))


TREE_SECONDS = 10.0
"""How long `tuike groups` waits for the category tree before showing category ids as they are."""


def _category_names(settings: Settings, engine: Any) -> dict[str, str]:
    """Category id → name from the league 订阅 matches categories against (Channels), as the console
    shows them; {} when it is not enabled or does not answer in time (the ids are shown then)."""
    import asyncio
    from contextlib import AsyncExitStack

    from bot.leagues.base import LeagueError
    from bot.leagues.setup import open_leagues

    async def read() -> dict[str, str]:
        async with AsyncExitStack() as stack:
            leagues = await open_leagues(settings, engine, stack)
            league = leagues.get("channels")
            if league is None:
                return {}
            async with asyncio.timeout(TREE_SECONDS):
                return {c.category_id: c.name for c in await league.categories()}

    try:
        return asyncio.run(read())
    except (LeagueError, TimeoutError):
        return {}


def _line(row: dict[str, Any]) -> str:
    pushes = [
        f"每日好物 {d['at']}"
        + (
            f"（{len(d['categories'])} 个类目）「{'、'.join(d['category_names'])}」"
            if d["categories"]
            else ""
        )
        for d in row["daily"]
    ]
    if row["live"]:
        pushes.append("直播提醒")
    owner = ""
    if row["owner_name"]:
        owner = (
            f"  群主 {row['owner_name']}（{row['owner_id']}）"
            if row["owner_id"]
            else f"  群主 {row['owner_name']}"
        )
    elif row["owner_id"]:
        owner = f"  群主 {row['owner_id']}"
    account = f"  账号 {row['account']}" if row["account"] else ""
    return f"{row['room_id']}  「{row['name']}」{account}{owner}  订阅：{'、'.join(pushes) or '无'}"


@groups.command("subscribe")
@click.argument("group")
@click.argument("kind", type=click.Choice(["daily", "live"]))
@click.option("--at", "at_time", default=None, help="HH:MM for a daily slot (default [push] default_time).")
@click.pass_context
def subscribe(ctx: click.Context, group: str, kind: str, at_time: str | None) -> None:
    """Subscribe GROUP to daily deals at a time (one more slot, or replacing the one at that time),
    or to live reminders — as the owner's 订阅 in chat."""
    from bot.services.subscriptions import BAD_TIMES, parse_time
    from bot.store import subscriptions

    settings = settings_of(ctx)
    engine = _engine(settings)
    try:
        found = one_group(engine, group)
        assert found.id is not None
        if kind == "live":
            subscriptions.subscribe(engine, found.id, "live")
            talents = len(settings.leagues.channels.talents)
            click.echo(
                f"「{found.name}」已开启直播提醒"
                + ("" if talents else "；但 [leagues.channels] talents 还没有设置，暂时不会有提醒")
            )
            return
        given = parse_time(at_time) if at_time else settings.push.default_time
        if given is None or given in BAD_TIMES:
            fail(f"时间看不懂：{at_time}（写成 08:30 这样）(bad time)")
        replaced = subscriptions.active_slot(engine, found.id, given) is not None
        subscriptions.subscribe(engine, found.id, "daily", given)
        slots = [s.at_time for s in subscriptions.for_group(engine, found.id) if s.kind == "daily"]
        verb = "已替换" if replaced else "已订阅"
        click.echo(f"「{found.name}」{verb}每天 {given} 的好物推送；现在的时间：{'、'.join(slots)}")
    finally:
        engine.dispose()


@groups.command("unsubscribe")
@click.argument("group")
@click.argument("kind", type=click.Choice(["daily", "live", "all"]), default="all")
@click.option("--at", "at_time", default=None, help="HH:MM: only this daily slot.")
@click.pass_context
def unsubscribe(ctx: click.Context, group: str, kind: str, at_time: str | None) -> None:
    """Cancel GROUP's daily deals (all, or one slot with --at), live reminders, or everything."""
    from bot.services.subscriptions import BAD_TIMES, parse_time
    from bot.store import subscriptions

    engine = _engine(settings_of(ctx))
    try:
        found = one_group(engine, group)
        assert found.id is not None
        slot = parse_time(at_time) if at_time else None
        if at_time and (slot is None or slot in BAD_TIMES):
            fail(f"时间看不懂：{at_time}（写成 08:30 这样）(bad time)")
        if slot is not None:
            kind = "daily"
        removed = subscriptions.unsubscribe(engine, found.id, None if kind == "all" else kind, slot)
        if not removed:
            fail(f"「{found.name}」没有这样的订阅 (nothing to cancel)")
        click.echo(f"「{found.name}」已取消 {removed} 项订阅")
    finally:
        engine.dispose()
