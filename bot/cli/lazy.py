"""A click group whose subcommands are imported only when they run.

`tuike --help` and `tuike parse ...` should not pay for importing the league client, the store and
the push service. Each subcommand is named by the module that defines it and a one-line summary for
the command list; the module is imported on first use. tests/test_cli.py checks that the summaries
match the commands' own help. Garbage collection, paused by `main` for the imports, resumes once the
module is imported, unless the module says `GC_PAUSED_UNTIL_READY = True` (and resumes it itself).

A mistyped subcommand, option or value is one line on stderr and exit 2 (`OneLineUsageError`), like
every other refusal of the command line, rather than click's usage block.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import click

from bot.cli.context import resume_gc


class OneLineUsageError(click.ClickException):
    """A usage error said in one line, with where to read the usage; exit 2 like `fail`."""

    exit_code = 2

    def __init__(self, error: click.UsageError) -> None:
        path = error.ctx.command_path if error.ctx is not None else "tuike"
        super().__init__(f"{error.format_message()}（用法：{path} --help）")

    def show(self, file: object = None) -> None:
        from bot.redact import mask

        click.echo(mask(f"出错了 (error): {self.format_message()}"), err=True)


@dataclass(frozen=True)
class Lazy:
    """Where a subcommand lives and what `--help` says about it before it is imported."""

    module: str
    attribute: str
    summary: str


class LazyGroup(click.Group):
    def __init__(self, *args: object, lazy: dict[str, Lazy], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = lazy

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise OneLineUsageError(exc) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self.lazy:
            where = self.lazy[cmd_name]
            module = importlib.import_module(where.module)
            if not getattr(module, "GC_PAUSED_UNTIL_READY", False):
                resume_gc()
            command = getattr(module, where.attribute)
            if not isinstance(command, click.Command):  # pragma: no cover - a wrong table entry
                raise TypeError(f"{where.module}.{where.attribute} is not a click command")
            self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the summaries, importing nothing."""
        commands: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                command = self.commands[name]
            else:
                command = click.Command(name, help=self.lazy[name].summary)
            if not command.hidden:
                commands.append((name, command))
        if commands:
            limit = formatter.width - 6 - max(len(name) for name, _ in commands)
            with formatter.section("Commands"):
                formatter.write_dl([(name, command.get_short_help_str(limit)) for name, command in commands])
