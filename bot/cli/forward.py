"""`tuike forward`: 线报 forwarding from the command line.

`tuike forward test TEXT [--group G] [--json]` shows what group G would receive if TEXT were posted in
a source group — every link and 口令 remade with G's own, through the same composition `tuike run`
uses (leagues, link cache, G's identity on each league, the template `forward`); nothing is sent or
recorded as forwarded. Without --group, the operator's default identity on each league. TEXT "-"
reads the text from stdin (a 线报 spans lines). With --json, one JSON object, exactly:
`{"forward": bool, "reason": str (only when forward is false), "text": str, "links": [{"platform",
"from", "to"}]}`. Exit 0 when it would be forwarded, 1 when not, 2 for bad input (an unknown group).

`tuike forward log [--json] [--limit N]` is `bot.cli.forward_log.run(args)` (the delivery half's):
`args` has `json` (bool), `limit` (int) and `settings` (the loaded `Settings`); `run` returns None or
an exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
from contextlib import AsyncExitStack
from typing import Any

import click

from bot.cli.context import fail, one_group, settings_of
from bot.compose import Composition
from bot.config import Settings
from bot.forward.remake import Remade
from bot.leagues.setup import open_leagues
from bot.services.platforms import PLATFORM_NAMES
from bot.store import db
from bot.store.models import Group

LOG_MODULE = "bot.cli.forward_log"


def as_json(remade: Remade) -> dict[str, Any]:
    """The object `tuike forward test --json` prints (the issue's interface: keep it exactly)."""
    out: dict[str, Any] = {"forward": remade.forward}
    if not remade.forward:
        out["reason"] = remade.reason or ""
    out["text"] = remade.text
    out["links"] = [{"platform": s.platform, "from": s.source, "to": s.target} for s in remade.links]
    return out


def readable(remade: Remade, group: Group | None) -> str:
    """What an operator reads: the forward as the group gets it and what was swapped, or why not."""
    where = f"「{group.name or group.room_id}」" if group is not None else "（没指定群，用默认推广身份）"
    if not remade.forward:
        later = "；联盟恢复后会自动重试" if remade.transient else ""
        return f"不会转发到{where}：{remade.reason}{later}"
    lines = [f"会转发到{where}的内容：", "", remade.text, "", f"换了 {len(remade.links)} 处链接/口令："]
    for s in remade.links:
        lines.append(f"  {PLATFORM_NAMES.get(s.platform, s.platform)}  {s.source}  →  {s.target}")
    return "\n".join(lines)


async def _remake(settings: Settings, text: str, group_name: str | None) -> tuple[Remade, Group | None]:
    engine = db.make_engine(settings.database_url)
    if db.is_sqlite(settings.database_url):
        await asyncio.to_thread(db.upgrade, engine)
    try:
        group = await asyncio.to_thread(one_group, engine, group_name) if group_name else None
        async with AsyncExitStack() as stack:
            leagues = await open_leagues(settings, engine, stack)
            if not leagues:
                fail("没有启用的联盟 (no league enabled: see [leagues.*] enabled)")
            remaker = Composition(settings, engine, leagues=leagues).remaker
            prepared = await remaker.prepare(text)
            # no --group: a group with no row, which every league answers with the operator's default
            target = group if group is not None else Group(room_id="", name="")
            return await remaker.for_group(prepared, target), group
    finally:
        engine.dispose()


@click.group("forward")
def forward() -> None:
    """线报 forwarding: what a group would receive for a message, and what became of recent ones."""


@forward.command("test")
@click.argument("text")
@click.option(
    "--group", "group_name", default=None, help="Group name or room id: the links are that group's."
)
@click.option("--json", "json_out", is_flag=True, help="One JSON object: forward, reason, text, links.")
@click.pass_context
def forward_test(ctx: click.Context, text: str, group_name: str | None, json_out: bool) -> None:
    """What group G would receive if TEXT were posted in a source group ("-" reads stdin); sends nothing."""
    settings = settings_of(ctx)
    if text == "-":
        text = sys.stdin.read()
    if not text.strip():
        fail("TEXT 是空的：给一条线报消息，或用 - 从标准输入读 (empty text)")
    remade, group = asyncio.run(_remake(settings, text, group_name))
    if json_out:
        click.echo(json.dumps(as_json(remade), ensure_ascii=False))
    else:
        click.echo(readable(remade, group))
    if not remade.forward:
        sys.exit(1)


@forward.command("log")
@click.option("--json", "json_out", is_flag=True, help="One JSON object per source message, one per line.")
@click.option(
    "--limit", default=20, show_default=True, type=click.IntRange(1, 1000), help="How many, newest first."
)
@click.pass_context
def forward_log(ctx: click.Context, json_out: bool, limit: int) -> None:
    """Recent source messages and what became of each: forwarded to N groups, or dropped and why."""
    try:
        module = importlib.import_module(LOG_MODULE)  # the delivery half's; loaded only when asked
    except ModuleNotFoundError as exc:
        if exc.name != LOG_MODULE:
            raise
        fail("这个版本还没有线报转发记录 (tuike forward log is not in this build)")
    code = module.run(argparse.Namespace(json=json_out, limit=limit, settings=settings_of(ctx)))
    if code:
        sys.exit(code)
