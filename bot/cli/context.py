"""What every subcommand shares: the loaded config, and one way to fail with a message."""

from __future__ import annotations

import contextlib
import gc
import sys
from typing import TYPE_CHECKING, NoReturn

import click

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bot.config import LoadedConfig, Settings
    from bot.store.models import Group


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one line to stderr and exit; known secrets and URL passwords in it are masked."""
    from bot.redact import mask

    click.echo(mask(message), err=True)
    sys.exit(code)


def one_group(engine: Engine, name_or_id: str) -> Group:
    """GROUP as every command takes it: a room id, or a name that only one group has; anything else
    is refused (exit 2) with what the operator can do about it."""
    from bot.store.groups import find_groups

    found = find_groups(engine, name_or_id)
    if not found:
        fail(f"没有这个群：{name_or_id}（`tuike groups` 列出机器人认识的群）(no such group)")
    if len(found) > 1:
        ids = "、".join(g.room_id for g in found)
        fail(f"有 {len(found)} 个群叫「{name_or_id}」，请用群 ID：{ids} (several groups have this name)")
    return found[0]


class Context:
    """The root command's object: the config is read on first use (so `--help` reads nothing)."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._loaded: LoadedConfig | None = None

    @property
    def loaded(self) -> LoadedConfig:
        if self._loaded is None:
            from bot.config import ConfigError, load_config
            from bot.redact import register, secret_values

            try:
                self._loaded = load_config(self.config_path)
            except ConfigError as exc:
                fail(f"配置错误 (config error): {exc}")
            register(*secret_values(self._loaded.settings))  # masked in all the command prints
        return self._loaded


pass_context = click.make_pass_decorator(Context)


def settings_of(ctx: click.Context) -> Settings:
    """The settings the root command loaded (a bad config already exited 2 there)."""
    root: Context = ctx.find_root().obj
    return root.loaded.settings


def pause_gc() -> None:
    """No garbage collection while starting: the imports and the set-up make hundreds of thousands
    of objects that all live on, and a collector pass over them (several, as they are made) is
    wasted work — about a third of `tuike run`'s start."""
    gc.disable()


_ENTRY = {"process": False}


def entered_as_process() -> None:
    """`bot.cli.main` says the command line is this process's own (not a test's runner)."""
    _ENTRY["process"] = True


def exit_now() -> None:
    """End a finished `tuike run` at once, when it is this process's own command: the interpreter's
    teardown of everything the bot imported (SQLAlchemy, httpx, the leagues) takes 0.2–1 s and does
    nothing the bot needs — it closed what it opened, `asyncio.run` waited for its worker threads, and
    only daemon threads (stdin, an import cut short) remain. Logs and output are flushed first."""
    if not _ENTRY["process"]:
        return
    import logging
    import os

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


def resume_gc(*, freeze: bool = False) -> None:
    """Collect again; with `freeze`, what start-up made is set aside for good first, so later passes
    (and their pauses, felt by a fast push) only look at what the running bot makes."""
    if freeze:
        gc.freeze()
    gc.enable()
