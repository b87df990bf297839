"""`tuike union spots`: the mini-program union account's promotion spots (推广位) against its limit."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click
from sqlmodel import Session, select

from bot.cli.context import settings_of
from bot.cli.league import _pick, _with_leagues
from bot.leagues.base import League
from bot.leagues.union.league import UnionLeague
from bot.leagues.union.spots import SpotUsage
from bot.store.models import Group, LeagueSpot


@click.group("union")
def union() -> None:
    """The mini-program union (小程序联盟): promotion spots."""


def _holders(engine: Any) -> dict[str, list[str]]:
    """pid → names of the groups whose kept union identity is on it."""
    with Session(engine) as session:
        rows = session.exec(
            select(LeagueSpot.pid, Group.name, Group.room_id)
            .join(Group, Group.id == LeagueSpot.group_id)  # type: ignore[arg-type]
            .where(LeagueSpot.league == "union")
        ).all()
    holders: dict[str, list[str]] = {}
    for pid, name, room_id in rows:
        holders.setdefault(pid, []).append(name or room_id)
    return holders


@union.command("spots")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.pass_context
def spots(ctx: click.Context, as_json: bool) -> None:
    """List the union promotion spots, which groups use each, and how many of the limit are used."""
    settings = settings_of(ctx)

    async def work(leagues: dict[str, League], engine: Any) -> tuple[SpotUsage, dict[str, list[str]]]:
        league = _pick(leagues, "union")
        assert isinstance(league, UnionLeague)
        usage = await league.spots.usage()
        return usage, await asyncio.to_thread(_holders, engine)

    usage, holders = asyncio.run(_with_leagues(settings, work))
    on_account = {s.pid for s in usage.spots}
    # kept by groups but no longer on the account (deleted in the backend, or a past sandbox run)
    gone = {pid: names for pid, names in holders.items() if pid not in on_account}
    if as_json:
        click.echo(
            json.dumps(
                {
                    "used": usage.used,
                    "limit": usage.limit,
                    "full": usage.full,
                    "default_pid": usage.default_pid,
                    "spots": [
                        {
                            "pid": s.pid,
                            "name": s.name,
                            "default": s.pid == usage.default_pid,
                            "groups": holders.get(s.pid, []),
                        }
                        for s in usage.spots
                    ],
                    "missing": [{"pid": pid, "groups": names} for pid, names in sorted(gone.items())],
                },
                ensure_ascii=False,
            )
        )
        return
    state = "已满，新群共用默认推广位" if usage.full else f"还能建 {usage.limit - usage.used} 个"
    click.echo(f"推广位 {usage.used} / {usage.limit}（{state}）")
    for s in usage.spots:
        mark = "  [默认]" if s.pid == usage.default_pid else ""
        groups = "、".join(holders.get(s.pid, [])) or "-"
        click.echo(f"  {s.name:<22} {s.pid}{mark}\n      群: {groups}")
    if gone:
        click.echo(
            "群里记着、账号里现在没有的推广位（被删了的，下次用时自动换新的；沙盒重启后的，用到时恢复）："
        )
        for pid, names in sorted(gone.items()):
            click.echo(f"  {pid}  群: {'、'.join(names)}")
