"""`tuike run`, `tuike check` and `tuike db upgrade`: start the bot and look after its setup."""

from __future__ import annotations

import asyncio
import contextlib

import click

from bot.cli.context import Context, exit_now, fail, pass_context, resume_gc

GC_PAUSED_UNTIL_READY = True
"""`run` resumes garbage collection once the bot is built (see bot.cli.lazy); `check` and `db`
are short and finish with it paused."""


@click.command()
@pass_context
def run(ctx: Context) -> None:
    """Start the bot (console + sandbox league on the embedded default)."""
    from bot.app import App, StartRefused, setup_logging

    loaded = ctx.loaded
    setup_logging(loaded.settings)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(App(loaded, on_ready=lambda: resume_gc(freeze=True)).run())
    except StartRefused as exc:
        fail(f"不能启动 (refused to start): {exc}")
    exit_now()  # `printf '帮助\n' | tuike run` ends with its answer, not the interpreter's teardown


@click.command()
@pass_context
def check(ctx: Context) -> None:
    """Check config, templates and database; non-zero exit on any problem."""
    from bot.cli.checks import run_checks

    problems = 0
    for ok, line in run_checks(ctx.loaded):
        click.echo(("✓ " if ok else "✗ ") + line)
        problems += not ok
    if problems:
        fail(f"{problems} problem(s) found", code=1)


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@pass_context
def db_upgrade(ctx: Context) -> None:
    """Create or upgrade the schema to the newest revision."""
    from bot.store import db as store_db

    url = ctx.loaded.settings.database_url
    engine = store_db.make_engine(url)
    try:
        before, after = store_db.upgrade(engine)
    except Exception as exc:
        fail(f"database upgrade failed: {type(exc).__name__}: {exc}", code=1)
    finally:
        engine.dispose()
    if before == after:
        click.echo(f"database already at {after}")
    else:
        click.echo(f"database upgraded from {before or 'empty'} to {after}")
