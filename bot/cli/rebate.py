"""`tuike rebate list [--all]` and `tuike rebate pay [--force] ID`: members' withdrawal requests, paid by
hand. A request that a refund uncovered after it was asked for is flagged in the list and refused by
`pay` unless `--force` (the money was transferred already)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import click

from bot.cli.context import fail, settings_of
from bot.store import db


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen) // 100}.{abs(fen) % 100:02d}"


@click.group("rebate")
def rebate() -> None:
    """Member rebates (返利): withdrawal requests to pay by hand."""


@rebate.command("list")
@click.option("--all", "show_all", is_flag=True, help="Paid requests too.")
@click.pass_context
def list_requests(ctx: click.Context, show_all: bool) -> None:
    """Withdrawal requests (unpaid ones unless --all), oldest first."""
    from bot.store.rebate import withdrawals

    settings = settings_of(ctx)
    engine = db.make_engine(settings.database_url)
    try:
        if db.is_sqlite(settings.database_url):
            db.upgrade(engine)
        found = withdrawals(engine, unpaid_only=not show_all)
    finally:
        engine.dispose()
    if not found:
        click.echo("没有待处理的提现申请" if not show_all else "还没有提现申请")
        return
    zone = ZoneInfo(settings.bot.timezone)
    click.echo(f"申请时间按 {settings.bot.timezone}：")
    for w in found:
        state = "已付" if w.paid else "待付"
        if w.shortfall_fen:
            state += f"（订单退款后余额差 {_yuan(w.shortfall_fen)}，先别付）"
        when = w.requested_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        click.echo(f"{w.id:>6}  {state}  {_yuan(w.amount_fen):>10}  {w.member_id}  {when}")


@rebate.command("pay")
@click.argument("request_id", type=int)
@click.option(
    "--force",
    is_flag=True,
    help="Record it even though a refund after the request left the member short (you paid already).",
)
@click.pass_context
def pay(ctx: click.Context, request_id: int, force: bool) -> None:
    """Record that withdrawal request ID was paid (the bot never moves money itself)."""
    from bot.services.ledger import record_paid, uncovered_reason

    settings = settings_of(ctx)
    engine = db.make_engine(settings.database_url)
    try:
        if db.is_sqlite(settings.database_url):
            db.upgrade(engine)
        result = record_paid(engine, request_id, force=force)
    finally:
        engine.dispose()
    done, known = result.done, result.known
    if done is None and known is not None and not known.paid and known.shortfall_fen:
        fail(
            f"{uncovered_reason(known)}，没有记为已付。如果钱已经转给成员了，"
            f"用 tuike rebate pay --force {request_id} 照样记下",
            code=1,
        )
    if done is None:
        fail(f"没有编号 {request_id} 的待付提现申请（用 tuike rebate list 查看）")
    note = f"（余额差 {_yuan(done.shortfall_fen)}）" if done.shortfall_fen else ""
    click.echo(f"已记为已付：编号 {done.id}，{_yuan(done.amount_fen)}，付给 {done.member_id}{note}")
