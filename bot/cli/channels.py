"""`tuike channels feeds|windows|clues`: what the WeChat Channels organisation holds beyond products:
the followed talents' promotable feeds and shop windows, and its clues (自营线索). Read-only."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import click

from bot.cli.context import fail, settings_of
from bot.cli.league import _with_leagues
from bot.leagues.base import League
from bot.leagues.capabilities import HasClues, HasFeeds, HasWindows
from bot.leagues.organisation import Clue, Feed, Window
from bot.render.filters import yuan


@click.group("channels")
def channels() -> None:
    """WeChat Channels (视频号) organisation: talents' feeds and windows, clues."""


def _league(leagues: dict[str, League], capability: type) -> Any:
    """The enabled league that can answer (found by capability: the Channels league)."""
    league = next((lg for lg in leagues.values() if isinstance(lg, capability)), None)
    if league is None:
        fail(f"没有启用能查这个的联盟：看配置里的 [leagues.channels] enabled ({capability.__name__})")
    return league


@channels.command("feeds")
@click.option("--talent", "talent", default=None, help="One talent's appid (default: the followed talents).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per feed.")
@click.pass_context
def feeds(ctx: click.Context, talent: str | None, as_json: bool) -> None:
    """The promotable feeds (视频号 videos with a product) of the talents the operator follows."""
    settings = settings_of(ctx)

    async def work(leagues: dict[str, League], _engine: Any) -> list[Feed]:
        league: HasFeeds = _league(leagues, HasFeeds)
        talents = [talent] if talent else list(league.followed_talents)
        if not talents:
            fail(
                "没有关注的达人：在 [leagues.channels] talents 里加上达人，或用 --talent APPID 查一位 "
                "(no talents followed)"
            )
        return await league.feeds(talents)

    found = asyncio.run(_with_leagues(settings, work))
    if not found:
        click.echo("这些达人现在没有可推广的视频 (no promotable feeds)", err=True)
    for f in found:
        if as_json:
            row = {
                "export_id": f.export_id,
                "talent_appid": f.talent_appid,
                "title": f.title,
                "products": list(f.products),
            }
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            price = f"  {yuan(f.price_fen)}" if f.price_fen is not None else ""
            who = f.talent_name or f.talent_appid
            click.echo(
                f"[{who}] {f.title}{price}  预计佣金 {yuan(f.predict_commission_fen)}\n    {f.export_id}"
            )


@channels.command("windows")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per talent.")
@click.pass_context
def windows(ctx: click.Context, as_json: bool) -> None:
    """What each followed talent's shop window (橱窗) holds (talents with an openfinderid)."""
    settings = settings_of(ctx)

    async def work(leagues: dict[str, League], _engine: Any) -> list[Window]:
        league: HasWindows = _league(leagues, HasWindows)
        return await league.windows()

    found = asyncio.run(_with_leagues(settings, work))
    if not found:
        click.echo(
            "没有可读的橱窗：给 [leagues.channels] talents 里的达人填上 openfinderid（达人授权橱窗后得到）",
            err=True,
        )
    for w in found:
        if as_json:
            row = {
                "talent_appid": w.talent_appid,
                "talent_name": w.talent_name,
                "total": w.total,
                "error": w.error,
                "products": [
                    {"product_id": i.product_id, "shop_id": i.shop_id, "title": i.title} for i in w.items
                ],
            }
            click.echo(json.dumps(row, ensure_ascii=False))
            continue
        who = w.talent_name or w.talent_appid
        if w.error:
            click.echo(f"{who}：读不了橱窗（{w.error}）")
            continue
        click.echo(f"{who}：橱窗里 {w.total} 件商品")
        for i in w.items:
            click.echo(f"    {i.product_id}  {i.title or '（只列 id）'}")


@channels.command("clues")
@click.option("--days", type=click.IntRange(1, 90), default=7, show_default=True, help="Days back.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per clue.")
@click.pass_context
def clues(ctx: click.Context, days: int, as_json: bool) -> None:
    """The organisation's clues (自营线索: own goods sold through its sharers, no commission)."""
    settings = settings_of(ctx)
    zone = ZoneInfo(settings.bot.timezone)
    until = datetime.now(UTC)

    async def work(leagues: dict[str, League], _engine: Any) -> list[Clue]:
        league: HasClues = _league(leagues, HasClues)
        return await league.clues(until - timedelta(days=days), until)

    found = asyncio.run(_with_leagues(settings, work))
    if not found:
        click.echo(f"最近 {days} 天没有线索 (no clues)", err=True)
    for c in found:
        if as_json:
            row = {
                "order_id": c.order_id,
                "sku_id": c.sku_id,
                "product_id": c.product_id,
                "title": c.title,
                "paid_fen": c.paid_fen,
                "status": c.status,
                "sharer_appid": c.sharer_appid,
                "created_at": c.created_at.astimezone(zone).isoformat(),
            }
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            click.echo(
                f"{c.created_at.astimezone(zone):%m-%d %H:%M}  {c.order_id}  {c.title[:28]}  "
                f"{yuan(c.paid_fen)}  {c.status}  推客 {c.sharer_name or c.sharer_appid}"
            )
