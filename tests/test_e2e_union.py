"""Members find mini-program union products end to end: console channel → app → the sandbox's union face
over HTTP on 127.0.0.1 (the path `tuike run` takes with `[leagues.union]` on the sandbox)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import select

from bot.app import App
from bot.config import load_config
from bot.leagues.union.spots import group_tag
from bot.store import db
from bot.store.models import LeagueSpot
from tests.e2e import run_console
from tuike_sandbox.union_face import PREFIX

UNION_LINK = re.compile(r"https://mmbizurl\.cn/s/[A-Za-z0-9_\-]+")

CONFIG = """
[leagues.channels]
enabled = false

[leagues.union]
enabled = true
sandbox = true

[deals]
leagues = ["union"]
"""


async def _run(config: Path, lines: str) -> str:
    return await run_console(config, lines, room="宝妈省钱群")


async def test_search_answers_with_the_groups_union_links_and_a_mini_program_card(
    write_config: Callable[..., Path],
) -> None:
    config = write_config(CONFIG)
    out = await _run(config, "找 蓝牙耳机\n/room 周末遛娃群\n找 蓝牙耳机\n")
    first, second = out.split("（你现在在「周末遛娃群」）")
    assert first.startswith("@小明 为你找到「蓝牙耳机」的好价")
    assert "【小程序联盟】" in first
    assert len(UNION_LINK.findall(first)) == 3
    assert "[小程序卡片]" in first and "path=pages/product/detail?productId=" in first
    # another group: its own spot, so its own links
    assert not set(UNION_LINK.findall(first)) & set(UNION_LINK.findall(second))

    settings = load_config(config).settings
    engine = db.make_engine(settings.database_url)
    try:
        with db.session_scope(engine) as session:
            rows = session.exec(select(LeagueSpot).where(LeagueSpot.league == "union")).all()
            kept = sorted((row.pid, row.tag) for row in rows)
    finally:
        engine.dispose()
    assert len(kept) == 2 and kept[0][0] != kept[1][0]
    assert all(len(tag) == len(group_tag("x")) for _, tag in kept) and kept[0][1] != kept[1][1]


async def test_a_pasted_union_link_is_answered_and_a_restart_reuses_the_spot(
    write_config: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    config = write_config(CONFIG)
    out = await _run(config, "找 纸巾\n")
    link = UNION_LINK.findall(out)[0]
    again = await _run(config, f"这个还有券吗 {link}\n找 洗衣液\n")
    assert link in again  # the same group's link for the same product
    assert "没找到" not in again
    assert again.count("[小程序卡片]") == 2
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # no token refused, no lost spot


async def test_a_union_link_when_the_union_is_off_is_not_supported(write_config: Callable[..., Path]) -> None:
    out = await _run(write_config(""), "看看 https://mmbizurl.cn/s/017btcGpB\n")
    assert "小程序联盟的链接暂不支持" in out


def test_the_union_face_is_in_the_sandbox_dispatch_table() -> None:
    from tuike_sandbox.server import SandboxServer

    server = SandboxServer()
    assert server.face(PREFIX + "order/search") is server.face(PREFIX + "promotion/add")


async def test_running_out_of_spots_tells_the_admin_chat_and_every_group_is_answered(
    write_config: Callable[..., Path],
) -> None:
    from bot.chat.base import Incoming, Text
    from bot.leagues.union.client import UnionClient
    from bot.leagues.union.league import UnionLeague
    from tests.test_e2e_deals import ScriptedChannel
    from tuike_sandbox.server import SandboxServer

    # a scripted channel is paced like a real account: the test's account may send as fast as it likes
    unpaced = "\n[push]\nrate_per_minute = 600\njitter_min_seconds = 0\njitter_max_seconds = 0\n"
    config = write_config('[bot]\nadmin_chat = "admin-room"\n' + CONFIG + unpaced)
    async with SandboxServer() as sandbox:
        face = sandbox.face(PREFIX + "promotion/add")
        face.union.max_spots = 3  # the default and two groups
        league = UnionLeague(UnionClient(sandbox.base_url, "wx_e2e_union", "s", backoff=0.001))
        asks = [
            Incoming(f"m{i}", f"room-{i}@chatroom", f"{i}号群", "u1", "阿强", "找 充电宝") for i in range(4)
        ]
        channel = ScriptedChannel(asks)
        await App(load_config(config), channel=channel, leagues={"union": league}).run()
        await league.aclose()
    answered = [m for m in channel.sent if m.chat_id != "admin-room"]
    assert len(answered) == 4
    assert all("mmbizurl.cn/s/" in m.reply.parts[0].text for m in answered)  # type: ignore[union-attr]
    notices = [m.reply.parts[0] for m in channel.sent if m.chat_id == "admin-room"]
    assert len(notices) == 1 and isinstance(notices[0], Text) and "推广位已用完（3/3）" in notices[0].text
    assert len(face.union.spots) == 3
