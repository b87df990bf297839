"""`tuike pdd register`: the 备案 (registration) link for a group's PDD PID, and whether it is done.

PDD refuses to make links for a PID that is not registered for the member; the bot then tells the
operator to run this. The link comes from `pdd.ddk.rp.prom.url.generate` (channel_type 10); the
operator opens it in the PDD app and agrees; `--status` asks `pdd.ddk.member.authority.query`.
"""

from __future__ import annotations

import asyncio
import json
import sys
from contextlib import AsyncExitStack
from typing import Any

import click

from bot.cli.context import settings_of
from bot.leagues.base import LeagueError, Spot
from bot.leagues.pdd.league import PddLeague
from bot.leagues.setup import default_spots, open_leagues
from bot.services.attribution import GroupSpots
from bot.store import db
from bot.store.groups import find_group


@click.group("pdd")
def pdd() -> None:
    """拼多多 多多进宝: PID registration (备案)."""


@pdd.command("register")
@click.option("--group", default=None, help="Group name or room id (default: the operator's own PID).")
@click.option("--status", "status_only", is_flag=True, help="Only say whether the PID is registered.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.pass_context
def register(ctx: click.Context, group: str | None, status_only: bool, as_json: bool) -> None:
    """Print the 备案 link for a group's PDD PID (made now if the group has none yet), or its status."""
    settings = settings_of(ctx)

    async def work() -> dict[str, Any]:
        engine = db.make_engine(settings.database_url)
        if db.is_sqlite(settings.database_url):
            db.upgrade(engine)
        try:
            async with AsyncExitStack() as stack:
                leagues = await open_leagues(settings, engine, stack)
                league = leagues.get("pdd")
                if not isinstance(league, PddLeague):
                    click.echo("拼多多联盟没有启用（[leagues.pdd] enabled = true）", err=True)
                    sys.exit(2)
                spot: Spot = default_spots(settings)["pdd"]
                if group:
                    row = await asyncio.to_thread(find_group, engine, group)
                    if row is None:
                        click.echo(f"没有这个群：{group}", err=True)
                        sys.exit(2)
                    spots = GroupSpots(engine, default_spots(settings), issuers={"pdd": league})
                    spot = await spots.for_group(row, "pdd")
                if not spot.pid:
                    click.echo("没有可用的推广位：在 [leagues.pdd] pid 里填上你的推广位", err=True)
                    sys.exit(2)
                registered = await league.is_registered(spot.pid, spot.tag)
                link = "" if registered or status_only else await league.registration_link(spot.pid, spot.tag)
                return {"group": group or "", "pid": spot.pid, "registered": registered, "url": link}
        except LeagueError as exc:
            click.echo(f"联盟出错 (league error): {exc}", err=True)
            sys.exit(1)
        finally:
            engine.dispose()

    result = asyncio.run(work())
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    who = f"群「{group}」的推广位" if group else "你的推广位"
    if result["registered"]:
        click.echo(f"{who} {result['pid']} 已备案，可以正常生成推广链接。")
    elif status_only:
        click.echo(f"{who} {result['pid']} 还没有备案。去掉 --status 再运行一次，拿到备案链接。")
    else:
        click.echo(f"{who} {result['pid']} 还没有备案。用拼多多 App 打开下面的链接并确认授权：")
        click.echo(result["url"])
        click.echo("完成后运行同一条命令加 --status 确认。")
