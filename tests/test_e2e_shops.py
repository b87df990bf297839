"""The operator's own shops end to end through the console channel, the app and the sandbox's Youzan and
Shopify faces over HTTP on 127.0.0.1: 找 shows the shop's product, marked 自营 and first when the
operator says so, with this group's own link (its Youzan salesman; its Shopify campaign and code); a
pasted item page comes back as the group's link; a shop's home page is no product."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from click.testing import CliRunner
from sqlmodel import Session, select

from bot.cli import cli
from bot.leagues.shopify.sandbox_account import DEFAULT_TOKEN
from bot.leagues.youzan.sandbox_account import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_KDT_ID
from bot.store import db
from bot.store.models import LeagueSpot
from tests.e2e import channels_section, run_console
from tuike_sandbox.server import SandboxServer
from tuike_sandbox.shopify_face import ShopifyFace
from tuike_sandbox.shopify_face import handle as shopify_handle
from tuike_sandbox.shopify_face import status as shopify_status
from tuike_sandbox.youzan_face import YouzanFace, alias, listed

YOUZAN_LINK = re.compile(r"https://h5\.youzan\.com/v2/goods/\w+\?sls=(\w+)")
SHOPIFY_LINK = re.compile(r"https://tuike-sandbox\.myshopify\.com/\S+")


def _config(write_config: Callable[..., Path], sandbox: SandboxServer, extra: str = "") -> Path:
    return write_config(
        channels_section(sandbox.base_url)
        + f"""

[shops.youzan]
enabled = true
sandbox = false
base_url = "{sandbox.base_url}/youzan"
client_id = "{DEFAULT_CLIENT_ID}"
client_secret = "{DEFAULT_CLIENT_SECRET}"
kdt_id = "{DEFAULT_KDT_ID}"

[deals]
results_per_search = 3
leagues = ["channels", "youzan", "shopify"]
own_store_first = true
{extra}
"""
    )


def _kept(tmp_path: Path, league: str) -> LeagueSpot:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'tuike.db'}")
    try:
        with Session(engine) as session:
            return session.exec(select(LeagueSpot).where(LeagueSpot.league == league)).one()
    finally:
        engine.dispose()


def _youzan(sandbox: SandboxServer) -> YouzanFace:
    face = sandbox.face("/youzan")
    assert isinstance(face, YouzanFace)
    return face


async def test_a_search_shows_the_shops_product_first_with_the_groups_salesman_link(
    sandbox: SandboxServer, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    face = _youzan(sandbox)
    keyword = next(
        word
        for word in (x.title.split()[0] for x in face.shop if listed(x))
        if len(face.catalogue.search(word)) >= 8  # the affiliate leagues have it too
    )
    out = await run_console(_config(write_config, sandbox), f"找 {keyword}\n")
    assert out.startswith(f"@小明 为你找到「{keyword}」的好价"), out
    assert "1. 【自营】" in out, "the shop's own product comes first"
    assert "微信小店" in out, "affiliate deals beside it"
    marks = YOUZAN_LINK.findall(out)
    assert marks, out
    kept = _kept(tmp_path, "youzan")
    assert all(face.links[m].fans_id == int(kept.pid) for m in marks), "made for this group's salesman"
    assert face.salesmen == {int(kept.pid)}


async def test_a_pasted_item_page_comes_back_as_the_groups_link_and_a_home_page_is_no_product(
    sandbox: SandboxServer, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    face = _youzan(sandbox)
    p = next(x for x in face.shop if listed(x))
    off = next(x for x in face.shop if not listed(x))
    out = await run_console(
        _config(write_config, sandbox),
        f"这个有货吗 https://h5.youzan.com/v2/goods/{alias(p)}\n"
        f"https://h5.youzan.com/v2/showcase/homepage?kdt_id={DEFAULT_KDT_ID}\n"
        f"https://h5.youzan.com/v2/goods/{alias(off)}\n",
    )
    assert p.title[:8] in out and "自营\n" in out, out
    [mark] = YOUZAN_LINK.findall(out)
    assert face.links[mark].fans_id == int(_kept(tmp_path, "youzan").pid)
    assert "店铺的首页" in out, out
    assert "可能已经下架" in out, out


async def test_shopify_links_carry_the_groups_campaign_and_code(
    sandbox: SandboxServer, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    face = sandbox.face("/shopify")
    assert isinstance(face, ShopifyFace)
    p = next(x for x in face.shop if shopify_status(x) == "ACTIVE" and face.inventory(x) > 0)
    extra = f"""
