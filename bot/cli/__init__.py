"""The `tuike` command line: the root group and the entry point.

Each command group lives in its own module, imported only when that command runs (see lazy.py).
"""

from __future__ import annotations

from typing import Any

import click

from bot.cli.context import Context, entered_as_process, pause_gc
from bot.cli.lazy import Lazy, LazyGroup

COMMANDS = {
    "run": Lazy("bot.cli.core", "run", "Start the bot (console + sandbox league on the embedded default)."),
    "check": Lazy(
        "bot.cli.core", "check", "Check config, templates and database; non-zero exit on any problem."
    ),
    "db": Lazy("bot.cli.core", "db", "Database schema."),
    "parse": Lazy(
        "bot.cli.parse",
        "parse",
        'List the product links and 淘口令 found in TEXT ("-" reads the text from stdin).',
    ),
    "templates": Lazy("bot.cli.templates", "templates", "Check, preview and list the message templates."),
    "sandbox": Lazy(
        "tuike_sandbox.cli", "sandbox", "Run the sandbox league alone on 127.0.0.1 until Ctrl-C."
    ),
    "search": Lazy(
        "bot.cli.league", "search", "Search the leagues for KEYWORD and print the products, best deal first."
    ),
    "promote": Lazy(
        "bot.cli.league",
        "promote",
        "Make a product's promotion link (and 淘口令) for a group: a product id, a link, a share text or a 口令.",
    ),
    "quota": Lazy(
        "bot.cli.league", "quota", "How much of today's API quota the league calls the bot makes have used."
    ),
    "push": Lazy("bot.cli.push", "push", "Daily deals and live reminders."),
    "jobs": Lazy(
        "bot.cli.jobs", "jobs", "The periodic jobs this configuration runs: id, what, when, next run."
    ),
    "groups": Lazy(
        "bot.cli.groups",
        "groups",
        "The groups the bot knows: room id, name, account, owner and subscriptions.",
    ),
    "union": Lazy("bot.cli.union", "union", "The mini-program union (小程序联盟): promotion spots."),
    "pdd": Lazy("bot.cli.pdd", "pdd", "拼多多 多多进宝: PID registration (备案)."),
    "orders": Lazy("bot.cli.orders", "orders", "Order sync from every enabled league."),
    "funds": Lazy(
        "bot.cli.funds",
        "funds",
        "The organisation's funds per league, reconciled against the orders counted as settled.",
    ),
    "channels": Lazy(
        "bot.cli.channels",
        "channels",
        "WeChat Channels (视频号) organisation: talents' feeds and windows, clues.",
    ),
    "rebate": Lazy("bot.cli.rebate", "rebate", "Member rebates (返利): withdrawal requests to pay by hand."),
    "web": Lazy(
        "bot.cli.web", "web", "Serve the operator web console alone (no chat channel), at [web] listen."
    ),
    "takeout": Lazy(
        "bot.cli.takeout",
        "takeout",
        "Today's takeout coupon links (饿了么, 美团) made for a group, as members get them for 外卖.",
    ),
    "cluster": Lazy(
        "bot.cli.cluster",
        "cluster",
        "Replicas over one PostgreSQL: which replica serves which chat account.",
    ),
    "forward": Lazy(
        "bot.cli.forward",
        "forward",
        "线报 forwarding: what a group would receive for a message, and what became of recent ones.",
    ),
    "report": Lazy(
        "bot.cli.orders",
        "report",
        "What each group earned: orders, paid, estimated and settled commission, conversion.",
    ),
}


@click.group(cls=LazyGroup, lazy=COMMANDS)
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
    from bot.redact import mask_output

    ctx.obj = Context(config_path)
    # one place for every command: what it prints (however it prints it) is masked like `tuike run`'s
    # log, with the config's secrets registered as soon as the config is read (Context.loaded)
    ctx.call_on_close(mask_output())


def main(argv: list[str] | None = None) -> Any:
    pause_gc()  # resumed once the command's module is imported, or by `run` once it is ready
    entered_as_process()  # `run` may end the process as soon as the bot has stopped
    return cli.main(args=argv, prog_name="tuike")
