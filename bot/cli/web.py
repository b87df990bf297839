"""`tuike web` (the operator console alone, no chat channel) and `tuike web passwd`."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import signal
import sys

import click

from bot.cli.context import Context, fail, pass_context


@click.group(invoke_without_command=True)
@pass_context
@click.pass_context
def web(click_ctx: click.Context, ctx: Context) -> None:
    """Serve the operator web console alone (no chat channel), at [web] listen."""
    if click_ctx.invoked_subcommand is not None:
        return
    from bot.app import setup_logging

    settings = ctx.loaded.settings
    setup_logging(settings)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_alone(ctx))


async def _serve_alone(ctx: Context) -> None:
    from contextlib import AsyncExitStack

    from bot.compose import Composition, prepare_database
    from bot.web.server import ListenError, start_web

    settings = ctx.loaded.settings
    try:
        engine = await asyncio.to_thread(prepare_database, settings)
    except RuntimeError as exc:
        fail(str(exc))
    async with AsyncExitStack() as stack:
        parts = Composition(settings, engine)
        await parts.open_leagues(stack)
        services = parts.web_services(orders=parts.order_sync())
        try:
            console = await start_web(services)
        except ListenError as exc:
            fail(f"运营后台没有启动 (web console not started): {exc}; change [web] listen")
        stack.push_async_callback(console.stop)
        click.echo(f"运营后台 / web console: {console.url}  (Ctrl-C 停止)")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()


@web.command("passwd")
@pass_context
def passwd(ctx: Context) -> None:
    """Set or change the console password (read from stdin when it is not a terminal)."""
    from bot.compose import prepare_database
    from bot.store import webauth
    from bot.web.security import hash_password, password_problem

    if sys.stdin.isatty():
        password = getpass.getpass("新密码 (new password): ")
        if getpass.getpass("再输一次 (again): ") != password:
            fail("两次输入的密码不一样 (the two entries differ)")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    problem = password_problem(password)
    if problem:
        fail(f"{problem} (password refused)")
    try:
        engine = prepare_database(ctx.loaded.settings)
    except RuntimeError as exc:
        fail(str(exc))
    webauth.set_password_hash(engine, hash_password(password))
    engine.dispose()
    click.echo("运营后台密码已设置；已登录的会话随即失效。 (password set; existing console sessions end)")
