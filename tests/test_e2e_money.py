"""The money loop end to end through the console, the app and the sandbox over HTTP: members of two
groups search, the sandbox's leagues place orders for the links they issued, `tuike orders sync`
stores them, and `佣金` in each group shows that group's own figures (owner only)."""

from __future__ import annotations

import asyncio
import io
import json
import re
import time
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from sqlmodel import Session, select

from bot.app import App
from bot.chat.console import ConsoleChannel
from bot.cli import cli
from bot.config import load_config
from bot.store import db
from bot.store.models import OrderRow
from tests.test_e2e_jd_pdd import _config
from tuike_sandbox.server import SandboxServer

FACES = ("/router/rest", "/routerjson", "/api/router")


async def _console(config: Path, lines: str) -> str:
    out = io.StringIO()
    channel = ConsoleChannel(
        bot_name="推客小助手",
        room="甲群",
        member="小明",
        owner="群主",
        stdin=io.StringIO(lines),
        stdout=out,
        interactive=False,
    )
    await App(load_config(config), channel=channel).run()
    return out.getvalue()


async def _tuike(config: Path, *args: str) -> tuple[int, str]:
    """The CLI in a worker thread: the sandbox keeps serving on this loop meanwhile."""
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["--config", str(config), *args])
    return result.exit_code, result.output


def _figures(report: str) -> dict[str, tuple[int, int]]:
    """`佣金` replies → group → (orders, estimated fen) for 本月."""
    out = {}
    for block in report.split("📊 ")[1:]:
        name = block.split("｜", 1)[0]
        month = re.search(r"【本月】🧾 (\d+) 单.*?预估佣金 ¥(\d+)\.(\d\d)", block, re.S)
        out[name] = (int(month[1]), int(month[2]) * 100 + int(month[3])) if month else (0, 0)
    return out


async def test_two_groups_each_see_their_own_commission(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    behind = lambda: time.time() - 360  # noqa: E731 - links issued six minutes ago have sold by now
    sandbox.state.clock = behind
    for path in FACES:
        sandbox.face(path).clock = behind
    config = _config(
        write_config,
        sandbox,
        extra="\n[deals]\nresults_per_search = 3\n[orders]\nlookback_days = 1\n[rebate]\nenabled = true\n",
    )
    searches = await _console(
        config,
        "找 空气炸锅\n找 蓝牙耳机\n/room 乙群\n找 手机\n",
    )
    assert "空气炸锅" in searches and "手机" in searches

    code, synced = await _tuike(config, "orders", "sync")
    assert code == 0, synced
    for league in ("channels", "taobao", "jd", "pdd"):
        assert f"{league}: 取到" in synced

    code, lines = await _tuike(config, "report", "--json")
    assert code == 0, lines
    rows = [json.loads(line) for line in lines.splitlines()]
    by_name = {row["name"]: row for row in rows if row["group"] is not None}
    unattributed = [row for row in rows if row["group"] is None]
    assert len(unattributed) == 1
    assert set(by_name) == {"甲群", "乙群"}
    for row in rows:
        assert {"group", "name", "orders", "paid_fen", "estimated_fen", "settled_fen"} <= set(row)
    assert by_name["甲群"]["orders"] > 0 and by_name["乙群"]["orders"] > 0
    assert by_name["甲群"]["requests"] == 2 and by_name["乙群"]["requests"] == 1

    asked = await _console(
        config,
        "佣金\n/owner\n佣金\n/room 乙群\n/owner\n收益\n",
    )
    assert "这个只有群主能设置哦" in asked.split("📊")[0]  # a member is refused
    shown = _figures(asked)
    for name in ("甲群", "乙群"):
        row = by_name[name]
        assert shown[name] == (row["orders"], row["estimated_fen"]), (name, asked)

    # a member who bought through a link binds the order in private chat and sees the rebate coming
    engine = db.make_engine(f"sqlite:///{config.parent / 'data' / 'tuike.db'}")
    with Session(engine) as session:
        order = session.exec(
            select(OrderRow).where(OrderRow.status == "pending", OrderRow.commission_fen > 0)
        ).first()
    engine.dispose()
    assert order is not None
    rebate = order.commission_fen // 2
    private = await _console(config, f"/private\n绑定 {order.order_id}\n余额\n绑定 {order.order_id}\n")
    assert f"确认收货后返 ¥{rebate // 100}.{rebate % 100:02d}" in private
    assert f"待结算：¥{rebate // 100}.{rebate % 100:02d}" in private
    assert "你已经绑定过了" in private
