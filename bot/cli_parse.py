"""`tuike parse TEXT`: what the bot would recognise in a message."""

from __future__ import annotations

import json

import click

from bot.handlers.parse import find_product_refs

PLATFORM_NAMES = {"taobao": "淘宝/天猫", "jd": "京东", "pdd": "拼多多", "channels": "微信小店"}
KIND_NAMES = {"item": "商品链接", "short_link": "短链接", "tpwd": "淘口令"}


@click.command("parse")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line per reference.")
def parse(text: str, as_json: bool) -> None:
    """Show the product references in TEXT (links and 淘口令), in order."""
    for ref in find_product_refs(text):
        if as_json:
            fields = {
                "platform": ref.platform,
                "kind": ref.kind,
                "id": ref.id,
                "code": ref.code,
                "url": ref.url,
            }
            click.echo(json.dumps(fields, ensure_ascii=False))
        else:
            what = ref.id or ref.code or ref.url
            click.echo(f"{PLATFORM_NAMES[ref.platform]} {KIND_NAMES[ref.kind]}: {what}")
