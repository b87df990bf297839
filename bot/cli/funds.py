"""`tuike funds [--league L] [--days N] [--json]`: each league's organisation funds, reconciled (对账)
against what order sync counted as settled over the same days."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from bot.cli.context import fail, settings_of
from bot.cli.league import LEAGUE_NAMES, _with_leagues
from bot.leagues.base import League
from bot.leagues.capabilities import HasFunds
from bot.leagues.organisation import FLOW_LABELS
from bot.leagues.registry import short_name
from bot.orders.funds import Reconciliation, period, reconcile
from bot.render.filters import yuan


@click.command("funds")
@click.option(
    "--league",
    "league_name",
    type=click.Choice(LEAGUE_NAMES),
    help="One league (default: every one with funds).",
)
@click.option(
    "--days", type=click.IntRange(1, 365), default=None, help="Days back (default: [orders] funds_days)."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per league.")
@click.pass_context
def funds(ctx: click.Context, league_name: str | None, days: int | None, as_json: bool) -> None:
    """The organisation's funds per league, reconciled against the orders counted as settled."""
    settings = settings_of(ctx)
    options = settings.orders
    zone = ZoneInfo(settings.bot.timezone)

    async def work(leagues: dict[str, League], engine: Any) -> list[Reconciliation]:
        chosen = [
            lg for name, lg in leagues.items() if league_name in (None, name) and isinstance(lg, HasFunds)
        ]
        if not chosen:
            which = f"联盟 {league_name}" if league_name else "启用的联盟里"
            fail(f"{which}没有机构资金可查 (no enabled league with funds)")
        since, until = period(datetime.now(UTC), days or options.funds_days)
        return [
            await reconcile(engine, lg, since, until, tolerance_fen=options.funds_tolerance_fen)
            for lg in chosen
            if isinstance(lg, HasFunds)
        ]

    results = asyncio.run(_with_leagues(settings, work))
    refused = [r for r in results if not r.ok]
    for r in refused:
        click.echo(f"{short_name(r.league)}：{r.not_permitted or r.error}", err=True)
    for r in results:
        if not r.ok:
            continue
        if as_json:
            click.echo(json.dumps(r.as_json(zone), ensure_ascii=False))
        else:
            click.echo(_text(r, zone))
    if len(refused) == len(results):
        sys.exit(1)


def _text(r: Reconciliation, zone: ZoneInfo) -> str:
    day = "%m-%d"
    lines = [
        f"{short_name(r.league)} 对账（{r.since.astimezone(zone):{day}} 至 {r.until.astimezone(zone):{day}}）",
        f"  可提现 {yuan(r.available_fen)}　待结算 {yuan(r.pending_fen)}",
        f"  分账流水 {yuan(r.commission_flows_fen)}　订单同步算作已结算 {yuan(r.settled_orders_fen)}　"
        f"差额 {yuan(r.difference_fen)}" + ("（超出容差）" if r.beyond_tolerance else ""),
        f"  流水 {len(r.flows)} 条：",
    ]
    for f in r.flows:
        order = f"　订单 {f.order_id}" if f.order_id else ""
        lines.append(
            f"    {f.time.astimezone(zone):%m-%d %H:%M}  {FLOW_LABELS.get(f.type, f.type)}  "
            f"{yuan(f.amount_fen)}  {f.flow_id}{order}"
        )
    if r.missing_flows:
        lines.append("  已结算、但没有分账流水的订单：")
        lines += [
            f"    {o.order_id}  {yuan(o.commission_fen)}  {o.title[:24]}  {o.group or '未归属'}"
            for o in r.missing_flows
        ]
    if r.extra_flows:
        lines.append("  有分账流水、但订单同步没有算作已结算的：")
        for u in r.extra_flows:
            seen = f"本地状态 {u.order.status}" if u.order else "本地没有这笔订单"
            lines.append(f"    {u.flow.order_id or u.flow.flow_id}  {yuan(u.flow.amount_fen)}  {seen}")
    return "\n".join(lines)
