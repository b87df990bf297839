"""`tuike parse TEXT`: show what the bot recognises in a message, without any network or config.

Operators use it to check why a pasted share text did or did not get an answer.
"""

from __future__ import annotations

import json
import sys

import click

from bot.handlers.parse import ProductRef, find_product_refs
from bot.leagues.registry import LEAGUES
from bot.services.platforms import PLATFORM_NAMES

KIND_NAMES = {"item": "商品链接", "short_link": "短链接", "tpwd": "口令"}
SERVED = frozenset(plugin.name for plugin in LEAGUES if plugin.converts_links)
"""The platforms whose pasted links the bot turns into the group's own."""
NOT_PRODUCT = {"xianyu": "闲鱼二手，不是联盟商品"}
NOTHING = "没有认出商品链接或口令（认得淘宝/天猫、京东、拼多多、微信小店的链接和淘口令、京东口令）。"


def describe(ref: ProductRef) -> str:
    """One readable Chinese line per reference."""
    details = []
    if ref.id is not None:
        details.append(f"商品ID {ref.id}")
    if ref.code is not None:
        details.append(f"口令 {ref.code}")
    if ref.url is not None:
        details.append(ref.url)
    kind = "淘口令" if ref.kind == "tpwd" and ref.platform == "taobao" else KIND_NAMES[ref.kind]
    line = f"{PLATFORM_NAMES[ref.platform]} {kind}：" + "，".join(details)
    if ref.not_product is not None:
        return line + f"（{NOT_PRODUCT[ref.not_product]}）"
    return line if ref.platform in SERVED else line + "（暂不支持这个平台）"


@click.command("parse")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per reference, one per line.")
def parse(text: str, as_json: bool) -> None:
    """List the product links and 淘口令 found in TEXT ("-" reads the text from stdin)."""
    if text == "-":
        text = sys.stdin.read()
    refs = find_product_refs(text)
    if not refs:
        click.echo(NOTHING, err=True)  # stdout stays empty: a script reading JSON lines gets none
        return
    for ref in refs:
        if as_json:
            row = {
                "platform": ref.platform,
                "kind": ref.kind,
                "id": ref.id,
                "code": ref.code,
                "url": ref.url,
                "not_product": ref.not_product,
            }
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            click.echo(describe(ref))
