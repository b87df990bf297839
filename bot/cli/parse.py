"""`tuike parse TEXT`: show what the bot recognises in a message, without any network or config.

Operators use it to check why a pasted share text did or did not get an answer.
"""

from __future__ import annotations

import json
import sys

import click

from bot.handlers.parse import ProductRef, find_product_refs

PLATFORM_NAMES = {"taobao": "淘宝/天猫", "jd": "京东", "pdd": "拼多多", "channels": "微信小店"}
KIND_NAMES = {"item": "商品链接", "short_link": "短链接", "tpwd": "淘口令"}


def describe(ref: ProductRef) -> str:
    """One readable Chinese line per reference."""
    details = []
    if ref.id is not None:
        details.append(f"商品ID {ref.id}")
    if ref.code is not None:
        details.append(f"口令 {ref.code}")
    if ref.url is not None:
        details.append(ref.url)
    return f"{PLATFORM_NAMES[ref.platform]} {KIND_NAMES[ref.kind]}：" + "，".join(details)


@click.command("parse")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per reference, one per line.")
def parse(text: str, as_json: bool) -> None:
    """List the product links and 淘口令 found in TEXT ("-" reads the text from stdin)."""
    if text == "-":
        text = sys.stdin.read()
    for ref in find_product_refs(text):
        if as_json:
            row = {"platform": ref.platform, "kind": ref.kind, "id": ref.id, "code": ref.code, "url": ref.url}
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            click.echo(describe(ref))
