"""`tuike templates check | preview | list`: operators see their copy before members do."""

from __future__ import annotations

import sys

import click

from bot.config import ConfigError, load_config
from bot.render import Renderer
from bot.render_samples import samples


def _renderer(ctx: click.Context) -> Renderer:
    try:
        settings = load_config(ctx.find_root().obj.config_path).settings
    except ConfigError as exc:
        click.echo(f"配置错误 (config error): {exc}", err=True)
        sys.exit(2)
    return Renderer(
        settings.templates.dir, timezone=settings.bot.timezone, max_chars=settings.templates.max_message_chars
    )


@click.group("templates")
def templates() -> None:
    """Check, preview and list the message templates."""


@templates.command("check")
@click.pass_context
def check(ctx: click.Context) -> None:
    """Compile and render every template against sample data; non-zero exit on any problem."""
    renderer = _renderer(ctx)
    problems = renderer.check(samples())
    for problem in problems:
        click.echo(str(problem))
    if problems:
        sys.exit(1)
    click.echo(f"{len(renderer.kinds())} kinds OK")


@templates.command("preview")
@click.argument("name")
@click.option("--group", default=None, help="Render as this group (its override folder wins).")
@click.pass_context
def preview(ctx: click.Context, name: str, group: str | None) -> None:
    """Print template NAME rendered with sample data."""
    renderer = _renderer(ctx)
    data = samples()
    if name not in data:
        click.echo(f"没有这个模板：{name}。可用：{', '.join(sorted(data))}", err=True)
        sys.exit(2)
    click.echo(renderer.render(name, data[name], group=group))


@templates.command("list")
@click.pass_context
def list_(ctx: click.Context) -> None:
    """Show which file wins for each kind, and for each group with overrides."""
    renderer = _renderer(ctx)
    for group in [None, *renderer.groups()]:
        click.echo("默认 (all groups):" if group is None else f"群 {group}:")
        for kind in renderer.kinds():
            click.echo(f"  {kind:22} {renderer.winner(kind, group)}")
