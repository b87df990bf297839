"""`tuike orders sync [--league L]` and `tuike report [--from DATE] [--to DATE] [--group G] [--json|--csv]`."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
from contextlib import AsyncExitStack
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from sqlalchemy import Engine

from bot.cli.context import fail, settings_of
from bot.config import Settings
from bot.store import db


def _engine(settings: Settings) -> Engine:
    engine = db.make_engine(settings.database_url)
    if db.is_sqlite(settings.database_url):
        db.upgrade(engine)
    return engine


@click.group("orders")
def orders() -> None:
    """Order sync from every enabled league."""


@orders.command("sync")
@click.option("--league", "only", default=None, help="Sync only this league (channels, taobao, jd, pdd).")
@click.pass_context
def sync(ctx: click.Context, only: str | None) -> None:
    """Sync orders now; exits 0 when every enabled league was synced."""
    from bot.leagues.setup import enabled_leagues, open_leagues
    from bot.orders.sync import OrderSync, SyncBusy

    settings = settings_of(ctx)
    names = enabled_leagues(settings)
    if only is not None and only not in names:
        fail(f"没有启用这个联盟：{only}（启用的：{', '.join(names) or '无'}）")
    engine = _engine(settings)
    options = settings.orders
    targets = [only] if only else names
    fresh = _fresh_sandbox(settings, targets)
    if fresh:
        click.echo(fresh, err=True)
    from bot.config import sandbox_leagues

    only_sandboxes = bool(targets) and set(targets) <= set(sandbox_leagues(settings))

    async def work() -> int:
        async with AsyncExitStack() as stack:
            leagues = await open_leagues(settings, engine, stack)
            syncer = OrderSync(
                engine,
                leagues,
                overlap=timedelta(minutes=options.overlap_minutes),
                # a sandbox started for this command holds no order: no 62 days of empty windows
                lookback=timedelta(hours=1) if only_sandboxes else timedelta(days=options.lookback_days),
                budget=options.budget_seconds,
                rebate=settings.rebate.enabled,
            )
            try:
                results = await syncer.run(only)
            except SyncBusy:
                click.echo("另一个进程正在同步订单，稍后再试", err=True)
                return 1
        failed = 0
        for r in results:
            if r.ok:
                again = f"，复查未结算的 {r.refreshed} 条" if r.refreshed else ""
                click.echo(
                    f"{r.league}: 取到 {r.fetched} 条（新 {r.new}，更新 {r.changed}），{r.windows} 个时间窗{again}"
                )
            else:
                failed += 1
                click.echo(f"{r.league}: 同步中断 — {r.error}；已存 {r.fetched} 条，下次从断点继续", err=True)
        return 1 if failed else 0

    try:
        code = asyncio.run(work())
    finally:
        engine.dispose()
    sys.exit(code)


def _fresh_sandbox(settings: Settings, names: list[str]) -> str:
    """What to tell the operator when these leagues are sandboxes: this command starts a new sandbox of
    its own, which has none of the links (and so none of the orders) of a running `tuike run`."""
    from bot.config import sandbox_leagues

    sandboxed = [name for name in sandbox_leagues(settings) if name in names]
    if not sandboxed:
        return ""
    return (
        f"注意：{', '.join(sandboxed)} 是沙盒联盟（sandbox = true）。这条命令启动的是一个全新的沙盒，"
        "里面没有 `tuike run` 发出的链接，也就没有它们的订单，所以这里取到 0 条是正常的。"
        "`tuike run`（make run）里，发出链接后几分钟内会自动同步订单，群主发「佣金」前也会先同步一次。"
    )


FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
"""The days `report` takes: no order is older, and leaving out --from or --to already means "no bound"."""
CHART_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".svg": "svg", ".pdf": "pdf"}
"""What `report --chart` writes, by the file's suffix (the bytes match the name)."""


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        fail(f"{name} 要写成 YYYY-MM-DD：{value}")
    if not FIRST_DAY <= day <= LAST_DAY:
        fail(
            f"{name} {value} 不在 {FIRST_DAY} 到 {LAST_DAY} 之间（不限开始或结束就不写 {name}）"
            " (day out of range)"
        )
    return day


def _chart_target(chart: str) -> tuple[Path, str]:
    """The chart's path and format, refused before any work when the file could not be written."""
    path = Path(chart)
    fmt = CHART_FORMATS.get(path.suffix.lower())
    if fmt is None:
        names = "、".join(CHART_FORMATS)
        fail(f"--chart 的文件名要以 {names} 结尾：{chart} (unknown image format)")
    folder = path.parent
    if not folder.is_dir():
        fail(f"--chart 的文件夹不存在：{folder}（先建好它）(no such folder)")
    return path, fmt


@click.command("report")
@click.option("--from", "start", default=None, help="First day (YYYY-MM-DD, in the bot's time zone).")
@click.option("--to", "end", default=None, help="Last day, included (YYYY-MM-DD).")
@click.option("--group", "group_key", default=None, help="One group: its room id or name.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, one per group.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header line.")
@click.option(
    "--chart",
    "chart",
    default=None,
    type=click.Path(dir_okay=False),
    help="Also draw commission per day per league and the top groups to this PNG file.",
)
@click.pass_context
def report(
    ctx: click.Context,
    start: str | None,
    end: str | None,
    group_key: str | None,
    as_json: bool,
    as_csv: bool,
    chart: str | None,
) -> None:
    """What each group earned: orders, paid, estimated and settled commission, conversion."""
    from bot.orders.report import FIELDS, day_start, report_rows, text_table
    from bot.store.groups import find_group
    from bot.store.models import MAX_ID

    if as_json and as_csv:
        fail("--json 和 --csv 只能选一个")
    settings = settings_of(ctx)
    zone = ZoneInfo(settings.bot.timezone)
    first, last = _day(start, "--from"), _day(end, "--to")
    if first and last and first > last:
        fail(f"--from {first} 在 --to {last} 之后：开始的一天要早于或等于结束的一天 (--from after --to)")
    target = _chart_target(chart) if chart is not None else None
    since: datetime | None = day_start(first, zone) if first else None
    until: datetime | None = day_start(last + timedelta(days=1), zone) if last else None
    engine = _engine(settings)
    try:
        group_id = None
        if group_key is not None:
            group = find_group(engine, group_key)
            if group is None and group_key.isdigit() and int(group_key) <= MAX_ID:
                from sqlmodel import Session

                from bot.store.models import Group

                with Session(engine) as session:
                    group = session.get(Group, int(group_key))
            if group is None or group.id is None:
                fail(f"没有这个群：{group_key}")
            group_id = group.id
        rows = report_rows(engine, since, until, group_id, settings.rebate.owner_share_percent)
        if target is not None:
            from bot.orders.chart import draw_chart

            path, fmt = target
            try:
                drawn = draw_chart(engine, path, zone, since, until, fmt=fmt)
            except OSError as exc:
                fail(f"图表写不进 {chart}：{exc.strerror or exc} (cannot write the chart)")
            click.echo(
                f"图表已画到 {chart}：{drawn['days']} 天，{drawn['leagues']} 个联盟，前 {drawn['groups']} 个群",
                err=True,
            )
    finally:
        engine.dispose()
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
    elif as_csv:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(FIELDS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(_csv_row(row) for row in rows)
        click.echo(out.getvalue(), nl=False)
    else:
        click.echo(text_table(rows))


def _csv_row(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "group": "" if row["group"] is None else row["group"]}
