"""Members ask, the bot answers — end to end through the console channel, the app and the sandbox
league over HTTP on 127.0.0.1 (the same path `tuike run` takes)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.app import App
from bot.chat.base import Incoming, MessageHandler, Outgoing
from bot.config import load_config
from tests.e2e import channels_section, run_console
from tuike_sandbox.server import SandboxServer

pytestmark = pytest.mark.usefixtures("loop_watchdog")

LINK = re.compile(r"https://store\.weixin\.qq\.com/shop/a/[A-Za-z0-9]+")


def _config(write_config: Callable[..., Path], sandbox: SandboxServer, extra: str = "") -> Path:
    return write_config(
        channels_section(sandbox.base_url)
        + f"""
{extra}
"""
    )


_run = run_console


async def test_keyword_search_then_paste_the_link_back(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    config = _config(write_config, sandbox)
    out = await _run(config, "找 蓝牙耳机\n")
    assert out.startswith("@小明 为你找到「蓝牙耳机」的好价")
    links = LINK.findall(out)
    assert len(links) == 3
    assert all(link.sharer_appid == "wx_sharer_demo02" for link in sandbox.state.links.values())
    # a member re-shares one of those links later (after a restart): the bot knows the product
    again = await _run(config, f"这个还有券吗 {links[0]}\n")
    assert "🛍" in again
    assert links[0] in again


async def test_link_kinds_several_links_unsupported_and_unknown(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    config = _config(write_config, sandbox, extra="\n[deals]\nmax_links_per_message = 2\n")
    out = await _run(
        config,
        "https://item.jd.com/100012043978.html\n"
        "https://store.weixin.qq.com/shop/a/NoSuchToken1\n"
        "【淘宝】https://m.tb.cn/h.5AMOUBE?tk=o63GWJTAyv1 CZ0002 「耳机」点击链接直接打开\n"
        "https://mobile.yangkeduo.com/goods.html?goods_id=123456789 https://item.jd.com/1.html https://u.jd.com/AbC1dEf\n",
    )
    assert "京东的链接暂不支持" in out
    assert "没找到这个商品的优惠" in out
    assert "淘宝/天猫的链接暂不支持" in out
    assert out.count("暂不支持") == 1 + 1 + 2, "two of the three links in the last message are answered"


async def test_league_fault_gets_a_friendly_answer(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    sandbox.state.reset_faults(error_rate=1.0)
    out = await _run(_config(write_config, sandbox), "找 纸巾\n")
    assert "稍后再试" in out
    assert "Traceback" not in out
    sandbox.state.reset_faults(quota_exhausted=True)
    out = await _run(_config(write_config, sandbox), "找 洗衣液\n")
    assert "额度用完" in out


async def test_rate_limit_mentions_and_private_chat(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    config = _config(write_config, sandbox, extra="\n[deals]\nmember_requests = 2\n")
    out = await _run(
        config, "找 牛奶\n找 牛奶\n找 牛奶\n找 牛奶\n蓝牙耳机\n/as 小红\n@推客小助手 猫粮\n/private\n口红\n"
    )
    assert out.count("为你找到「牛奶」") == 2
    assert out.count("太快了") == 1, "one warning, then silence"
    assert "「蓝牙耳机」" not in out, "a bare keyword in a group needs an @mention"
    assert "@小红 为你找到「猫粮」" in out
    assert "为你找到「口红」" in out, "a private chat is a group of one: no mention needed"


class ScriptedChannel:
    """Delivers the given messages, records what the app sends back."""

    name = "scripted"

    def __init__(self, messages: list[Incoming]) -> None:
        self.messages = messages
        self.sent: list[Outgoing] = []

    async def run(self, handler: MessageHandler) -> None:
        for message in self.messages:
            await handler(message)

    async def send(self, message: Outgoing) -> None:
        self.sent.append(message)

    async def stop(self) -> None:
        return None


@pytest.mark.parametrize("owner_sharer", ["", "wx_sharer_demo03"])
async def test_duplicate_delivery_gets_one_answer_and_links_credit_the_group(
    sandbox: SandboxServer, write_config: Callable[..., Path], owner_sharer: str
) -> None:
    config = _config(write_config, sandbox)
    loaded = load_config(config)
    if owner_sharer:
        from bot.store import db
        from bot.store.groups import ensure_group
        from bot.store.models import Group

        def bind_owner_sharer() -> None:
            engine = db.make_engine(loaded.settings.database_url)
            db.upgrade(engine)
            group = ensure_group(engine, "room-9@chatroom", "九群")
            with db.session_scope(engine) as session:
                row = session.get(Group, group.id)
                assert row is not None
                row.channels_sharer_appid = owner_sharer
            engine.dispose()

        await asyncio.to_thread(bind_owner_sharer)  # set-up, off the loop the watchdog watches
    message = Incoming("dup-1", "room-9@chatroom", "九群", "u1", "阿强", "找 充电宝")
    channel = ScriptedChannel([message, message])
    await App(loaded, channel=channel).run()
    assert len(channel.sent) == 1
    assert {link.sharer_appid for link in sandbox.state.links.values()} == {
        owner_sharer or "wx_sharer_demo02"
    }


async def test_broken_operator_template_falls_back_and_tells_the_admin_chat(
    sandbox: SandboxServer, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "help.j2").write_text("{{ bot_name }} 的帮助\n{{ no_such_thing }}\n", encoding="utf-8")
    config = _config(write_config, sandbox, extra=f'\n[templates]\ndir = "{folder.as_posix()}"\n')
    config.write_text(
        config.read_text(encoding="utf-8").replace("[bot]", '[bot]\nadmin_chat = "admin-room"'),
        encoding="utf-8",
    )
    channel = ScriptedChannel([Incoming("h1", "room-1", "一群", "u1", "小明", "帮助")])
    await App(load_config(config), channel=channel).run()
    by_chat = {m.chat_id: m for m in channel.sent}
    assert "找 蓝牙耳机" in by_chat["room-1"].reply.parts[0].text  # type: ignore[union-attr]
    notice = by_chat["admin-room"].reply.parts[0].text  # type: ignore[union-attr]
    assert "help.j2:2" in notice


async def test_sandbox_faults_from_the_config(write_config: Callable[..., Path]) -> None:
    config = write_config("[leagues.channels]\nsandbox_error_rate = 1.0\nmax_retries = 0\n")
    out = await _run(config, "找 纸巾\n")
    assert "稍后再试" in out


async def test_owner_commands_and_help_keep_the_store_off_the_event_loop(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    """订阅 / 订阅状态 / 帮助 read and write subscriptions and groups: all of it off the loop (the
    watchdog fails the test on any store query on the loop's thread)."""
    config = _config(write_config, sandbox)
    out = await _run(config, "/owner\n@推客小助手 订阅 每日好物 9点\n@推客小助手 订阅状态\n帮助\n")
    assert "09:00" in out
    assert out.count("每日好物") >= 2


async def test_a_lone_surrogate_in_the_message_still_gets_an_answer(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    """A broken client or a cut emoji leaves half a UTF-16 pair; it has no UTF-8 form."""
    config = _config(write_config, sandbox)
    out = await _run(config, "找 蓝牙耳机\udc80\n\ud83d帮助\n")
    assert "为你找到「蓝牙耳机」的好价" in out
    assert len(LINK.findall(out)) == 3
    assert "找 蓝牙耳机" in out.split("好价", 1)[1]  # the help text came too
    assert "出了点小问题" not in out
