"""The `tuike` command line."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import Any, NoReturn

import click

from bot.config import ConfigError, LoadedConfig, load_config


def fail(message: str, code: int = 2) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


class Context:
    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._loaded: LoadedConfig | None = None

    @property
    def loaded(self) -> LoadedConfig:
        if self._loaded is None:
            try:
                self._loaded = load_config(self.config_path)
            except ConfigError as exc:
                fail(f"配置错误 (config error): {exc}")
        return self._loaded


pass_context = click.make_pass_decorator(Context)


@click.group()
@click.option(
    "--config",
    "config_path",
    envvar="TUIKE_CONFIG",
    type=click.Path(dir_okay=False),
    help="Config file (default: ./config.toml, else config.example.toml). Env: TUIKE_CONFIG.",
)
@click.version_option(package_name="tuike")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """推客 Tuike — a WeChat group bot that hands out affiliate deals."""
    ctx.obj = Context(config_path)


@cli.command()
@pass_context
def run(ctx: Context) -> None:
    """Start the bot (console + sandbox league on the embedded default)."""
    from bot.app import App, setup_logging

    loaded = ctx.loaded
    setup_logging(loaded.settings)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(App(loaded).run())


@cli.command()
@pass_context
def check(ctx: Context) -> None:
    """Check config, templates and database; non-zero exit on any problem."""
    from bot.checks import run_checks

    problems = 0
    for ok, line in run_checks(ctx.loaded):
        click.echo(("✓ " if ok else "✗ ") + line)
        problems += not ok
    if problems:
        fail(f"{problems} problem(s) found", code=1)


@cli.group()
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


def main(argv: list[str] | None = None) -> Any:
    return cli.main(args=argv, prog_name="tuike")


from bot.cli_parse import parse  # noqa: E402  (subcommands live in their own modules)

cli.add_command(parse)

from bot.cli_templates import templates  # noqa: E402

cli.add_command(templates)

from bot.cli_league import promote, quota, sandbox, search  # noqa: E402

cli.add_command(sandbox)
cli.add_command(search)
cli.add_command(promote)
cli.add_command(quota)

from bot.cli_push import push  # noqa: E402

cli.add_command(push)
