"""Group discovery: after a channel starts, every group its account is in becomes a row (with the
account, name and owner the platform gives), not only the groups where someone asked the bot."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.chat.base import GroupInfo, ListsGroups
from bot.chat.console import ConsoleChannel
from bot.chat.ilink import IlinkChannel
from bot.store.groups import all_groups, find_group
from bot.store.models import Group
from tests.chat.fake_gateway import FakeGateway
from tests.chat.fake_http import serve_asgi, wait_until
from tests.chat.test_gateway import (
    ALICE,
    ALICE_NAME,
    APP_ID,
    BOT,
    BOT_NAME,
    OWNER,
    OWNER_NAME,
    ROOM,
    ROOM_NAME,
    TOKEN,
    ask,
    running_app,
    write_config,
)
from tests.e2e import running_console
from tuike_sandbox.server import SandboxServer

QUIET_ROOM, QUIET_NAME, QUIET_OWNER = "38812000123@chatroom", "宝妈团购群", "wxid_mom"
UNSAVED_ROOM = "44400011@chatroom"
HIDDEN_ROOM = "55500022@chatroom"


def rows_of(engine: Engine | None) -> dict[str, Group]:
    assert engine is not None
    return {g.room_id: g for g in all_groups(engine)}


def test_channels_with_groups_list_them_and_ilink_does_not() -> None:
    console = ConsoleChannel(bot_name="推客小助手", room="测试群", member="小明", owner="群主")
    assert isinstance(console, ListsGroups)
    ilink = IlinkChannel(base_url="http://127.0.0.1:9", token="t", account="bot@im.bot")
    assert not isinstance(ilink, ListsGroups), "iLink serves private chats only: it has no groups"


async def test_the_console_lists_its_pretend_group() -> None:
    console = ConsoleChannel(
        bot_name="推客小助手", room="测试群", member="小明", owner="群主", stdin=io.StringIO("")
    )
    assert await console.list_groups() == [GroupInfo("console:测试群", "测试群", "console:群主", "群主")]


async def test_tuike_run_on_the_console_records_its_group_before_anyone_speaks(
    tmp_path: Path, write_config: object
) -> None:
    config = write_config("")  # type: ignore[operator]
    async with running_console(config) as console:
        app = console.app
        await wait_until(lambda: app.engine is not None and "console:测试群" in rows_of(app.engine), 20)
    group = rows_of(app.engine)["console:测试群"]
    assert (group.name, group.owner_id, group.owner_name, group.account) == (
        "测试群",
        "console:群主",
        "群主",
        "console",
    )


async def test_a_gateway_account_records_every_group_in_its_contacts(
    tmp_path: Path, sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Groups saved to the contacts are recorded with their names and owners, including one where nobody
    ever spoke; a group whose info the gateway will not give is recorded by its id; and a member asking
    in the known group is answered as before."""
    gateway = FakeGateway(token=TOKEN, app_id=APP_ID, bot_wxid=BOT, bot_name=BOT_NAME)
    gateway.add_room(ROOM, ROOM_NAME, OWNER, {ALICE: ALICE_NAME, OWNER: OWNER_NAME})
    gateway.add_room(QUIET_ROOM, QUIET_NAME, QUIET_OWNER, {QUIET_OWNER: "宝妈"})
    gateway.add_room(UNSAVED_ROOM, "没存通讯录的群", OWNER, {}, saved=False)
    gateway.friends = [ALICE, OWNER]
    caplog.set_level(logging.INFO, logger="bot.app")
    gateway.add_room(HIDDEN_ROOM, "解散了的群", OWNER, {}).gone = True
    async with (
        serve_asgi(gateway.app) as url,
        running_app(write_config(tmp_path, f"{url}/v2/api", sandbox)) as app,
    ):
        await wait_until(lambda: any("group(s)" in r.getMessage() for r in caplog.records), 20)
        rows = rows_of(app.engine)
        account = f"gateway:{APP_ID}"
        assert {(r.room_id, r.name, r.owner_id, r.owner_name, r.account) for r in rows.values()} == {
            (ROOM, ROOM_NAME, OWNER, OWNER_NAME, account),
            (QUIET_ROOM, QUIET_NAME, QUIET_OWNER, "宝妈", account),
            (HIDDEN_ROOM, "", "", "", account),
        }
        assert UNSAVED_ROOM not in rows, "GeWe lists only the groups saved to the contacts"
        (reply,) = await ask(gateway, "帮助")
        assert reply.to == ROOM
    assert any(path == "/contacts/fetchContactsList" for path, _ in gateway.calls)


async def test_a_gateway_that_refuses_the_contacts_list_costs_only_the_discovery(
    tmp_path: Path, sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = FakeGateway(token=TOKEN, app_id=APP_ID, bot_wxid=BOT, bot_name=BOT_NAME)
    gateway.add_room(ROOM, ROOM_NAME, OWNER, {ALICE: ALICE_NAME, OWNER: OWNER_NAME})
    gateway.contacts_refusal = "获取通讯录超时，请稍后重试"
    caplog.set_level(logging.WARNING, logger="bot.app")
    async with (
        serve_asgi(gateway.app) as url,
        running_app(write_config(tmp_path, f"{url}/v2/api", sandbox)) as app,
    ):
        await wait_until(lambda: any("not listed" in r.getMessage() for r in caplog.records), 20)
        (reply,) = await ask(gateway, "帮助")
        assert reply.to == ROOM
        assert app.engine is not None and find_group(app.engine, ROOM) is None, "nothing was listed"
    warning = next(r.getMessage() for r in caplog.records if "not listed" in r.getMessage())
    assert "获取通讯录超时" in warning and TOKEN not in warning
