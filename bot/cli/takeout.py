"""`tuike takeout [--group G] [--json]`: today's takeout (外卖红包) links, made for a group.

The same links the group's members get for 外卖 (`bot.services.takeout`), made for the group's sid on
each enabled takeout league. With `--json`, one JSON object per link and line, exactly:
`{"platform": "eleme"|"meituan", "title": …, "url": …, "mini_program": {"appid": …, "path": …}}`
(`mini_program` only when the league gives one). A league that gives no link is said on stderr; the
exit code is 1 when no league gave one.
"""

from __future__ import annotations

import asyncio
import json
import sys
from contextlib import AsyncExitStack

import click

from bot.cli.context import settings_of
from bot.compose import Composition
from bot.config import Settings
from bot.leagues.setup import open_leagues
from bot.services.platforms import PLATFORM_NAMES
from bot.services.takeout import TakeoutAnswer
from bot.store import db
from bot.store.groups import find_group


async def _links(settings: Settings, group: str | None) -> TakeoutAnswer:
    engine = db.make_engine(settings.database_url)
    if db.is_sqlite(settings.database_url):
        db.upgrade(engine)
    try:
        async with AsyncExitStack() as stack:
            leagues = await open_leagues(settings, engine, stack)
            parts = Composition(settings, engine, leagues=leagues)
            if not parts.takeout.available:
                click.echo(
                    "没有启用外卖联盟 (no takeout league enabled: see [leagues.eleme] / [leagues.meituan])",
                    err=True,
                )
                sys.exit(2)
            row = await asyncio.to_thread(find_group, engine, group) if group else None
            if group and row is None:
                click.echo(f"没有这个群：{group}", err=True)
                sys.exit(2)
            return await parts.takeout.for_group(row)
    finally:
        engine.dispose()


@click.command()
@click.option("--group", default=None, help="Group name or room id: the links are made for that group's sid.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per link, one per line.")
@click.pass_context
def takeout(ctx: click.Context, group: str | None, as_json: bool) -> None:
    """Today's takeout coupon links (饿了么, 美团) made for a group, as members get them for 外卖."""
    answer = asyncio.run(_links(settings_of(ctx), group))
    for link in answer.links:
        if as_json:
            click.echo(json.dumps(link.as_json(), ensure_ascii=False))
        else:
            mini = link.mini_program
            click.echo(f"{PLATFORM_NAMES.get(link.platform, link.platform)}｜{link.title}\n  {link.url}")
            if mini is not None:
                click.echo(f"  小程序 appid={mini['appid']} path={mini['path']}")
    for name, why in answer.errors.items():
        click.echo(f"{PLATFORM_NAMES.get(name, name)}没有给出链接 (no link from {name}): {why}", err=True)
    if not answer.links:
        sys.exit(1)