[shops.shopify]
enabled = true
sandbox = false
shop = "tuike-sandbox.myshopify.com"
base_url = "{sandbox.base_url}/shopify/admin/api/2025-07/graphql.json"
access_token = "{DEFAULT_TOKEN}"
discount_percent = 10
"""
    face.currency = "USD"  # a shop in dollars: shown as they are, and said so
    out = await run_console(_config(write_config, sandbox, extra), f"找 {p.title.split()[0]}\n")
    assert "⚠️ 标价为美元 (USD)，未换算" in out, out
    links = SHOPIFY_LINK.findall(out)
    assert links, out
    kept = _kept(tmp_path, "shopify")
    assert kept.pid.startswith("TUIKE-") and kept.pid in face.discounts
    for link in links:
        parts = urlsplit(link)
        assert parts.path == f"/discount/{kept.pid}"
        assert parse_qs(parts.query)["utm_campaign"] == [kept.tag]


async def test_the_owner_asks_for_the_shops_highlights_with_the_groups_links(
    sandbox: SandboxServer, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    face = _youzan(sandbox)
    out = await run_console(_config(write_config, sandbox), "店铺\n/owner\n店铺\n")
    refusal, _, answer = out.partition("自营好物")
    assert "群主" in refusal and not YOUZAN_LINK.search(refusal), "a member is told only the owner may"
    marks = YOUZAN_LINK.findall(answer)
    assert len(marks) == 5, out  # [push] deals_per_push of the shop's newest items on sale
    kept = _kept(tmp_path, "youzan")
    assert all(face.links[m].fans_id == int(kept.pid) for m in marks)


async def test_shop_orders_reach_the_report_and_the_owners_commission(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    """找 in the group, the shop's buyers pay through the salesman's link, `tuike orders sync` attributes
    the orders to the group, and `tuike report` and the owner's 佣金 show them with the owner's share."""
    face = _youzan(sandbox)
    face.clock = lambda: time.time() - 360  # links made six minutes ago have sold by now
    keyword = next(
        word
        for word in (x.title.split()[0] for x in face.shop if listed(x))
        if len(face.catalogue.search(word)) >= 8
    )
    config = _config(
        write_config,
        sandbox,
        "\n[orders]\nlookback_days = 1\n[rebate]\nowner_share_percent = 50\n",
    )
    assert YOUZAN_LINK.search(await run_console(config, f"找 {keyword}\n"))

    synced = await asyncio.to_thread(CliRunner().invoke, cli, ["--config", str(config), "orders", "sync"])
    assert synced.exit_code == 0 and "youzan: 取到" in synced.output, synced.output
    report = await asyncio.to_thread(CliRunner().invoke, cli, ["--config", str(config), "report", "--json"])
    rows = {row["name"]: row for row in map(json.loads, report.output.splitlines()) if row["group"]}
    group = rows["测试群"]
    assert group["orders"] > 0 and group["estimated_fen"] > 0
    assert group["owner_share_fen"] == group["estimated_fen"] // 2

    asked = await run_console(config, "/owner\n佣金\n")
    shown = group["estimated_fen"]
    assert f"¥{shown // 100}.{shown % 100:02d}" in asked, asked


async def test_a_page_of_the_shops_own_domain_comes_back_as_the_groups_link(
    sandbox: SandboxServer, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    """An operator whose Shopify shop lives at its own domain (`storefront`): members paste that domain's
    product pages, and get the group's link on it, as for *.myshopify.com."""
    face = sandbox.face("/shopify")
    assert isinstance(face, ShopifyFace)
    p = next(x for x in face.shop if shopify_status(x) == "ACTIVE" and face.inventory(x) > 0)
    extra = f"""
[shops.shopify]
enabled = true
sandbox = false
shop = "tuike-sandbox.myshopify.com"
storefront = "https://shop.example.com"
base_url = "{sandbox.base_url}/shopify/admin/api/2025-07/graphql.json"
access_token = "{DEFAULT_TOKEN}"
"""
    out = await run_console(
        _config(write_config, sandbox, extra),
        f"这个还有吗 https://shop.example.com/products/{shopify_handle(p)}\n",
    )
    assert p.title[:8] in out, out
    kept = _kept(tmp_path, "shopify")
    [link] = re.findall(r"https://shop\.example\.com/\S+", out.split("这个还有吗", 1)[-1]) or [""]
    assert link and parse_qs(urlsplit(link).query)["utm_campaign"] == [kept.tag], out
