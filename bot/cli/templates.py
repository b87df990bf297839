"""`tuike templates check | preview | list`: let operators edit copy with confidence.

`check` before deploying an edit (exit 1 and `file:line: message` per problem), `preview` to see a
message as a member would with realistic sample data, `list` to see which file wins for each kind and
group. `--dir` points at a template folder other than the configured `[templates] dir`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bot.cli.context import Context, one_group, pass_context
from bot.render.check import check_templates
from bot.render.engine import BUILTIN_TEMPLATES, GROUPS_FOLDER, Renderer, display_path, group_key
from bot.render.kinds import KINDS, label
from bot.render.samples import SAMPLES
from bot.render.width import display_width, ljust

dir_option = click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Operator template folder (default: [templates] dir from the config).",
)


def _renderer(ctx: Context, folder: Path | None, problems: list[str] | None = None) -> Renderer:
    settings = ctx.loaded.settings
    return Renderer(
        folder if folder is not None else settings.templates_dir,
        timezone=settings.bot.timezone,
        max_chars=settings.templates.max_message_chars,
        notify=problems.append if problems is not None else None,
    )


@click.group()
def templates() -> None:
    """Check, preview and list the message templates."""


@templates.command("check")
@dir_option
@pass_context
def check_command(ctx: Context, folder: Path | None) -> None:
    """Compile and render every template against sample data; exit 1 on any problem."""
    settings = ctx.loaded.settings
    chosen: Path | None = folder if folder is not None else settings.templates_dir
    if folder is None and settings.templates.dir is None and not settings.templates_dir.is_dir():
        chosen = None  # no operator folder yet (a fresh install): the built-in set is what runs, as `tuike check` says
    problems = check_templates(
        chosen, timezone=settings.bot.timezone, max_chars=settings.templates.max_message_chars
    )
    for problem in problems:
        click.echo(str(problem))
    if problems:
        click.echo(f"{len(problems)} problem(s) found", err=True)
        sys.exit(1)
    where = f"built-in + {display_path(chosen)}" if chosen else "built-in"
    click.echo(f"all templates render ({where})")


@templates.command("preview")
@click.argument("name")
@click.option(
    "--group", "group", default=None, help="Group name or room id (or a group key) whose overrides to use."
)
@click.option("--sample", "index", default=1, show_default=True, help="Which sample data set (1, 2, ...).")
@dir_option
@pass_context
def preview_command(ctx: Context, name: str, group: str | None, index: int, folder: Path | None) -> None:
    """Print the message NAME renders to, with sample data."""
    if name not in KINDS:
        click.echo(f"unknown template {name!r}; kinds: {', '.join(sorted(KINDS))}", err=True)
        sys.exit(2)
    samples = SAMPLES[name]
    if not 1 <= index <= len(samples):
        click.echo(f"{name} has sample data sets 1 to {len(samples)}", err=True)
        sys.exit(2)
    problems: list[str] = []
    renderer = _renderer(ctx, folder, problems)
    if group is not None and group_key(group) not in renderer.groups():
        group = _room_of(ctx, group)  # a group's name or room id, resolved as every command does
    source = renderer.winner(name, group)
    text = renderer.render(name, samples[index - 1], group=group)
    click.echo(f"── {name} · {display_path(source) if source else '?'} ──", err=True)
    click.echo(text)
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        sys.exit(1)


def _room_of(ctx: Context, name_or_id: str) -> str:
    """The room id of GROUP (a name only one group has, or a room id); an unknown one is refused."""
    from bot.store import db

    url = ctx.loaded.settings.database_url
    engine = db.make_engine(url)
    try:
        if db.is_sqlite(url):
            db.upgrade(engine)
        return one_group(engine, name_or_id).room_id
    finally:
        engine.dispose()


@templates.command("list")
@dir_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per kind and group, one per line.")
@pass_context
def list_command(ctx: Context, folder: Path | None, as_json: bool) -> None:
    """Which file wins for each kind, by default and in each group with overrides."""
    renderer = _renderer(ctx, folder)
    width = max(display_width(label(name)) for name in KINDS)
    for title, group in [("default", None)] + [(f"group {key}", key) for key in renderer.groups()]:
        if not as_json:
            click.echo(f"[{title}]")
        for name in sorted(KINDS):
            source = renderer.winner(name, group)
            origin = _origin(source)
            if as_json:
                row = {
                    "group": group,
                    "kind": name,
                    "label": label(name),
                    "file": display_path(source) if source else None,
                    "origin": origin,
                }
                click.echo(json.dumps(row, ensure_ascii=False))
                continue
            shown = display_path(source) if source else "(missing)"
            click.echo(f"  {ljust(label(name), width)}  {name:<22} {shown}  ({ORIGIN_NAMES[origin]})")
    if not as_json:
        click.echo(f"group folders are named by group key, e.g. {group_key('20870958924@chatroom')}")


ORIGIN_NAMES = {"builtin": "built-in", "operator": "override", "group": "override"}


def _origin(source: Path | None) -> str:
    """builtin, operator (the operator folder) or group (a group's own folder)."""
    if source is None or source.parent == BUILTIN_TEMPLATES:
        return "builtin"
    return "group" if source.parent.parent.name == GROUPS_FOLDER else "operator"
