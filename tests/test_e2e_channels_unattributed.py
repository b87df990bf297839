"""Channels orders that came through the operator's default sharer name no group — a Channels order
carries only its sharer back, and the promotion-link calls take no per-link parameter (see
bot/services/unattributed.py). End to end through the console channel, the app, `tuike orders sync`
and the web console, against the sandbox's Channels face over HTTP on 127.0.0.1: 佣金 in a group
without its own 推客 says plainly that its 微信小店 orders are not counted, why, and how to have them
counted; a group with its own 推客 is credited and told nothing; the console says, order by order,
why an order is on no group."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlmodel import Session, select

from bot.cli import cli
from bot.config import load_config
from bot.leagues.base import Order
from bot.store import db
from bot.store.models import Group, OrderRow, SharerBinding
from bot.store.orders import store_window
from tests.e2e import channels_section, run_console
from tests.web.conftest import serve_console
from tuike_sandbox.server import SandboxServer

DEFAULT_SHARER = "wx_sharer_demo02"
"""`[leagues.channels] sharer_appid` of `channels_section`: the operator's default."""
OWN_SHARER = "wx_sharer_demo03"
NOTE = "微信小店的订单没算在上面"


def _month(reply: str) -> int:
    found = re.search(r"【本月】🧾 (\d+) 单", reply)
    return int(found[1]) if found else 0


async def test_default_sharer_orders_are_said_unattributed_with_why_in_chat_and_console(
    sandbox: SandboxServer, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    sandbox.state.clock = lambda: time.time() - 360  # links issued six minutes ago have sold by now
    config = write_config(channels_section(sandbox.base_url) + "\n[orders]\nlookback_days = 1\n")
    asked = await run_console(
        config,
        "找 空气炸锅\n/room 乙群\n/owner\n绑定推客 " + OWN_SHARER + "\n找 空气炸锅\n",
        room="甲群",
    )
    assert "空气炸锅" in asked and "绑定成功" in asked
    engine = db.make_engine(f"sqlite:///{config.parent / 'data' / 'tuike.db'}")
    with Session(engine) as session:  # the owner bound an hour ago: before the sandbox's orders were placed
        for binding in session.exec(select(SharerBinding)):
            binding.bound_at -= timedelta(hours=1)
            session.add(binding)
        session.commit()
    sync = await asyncio.to_thread(CliRunner().invoke, cli, ["--config", str(config), "orders", "sync"])
    assert sync.exit_code == 0 and "channels: 取到" in sync.output, sync.output

    try:
        with Session(engine) as session:
            groups = {g.name: g for g in session.exec(select(Group))}
            rows = list(session.exec(select(OrderRow).where(OrderRow.league == "channels")))
        assert groups["乙群"].channels_sharer_appid == OWN_SHARER and not groups["甲群"].channels_sharer_appid
        through_default = [r for r in rows if r.sharer_appid == DEFAULT_SHARER]
        assert through_default and all(r.group_id is None for r in through_default)
        assert any(r.group_id == groups["乙群"].id for r in rows), "the own sharer's orders are credited"

        # 佣金: the unbound group hears why its 微信小店 orders are missing; the bound one is counted
        replies = (await run_console(config, "/owner\n佣金\n/room 乙群\n/owner\n佣金\n", room="甲群")).split(
            "📊 "
        )[1:]
        first, second = replies
        assert first.startswith("甲群") and second.startswith("乙群")
        assert NOTE in first and "默认推客" in first and "分不出是哪个群" in first
        assert "绑定推客" in first, "the owner is told how to have the next orders counted"
        assert _month(first) == 0
        assert NOTE not in second and _month(second) > 0

        # an order through a sharer no group held, to tell the two apart on the console
        stray = Order("3900000000001", "1", "p", "蓝牙耳机", 9_900, 990, "pending", "wx_sharer_demo04",
                      rows[0].created_at, rows[0].created_at)  # fmt: skip
        store_window(engine, "channels", [(stray, None)], rows[0].created_at)

        settings = load_config(config).settings
        async for console in serve_console(tmp_path, engine, settings=settings):
            client = await console.logged_in()
            listing = (await client.get("/orders", params={"group": "none"})).text
            assert listing.count("默认推客带来的，分不出是哪个群") == len(through_default)
            assert listing.count("下单时这个推客没绑定在哪个群") == 1
            link = re.search(rf'<a href="(/orders/\d+)">{through_default[0].order_id}</a>', listing)
            assert link, listing
            page = (await client.get(link[1])).text
            assert "未归属" in page and "运营的默认推客" in page
            assert "只带回推客，不带群标记，也不带链接编号" in page and "绑定推客" in page
            stray_link = re.search(r'<a href="(/orders/\d+)">3900000000001</a>', listing)
            assert stray_link
            stray_page = (await client.get(stray_link[1])).text
            assert "下单时没有绑定在哪个群上" in stray_page and "运营的默认推客" not in stray_page
    finally:
        engine.dispose()
