"""`tuike sandbox`: the sandbox league alone, for trying the CLI or a second bot against it.

It lives with the sandbox (the product never imports this package): `bot.cli` names it by module only.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

import click

from tuike_sandbox.server import SandboxServer


@click.command("sandbox")
@click.option(
    "--port",
    default=0,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port on 127.0.0.1 (0 picks a free one).",
)
def sandbox(port: int) -> None:
    """Run the sandbox league alone on 127.0.0.1 until Ctrl-C."""

    async def serve() -> None:
        async with SandboxServer(port=port) as server:
            click.echo(
                f"sandbox league on {server.base_url} ({len(server.state.catalogue.products)} products); "
                f"Taobao TOP gateway at {server.base_url}/router/rest"
            )
            top = server.face("/router/rest")
            sample = next(p for p in server.state.catalogue.products if top.on_sale(p) and p.coupon_ids)
            click.echo("a Taobao share text from someone else, to paste into `tuike run`:")
            click.echo("  " + top.foreign_share_text(sample).replace("\n", " "))
            await asyncio.Event().wait()

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve())
    except OSError as exc:  # the port is taken or not ours to use: one line, exit 2 like the other commands
        click.echo(f"沙盒不能监听 127.0.0.1:{port}：{exc.strerror or exc} (cannot listen)", err=True)
        sys.exit(2)
