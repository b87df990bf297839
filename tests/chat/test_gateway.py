"""The gateway channel against a fake GeWe-shaped gateway over real HTTP on 127.0.0.1, the bot's webhook
server on a real port, and the sandbox league: what `tuike run` does with `[chat] kind = "gateway"`."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import re
import signal
import socket
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from bot.app import App
from bot.chat.base import Incoming, LinkCard, MiniProgramCard, Outgoing, Reply
from bot.chat.gateway import GatewayChannel
from bot.chat.gateway_client import GatewayError
from bot.chat.gateway_messages import at_list, card_text, joined_members
from bot.cli import cli
from bot.config import load_config, parse_settings
from bot.jobs import Jobs, plan
from bot.push.slots import next_slot
from bot.store import chat_state, subscriptions
from bot.store.groups import find_groups
from tests.chat.fake_gateway import FakeGateway
from tests.chat.fake_http import serve_asgi, wait_until
from tuike_sandbox.server import SandboxServer

BOT, BOT_NAME = "wxid_bot01", "推客小助手"
ALICE, ALICE_NAME = "wxid_alice", "小红"
BOB, BOB_NAME = "wxid_bob", "小明"
OWNER, OWNER_NAME = "wxid_owner", "群主老王"
ROOM, ROOM_NAME = "20870958924@chatroom", "省钱群"
TOKEN, APP_ID = "gewe-token-5c1d9e", "wx_app_7f3a"
LINK = re.compile(r"https://store\.weixin\.qq\.com/shop/a/[A-Za-z0-9]+")


@pytest.fixture
def gateway() -> FakeGateway:
    fake = FakeGateway(token=TOKEN, app_id=APP_ID, bot_wxid=BOT, bot_name=BOT_NAME)
    fake.add_room(ROOM, ROOM_NAME, OWNER, {ALICE: ALICE_NAME, OWNER: OWNER_NAME})
    return fake


@pytest.fixture
async def gateway_base(gateway: FakeGateway) -> AsyncIterator[str]:
    async with serve_asgi(gateway.app) as url:
        yield f"{url}/v2/api"


def write_config(
    tmp_path: Path, base_url: str, sandbox: SandboxServer, *, gateway_extra: str = "", extra: str = ""
) -> Path:
    """A `[chat] kind = "gateway"` config; `gateway_extra` lines go in `[chat.gateway]`."""
    path = tmp_path / "config.toml"
    path.write_text(
        textwrap.dedent(
            f"""\
            [bot]
            name = "{BOT_NAME}"
            data_dir = "{(tmp_path / "data").as_posix()}"

            [push]
            rate_per_minute = 600
            jitter_min_seconds = 0
            jitter_max_seconds = 0

            [chat]
            kind = "gateway"

            [chat.gateway]
            base_url = "{base_url}"
            token = "{TOKEN}"
            app_id = "{APP_ID}"
            listen = "127.0.0.1:0"
            {gateway_extra}

            [leagues.channels]
            sandbox = false
            base_url = "{sandbox.base_url}"
            appid = "wx_gateway_org"
            secret = "gateway-secret"
            sharer_appid = "wx_sharer_demo02"
            max_retries = 1
            """
        )
        + textwrap.dedent(extra),
        encoding="utf-8",
    )
    return path


@contextlib.asynccontextmanager
async def running_app(config: Path) -> AsyncIterator[App]:
    app = App(load_config(config))
    task = asyncio.create_task(app.run())
    try:
        await wait_until(lambda: task.done() or getattr(app.channel, "logged_in", False), within=15)
        if task.done():
            task.result()
        yield app
    finally:
        await asyncio.wait_for(app.stop(), 10)
        await asyncio.wait_for(task, 10)


@pytest.fixture
async def bot(tmp_path: Path, gateway_base: str, sandbox: SandboxServer) -> AsyncIterator[App]:
    async with running_app(write_config(tmp_path, gateway_base, sandbox)) as app:
        yield app


async def ask(gateway: FakeGateway, text: str, *, replies: int = 1, **kw: object) -> list:  # type: ignore[type-arg]
    before = len(gateway.sent)
    answer = await gateway.deliver(gateway.text(text, **{"sender": ALICE, "room": ROOM, **kw}))  # type: ignore[arg-type]
    assert answer.status_code == 200
    await gateway.wait_sent(before + replies)
    return gateway.sent[before : before + replies]


# -- what members see ----------------------------------------------------------------------------------


async def test_a_keyword_request_is_answered_in_the_group_with_an_at_of_the_asker(
    bot: App, gateway: FakeGateway
) -> None:
    assert gateway.callback_tests == 1, "the bot registered its webhook with /tools/setCallback"
    (reply,) = await ask(gateway, "找 蓝牙耳机")
    assert reply.path == "/message/postText"
    assert reply.to == ROOM
    assert reply.ats == ALICE
    assert reply.content.startswith(f"@{ALICE_NAME}\u2005")
    assert "蓝牙耳机" in reply.content
    assert len(LINK.findall(reply.content)) == 3


async def test_a_pasted_link_gets_this_groups_link_back(bot: App, gateway: FakeGateway) -> None:
    (found,) = await ask(gateway, "找 蓝牙耳机")
    link = LINK.findall(found.content)[0]
    (reply,) = await ask(gateway, f"这个有券吗 {link}", mention=False)
    assert reply.ats == ALICE
    assert LINK.search(reply.content)


async def test_a_redelivered_message_is_answered_once(bot: App, gateway: FakeGateway) -> None:
    message = gateway.text("帮助", sender=ALICE, room=ROOM)
    for _ in range(3):  # the gateway thought the call failed and sends it again
        assert (await gateway.deliver(message)).status_code == 200
    (help_reply,) = await gateway.wait_sent(1)
    channel = bot.channel
    await wait_until(lambda: channel.duplicates_dropped == 2)  # type: ignore[union-attr]
    (keyword_reply,) = await ask(gateway, "找 蓝牙耳机")  # handled after the resends: they got nothing
    assert gateway.sent == [help_reply, keyword_reply]
    assert "蓝牙耳机" in keyword_reply.content


async def test_the_bots_own_messages_and_unmentioned_chatter_get_no_answer(
    bot: App, gateway: FakeGateway
) -> None:
    own = gateway.text("帮助", sender=BOT, room="")
    own["Data"]["FromUserName"] = {"string": BOT}
    own["Data"]["ToUserName"] = {"string": ALICE}
    await gateway.deliver(own)
    await gateway.deliver(gateway.text("今天天气不错", sender=ALICE, room=ROOM, mention=False))
    await gateway.deliver(
        gateway.text("找 蓝牙耳机", sender="gh_3dfda90e39d6", room="")
    )  # an official account
    await gateway.deliver(gateway.text("帮助", sender="weixin", room=""))  # WeChat's own team chat
    (reply,) = await ask(gateway, "帮助")  # the next answer is to this, not to the two before
    assert "帮助" in reply.content or BOT_NAME in reply.content
    assert len(gateway.sent) == 1


async def test_a_private_chat_is_answered_without_an_at(bot: App, gateway: FakeGateway) -> None:
    answer = await gateway.deliver(gateway.text("找 蓝牙耳机", room="", sender=BOB))
    assert answer.status_code == 200
    # a private search still running after 2 s first says "正在帮你找…" (a loaded machine can take that
    # long): wait for the answer itself, whatever came before it
    await wait_until(lambda: any(LINK.search(sent.content) for sent in gateway.sent), within=15)
    *before, reply = gateway.sent
    assert all("正在帮你找" in notice.content for notice in before)
    for sent in gateway.sent:
        assert sent.to == BOB
        assert "ats" not in sent.body
    assert LINK.search(reply.content)


async def test_webhook_calls_without_the_secret_or_broken_are_refused_and_the_bot_goes_on(
    bot: App, gateway: FakeGateway
) -> None:
    message = gateway.text("帮助", sender=ALICE, room=ROOM)
    assert (await gateway.deliver(message, secret="guessed")).status_code == 403
    assert (await gateway.deliver(message, secret="")).status_code == 403
    assert (await gateway.deliver(None, raw=b"{not json")).status_code == 400
    assert (await gateway.deliver(None, raw=b"[1, 2]")).status_code == 400
    huge = b'{"TypeName": "AddMsg", "pad": "' + b"x" * 2_000_000 + b'"}'
    assert (await gateway.deliver(None, raw=huge)).status_code == 413
    odd = gateway.text("帮助", sender=ALICE, room=ROOM, msg_type=3)  # an image: not for us
    assert (await gateway.deliver(odd)).status_code == 200
    assert (await gateway.deliver({"TypeName": "ModContacts", "Data": {}})).status_code == 200
    (reply,) = await ask(gateway, "帮助")
    assert reply.to == ROOM
    assert len(gateway.sent) == 1, "nothing was answered for the refused or unknown calls"


async def test_a_new_member_is_welcomed_through_the_paced_sender(
    tmp_path: Path, gateway_base: str, gateway: FakeGateway, sandbox: SandboxServer
) -> None:
    config = write_config(tmp_path, gateway_base, sandbox, gateway_extra="welcome_on_join = true")
    async with running_app(config):
        await gateway.deliver(gateway.joined(ROOM, OWNER, BOB, BOB_NAME))
        (welcome,) = await gateway.wait_sent(1)
    assert welcome.to == ROOM
    assert BOB_NAME in welcome.content


def block_room(tmp_path: Path, room: str, name: str) -> None:
    """The operator blocked `room` in the web console (before this start)."""
    from bot.store import db
    from bot.store.groups import ensure_group, set_blocked

    (tmp_path / "data").mkdir(exist_ok=True)
    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'tuike.db'}")
    try:
        db.upgrade(engine)
        set_blocked(engine, ensure_group(engine, room, name, OWNER, f"gateway:{APP_ID}").id or 0, True)
    finally:
        engine.dispose()


async def test_no_welcome_in_a_group_outside_the_allow_list_or_blocked(
    tmp_path: Path,
    gateway_base: str,
    gateway: FakeGateway,
    sandbox: SandboxServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 33 #5: the channel called the join hook itself, around the router's allow-list and blocks,
    so both rooms got the welcome."""
    caplog.set_level(logging.INFO, "bot.chat.gate")
    outside, blocked = "11111111111@chatroom", "22222222222@chatroom"
    gateway.add_room(outside, "别人的群", OWNER, {OWNER: OWNER_NAME})
    gateway.add_room(blocked, "拉黑的群", OWNER, {OWNER: OWNER_NAME})
    block_room(tmp_path, blocked, "拉黑的群")
    config = write_config(tmp_path, gateway_base, sandbox, gateway_extra="welcome_on_join = true")
    allow = f'kind = "gateway"\nallowed_groups = ["{ROOM}", "{blocked}"]'
    config.write_text(config.read_text().replace('kind = "gateway"', allow, 1))
    async with running_app(config):
        await gateway.deliver(gateway.joined(outside, OWNER, BOB, BOB_NAME))
        await gateway.deliver(gateway.joined(blocked, OWNER, BOB, BOB_NAME))
        await gateway.deliver(gateway.joined(ROOM, OWNER, BOB, BOB_NAME))
        await wait_until(
            lambda: (
                len(gateway.sent) >= 3 or (len(gateway.sent) >= 1 and caplog.text.count("not sent to") >= 2)
            ),
            within=15,
        )
    assert [s.to for s in gateway.sent] == [ROOM], "only the allowed, unblocked group is welcomed"
    assert BOB_NAME in gateway.sent[0].content


async def test_a_message_redelivered_after_a_restart_is_not_answered_again(
    tmp_path: Path, gateway_base: str, gateway: FakeGateway, sandbox: SandboxServer
) -> None:
    """Issue 33 #12: the seen-set was in memory, so a gateway resending a message after the bot
    restarted got it answered twice."""
    config = write_config(tmp_path, gateway_base, sandbox)
    asked = gateway.text("帮助", sender=ALICE, room=ROOM)
    async with running_app(config):
        assert (await gateway.deliver(asked)).status_code == 200
        await gateway.wait_sent(1)
    async with running_app(config) as again:
        assert (await gateway.deliver(asked)).status_code == 200  # the gateway resends it
        (answer,) = await ask(gateway, "我的ID")
        assert again.channel is not None and again.channel.duplicates_dropped == 1  # type: ignore[attr-defined]
    assert len(gateway.sent) == 2, "the redelivered message was not answered again"
    assert answer is gateway.sent[1]


async def test_an_owner_subscription_fires_its_slot_once(bot: App, gateway: FakeGateway) -> None:
    (answer,) = await ask(gateway, "订阅 每日好物 08:30", sender=OWNER)
    assert "08:30" in answer.content
    assert bot.push is not None
    zone = ZoneInfo("Asia/Shanghai")
    slot = next_slot("08:30", bot.push.clock(), zone)
    assert await bot.push.tick(slot + timedelta(minutes=1)) == 1
    (_answer, push) = await gateway.wait_sent(2)
    assert push.to == ROOM
    assert "ats" not in push.body
    assert await bot.push.tick(slot + timedelta(minutes=2)) == 0, "the slot is never pushed twice"


# -- login, outages, refusals --------------------------------------------------------------------------


async def test_a_logged_out_account_shows_the_login_qr_in_the_terminal_and_waits(
    tmp_path: Path,
    gateway_base: str,
    gateway: FakeGateway,
    sandbox: SandboxServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    gateway.online = False
    app = App(load_config(write_config(tmp_path, gateway_base, sandbox)))
    task = asyncio.create_task(app.run())
    try:
        await wait_until(lambda: any(p == "/login/checkLogin" for p, _ in gateway.calls), within=15)
        assert not getattr(app.channel, "logged_in", True)
        account = f"gateway:{APP_ID}"
        waiting = await asyncio.to_thread(chat_state.get_status, _engine_of(app), account)
        assert waiting is not None and not waiting.online and waiting.why == "等待扫码登录"
        shown = capsys.readouterr().out
        assert "扫码" in shown
        assert "█" in shown or "▀" in shown or "▄" in shown, "a QR code drawn in the terminal"
        gateway.login_confirmed = True
        await wait_until(lambda: getattr(app.channel, "logged_in", False), within=15)
        (reply,) = await ask(gateway, "帮助")
        assert reply.to == ROOM
        online = await asyncio.to_thread(chat_state.get_status, _engine_of(app), account)
        assert online is not None and online.online and online.since >= waiting.since
    finally:
        await app.stop()
        await asyncio.wait_for(task, 10)


async def test_a_gateway_down_at_start_is_waited_for(
    tmp_path: Path, gateway_base: str, gateway: FakeGateway, sandbox: SandboxServer
) -> None:
    gateway.down = True
    app = App(load_config(write_config(tmp_path, gateway_base, sandbox)))
    task = asyncio.create_task(app.run())
    try:
        await wait_until(lambda: app.channel is not None, within=10)
        app.channel.reconnect_delays = (0.05,)  # type: ignore[union-attr]
        app.channel.client.retry_delays = ()  # type: ignore[union-attr]
        await wait_until(lambda: gateway.refused_while_down >= 3 or task.done(), within=15)
        assert not task.done(), "a gateway that is down does not end the bot"
        gateway.down = False
        await wait_until(lambda: getattr(app.channel, "logged_in", False), within=15)
        (reply,) = await ask(gateway, "帮助")
        assert reply.to == ROOM
    finally:
        await app.stop()
        await asyncio.wait_for(task, 10)


async def test_a_refusing_gateway_gives_a_clear_error(gateway_base: str, gateway: FakeGateway) -> None:
    channel = GatewayChannel(base_url=gateway_base, token=TOKEN, app_id=APP_ID, retry_delays=())
    gateway.online = False
    with pytest.raises(GatewayError, match="微信已离线") as caught:
        await channel.send(Outgoing(ROOM, Reply.text("你好")))
    assert caught.value.logged_out
    gateway.online, gateway.refusal = True, "操作过于频繁，请稍后再试"
    with pytest.raises(GatewayError) as caught:
        await channel.send(Outgoing(ROOM, Reply.text("你好")))
    assert caught.value.throttled
    wrong = GatewayChannel(base_url=gateway_base, token="wrong", app_id=APP_ID, retry_delays=())
    with pytest.raises(GatewayError, match="X-GEWE-TOKEN"):
        await wrong.send(Outgoing(ROOM, Reply.text("你好")))
    await channel.client.aclose()
    await wrong.client.aclose()


async def test_cards_go_out_as_the_gateways_card_calls(gateway_base: str, gateway: FakeGateway) -> None:
    channel = GatewayChannel(base_url=gateway_base, token=TOKEN, app_id=APP_ID)
    reply = Reply(
        (
            LinkCard(
                url="https://example.com/d",
                title="好价",
                description="到手 39.9",
                thumbnail_url="https://example.com/t.jpg",
            ),
            MiniProgramCard(
                appid="wx_mp",
                title="蓝牙耳机",
                page_path="pages/p?id=1",
                thumb_url="https://example.com/c.jpg",
                username="gh_1@app",
            ),
        )
    )
    await channel.send(Outgoing(ROOM, reply))
    link, mini = gateway.sent
    assert (link.path, link.body["linkUrl"], link.body["title"]) == (
        "/message/postLink",
        "https://example.com/d",
        "好价",
    )
    assert (mini.path, mini.body["miniAppId"], mini.body["pagePath"]) == (
        "/message/postMiniApp",
        "wx_mp",
        "pages/p?id=1",
    )
    await channel.client.aclose()


def test_a_taken_webhook_port_stops_tuike_run_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        path = tmp_path / "config.toml"
        path.write_text(
            textwrap.dedent(
                f"""\
                [bot]
                data_dir = "{(tmp_path / "data").as_posix()}"
                [chat]
                kind = "gateway"
                allow_sandbox_with_real_chat = true
                [chat.gateway]
                base_url = "http://127.0.0.1:9/v2/api"
                token = "{TOKEN}"
                app_id = "{APP_ID}"
                listen = "127.0.0.1:{port}"
                """
            ),
            encoding="utf-8",
        )
        result = CliRunner().invoke(cli, ["--config", str(path), "run"])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert TOKEN not in result.output


# -- parsing the gateway's shapes ----------------------------------------------------------------------


def test_mentions_cards_and_joins_are_read_from_the_gateways_xml() -> None:
    assert at_list("<msgsource><atuserlist><![CDATA[,wxid_bot01,wxid_x]]></atuserlist></msgsource>") == {
        "wxid_bot01",
        "wxid_x",
    }
    assert at_list("<msgsource></msgsource>") == set()
    card = (
        '<?xml version="1.0"?><msg><appmsg appid=""><title>蓝牙耳机 39.9</title><type>33</type>'
        "<weappinfo><appid>wx8c3d</appid><pagepath>pages/p.html?link=https%3A%2F%2Fstore.weixin.qq.com"
        "%2Fshop%2Fa%2FT9WX95cCebFqe4F</pagepath><username>gh_1@app</username></weappinfo></appmsg></msg>"
    )
    assert card_text(card) == "https://store.weixin.qq.com/shop/a/T9WX95cCebFqe4F\n蓝牙耳机 39.9"
    url_card = "<msg><appmsg><title>好物</title><type>5</type><url>https://e.tb.cn/h.x</url></appmsg></msg>"
    assert card_text(url_card) == "https://e.tb.cn/h.x\n好物"
    assert card_text("<msg><broken") == ""
    assert joined_members(10000, '"群主老王"邀请"小明、小刚"加入了群聊') == (
        [("", "小明"), ("", "小刚")],
        "群主老王",
    )
    assert joined_members(10000, '"小明"通过扫描"小红"分享的二维码加入群聊') == ([("", "小明")], "小红")
    assert joined_members(10000, "你修改了群名") == ([], "")


# -- `tuike run` as an operator starts it --------------------------------------------------------------


async def _start(config: Path, cwd: Path) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUIKE_")}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-W", "error", "-m", "bot", "--config", str(config), "run",
        cwd=cwd, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def _sigterm(process: asyncio.subprocess.Process) -> str:
    process.send_signal(signal.SIGTERM)
    _out, err = await asyncio.wait_for(process.communicate(), 10)
    return err.decode()


async def test_tuike_run_serves_restarts_mid_conversation_and_stops_cleanly_on_sigterm(
    tmp_path: Path, gateway_base: str, gateway: FakeGateway, sandbox: SandboxServer
) -> None:
    config = write_config(tmp_path, gateway_base, sandbox)
    process = await _start(config, tmp_path)
    try:
        await wait_until(lambda: gateway.callback_tests == 1, within=30)
        (reply,) = await ask(gateway, "找 蓝牙耳机")
        assert reply.ats == ALICE
        first = gateway.text("帮助", sender=ALICE, room=ROOM)
        await gateway.deliver(first)
        await gateway.deliver(first)
        await gateway.wait_sent(2)
        err = await _sigterm(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err
    assert "SIGTERM received: stopping" in err
    assert "Traceback" not in err
    assert TOKEN not in err
    old_callback = gateway.callback_url
    # mid-conversation: the member goes on while the bot restarts; the gateway calls the same URL
    second = await _start(config, tmp_path)
    try:
        await wait_until(lambda: gateway.callback_tests == 2, within=30)
        secret = httpx.URL(gateway.callback_url).params["secret"]
        assert secret == httpx.URL(old_callback).params["secret"], "the webhook secret survives a restart"
        (reply,) = await ask(gateway, "找 保温杯")
        assert reply.ats == ALICE
        err = await _sigterm(second)
    finally:
        if second.returncode is None:
            second.kill()
            await second.wait()
    assert second.returncode == 0, err
    assert len(gateway.sent) == 3, "nothing answered twice across the restart"


async def test_webhook_server_answers_fast_while_the_member_waits_for_the_league(
    gateway_base: str, gateway: FakeGateway
) -> None:
    """The webhook call returns before the handler is done (a slow league never makes the gateway resend)."""
    release = asyncio.Event()
    got: list[Incoming] = []

    async def slow(message: Incoming) -> None:
        got.append(message)
        await release.wait()

    channel = GatewayChannel(base_url=gateway_base, token=TOKEN, app_id=APP_ID, listen_port=0)
    task = asyncio.create_task(channel.run(slow))
    try:
        await wait_until(lambda: channel.logged_in, within=15)
        answer = await gateway.deliver(gateway.text("帮助", sender=ALICE, room=ROOM))
        assert answer.status_code == 200
        await wait_until(lambda: len(got) == 1)
        assert got[0].mentioned and got[0].text == "帮助" and got[0].sender_name == ALICE_NAME
        assert got[0].chat_name == ROOM_NAME and not got[0].sender_is_owner
        async with httpx.AsyncClient() as client:
            assert (await client.get(channel.callback_url)).status_code == 200
    finally:
        release.set()
        await channel.stop()
        await asyncio.wait_for(task, 10)


async def test_two_gateway_accounts_on_one_database_each_push_only_their_own_group(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    """Two `tuike run` on one database, each with its own WeChat account in its own group: each daily
    slot goes out once, through the account that is in the group (before accounts, both tried both)."""
    other_room = "999@chatroom"
    first = FakeGateway(token=TOKEN, app_id=APP_ID, bot_wxid=BOT, bot_name=BOT_NAME)
    first.add_room(ROOM, ROOM_NAME, OWNER, {ALICE: ALICE_NAME})
    second = FakeGateway(token=TOKEN, app_id="wx_app_second", bot_wxid="wxid_bot02", bot_name=BOT_NAME)
    second.add_room(other_room, "团购群", OWNER, {ALICE: ALICE_NAME})
    database = f'[database]\nurl = "sqlite:///{(tmp_path / "shared.db").as_posix()}"\n'
    async with serve_asgi(first.app) as first_url, serve_asgi(second.app) as second_url:
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        config_a = write_config(tmp_path / "a", f"{first_url}/v2/api", sandbox, extra=database)
        config_b = write_config(tmp_path / "b", f"{second_url}/v2/api", sandbox, extra=database)
        config_b.write_text(config_b.read_text().replace(APP_ID, "wx_app_second"))
        async with running_app(config_a) as app_a, running_app(config_b) as app_b:
            await ask(first, "订阅 每日好物 08:30", sender=OWNER)
            before = len(second.sent)
            await second.deliver(second.text("订阅 每日好物 08:30", sender=OWNER, room=other_room))
            await second.wait_sent(before + 1)
            assert app_a.push is not None and app_b.push is not None
            assert app_a.push.instance != app_b.push.instance
            slot = next_slot("08:30", app_a.push.clock(), ZoneInfo("Asia/Shanghai"))
            late = slot + timedelta(minutes=1)
            queued = await asyncio.gather(app_a.push.tick(late), app_b.push.tick(late))
            assert queued == [1, 1], "each process queues its own group only"
            await first.wait_sent(2)
            await second.wait_sent(2)
            assert [s.to for s in first.sent] == [ROOM, ROOM]
            assert [s.to for s in second.sent] == [other_room, other_room]


async def test_a_gateway_that_goes_away_mid_push_fails_that_slot_and_the_bot_goes_on(
    tmp_path: Path, gateway_base: str, gateway: FakeGateway, sandbox: SandboxServer
) -> None:
    from bot.push import claims

    config = write_config(tmp_path, gateway_base, sandbox)
    config.write_text(config.read_text().replace("[push]\n", "[push]\nmax_send_attempts = 1\n"))
    async with running_app(config) as app:
        app.channel.client.retry_delays = ()  # type: ignore[union-attr]
        await ask(gateway, "订阅 每日好物 08:30", sender=OWNER)
        assert app.push is not None and app.engine is not None
        slot = next_slot("08:30", app.push.clock(), ZoneInfo("Asia/Shanghai"))
        gateway.down = True
        assert await app.push.tick(slot + timedelta(minutes=1)) == 1
        await wait_until(lambda: [r.status for r in claims.latest(app.engine)] == [claims.FAILED])
        (row,) = claims.latest(app.engine)
        assert "HTTP 503" in row.detail
        gateway.down = False
        (reply,) = await ask(gateway, "帮助")
        assert reply.to == ROOM
        assert await app.push.tick(slot + timedelta(minutes=2)) == 0, "a failed slot is not retried blindly"


async def test_messages_acknowledged_but_not_handled_at_a_stop_are_handled_after_the_restart(
    engine: Engine, gateway_base: str, gateway: FakeGateway
) -> None:
    release = asyncio.Event()
    first_run: list[str] = []

    async def slow(message: Incoming) -> None:
        first_run.append(message.text)
        await release.wait()

    channel = GatewayChannel(base_url=gateway_base, token=TOKEN, app_id=APP_ID, listen_port=0, engine=engine)
    task = asyncio.create_task(channel.run(slow))
    await wait_until(lambda: channel.logged_in, within=15)
    for text in ("第一条", "第二条", "第三条"):
        assert (await gateway.deliver(gateway.text(text, sender=ALICE, room=ROOM))).status_code == 200
    await wait_until(lambda: first_run == ["第一条"])
    await channel.stop()
    release.set()  # the message in flight finishes; the two behind it wait in the store
    await asyncio.wait_for(task, 10)
    assert first_run == ["第一条"]

    second_run: list[str] = []

    async def record(message: Incoming) -> None:
        second_run.append(message.text)

    again = GatewayChannel(base_url=gateway_base, token=TOKEN, app_id=APP_ID, listen_port=0, engine=engine)
    task = asyncio.create_task(again.run(record))
    try:
        await wait_until(lambda: len(second_run) == 2, within=15)
        assert second_run == ["第二条", "第三条"]
    finally:
        await again.stop()
        await asyncio.wait_for(task, 10)


def _engine_of(app: App) -> Engine:
    assert app.engine is not None
    return app.engine


async def test_a_send_refused_as_logged_out_is_recorded_for_the_console(
    gateway_base: str, gateway: FakeGateway, engine: Engine
) -> None:
    channel = GatewayChannel(
        base_url=gateway_base, token=TOKEN, app_id=APP_ID, retry_delays=(), engine=engine
    )
    gateway.online = False
    with pytest.raises(GatewayError):
        await channel.send(Outgoing(ROOM, Reply.text("你好")))
    status = await asyncio.to_thread(chat_state.get_status, engine, f"gateway:{APP_ID}")
    assert status is not None and not status.online and "没登录" in status.why
    await channel.client.aclose()


async def test_a_first_login_without_an_app_id_gets_one_shows_the_qr_and_keeps_it(
    tmp_path: Path,
    gateway_base: str,
    gateway: FakeGateway,
    sandbox: SandboxServer,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`app_id = ""`: the login asks the gateway for a QR code with an empty appId, shows it, and keeps
    the appId that came back (said in the log); the next start uses it without a new login."""
    gateway.online, gateway.gives_app_id = False, True
    config = write_config(tmp_path, gateway_base, sandbox)
    config.write_text(config.read_text(encoding="utf-8").replace(f'app_id = "{APP_ID}"', 'app_id = ""'))
    assert load_config(config).settings.chat.gateway.app_id == ""  # not a config error
    caplog.set_level(logging.INFO, logger="bot.chat.gateway")
    app = App(load_config(config))
    task = asyncio.create_task(app.run())
    try:
        await wait_until(lambda: any(p == "/login/checkLogin" for p, _ in gateway.calls), within=15)
        asked = [body for p, body in gateway.calls if p == "/login/getLoginQrCode"]
        assert asked and asked[0]["appId"] == ""
        assert "/login/checkOnline" not in [p for p, _ in gateway.calls]  # nothing to ask without an appId
        shown = capsys.readouterr().out
        assert "扫码" in shown and ("█" in shown or "▀" in shown or "▄" in shown)
        assert all(body["appId"] == APP_ID for p, body in gateway.calls if p == "/login/checkLogin")
        kept = [r.getMessage() for r in caplog.records if "first login" in r.getMessage()]
        assert kept and APP_ID in kept[0] and "kept" in kept[0]
        gateway.login_confirmed = True
        await wait_until(lambda: getattr(app.channel, "logged_in", False), within=15)
        (reply,) = await ask(gateway, "帮助")  # the webhook's Appid is the kept one: ours
        assert reply.to == ROOM
        stored = await asyncio.to_thread(chat_state.get, _engine_of(app), "gateway:", "app_id")
        assert stored == APP_ID
        # the pushes serve the account under its new appId at once, not after a restart
        engine = _engine_of(app)
        push = app.pushes.get("gateway:") or app.push
        assert push is not None and push.account == f"gateway:{APP_ID}"
        [group] = [g for g in find_groups(engine, ROOM) if g.room_id == ROOM]
        assert group.id is not None and group.account == f"gateway:{APP_ID}"
        slot = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
        at_time = slot.astimezone(ZoneInfo(app.settings.bot.timezone)).strftime("%H:%M")
        subscriptions.subscribe(engine, group.id, "daily", at_time, now=slot - timedelta(days=2))
        assert await push.tick(slot + timedelta(seconds=30), group_id=group.id) == 1
    finally:
        await app.stop()
        await asyncio.wait_for(task, 10)

    gateway.calls.clear()
    async with running_app(config) as again:
        assert getattr(again.channel, "account", "") == f"gateway:{APP_ID}"
    assert "/login/getLoginQrCode" not in [p for p, _ in gateway.calls]
    assert ("/login/checkOnline", {"appId": APP_ID}) in gateway.calls


async def test_an_account_that_drops_is_recorded_for_the_console_and_its_qr_shown_again(
    gateway_base: str, gateway: FakeGateway, engine: Engine
) -> None:
    async def ignore(_message: Incoming) -> None:
        return None

    channel = GatewayChannel(
        base_url=gateway_base,
        token=TOKEN,
        app_id=APP_ID,
        listen_port=0,
        engine=engine,
        health_seconds=0.05,
        login_poll_seconds=0.05,
        terminal=io.StringIO(),
    )
    account = f"gateway:{APP_ID}"
    jobs = Jobs("Asia/Shanghai")  # the login check is a job on the process's one list
    await plan.schedule(jobs, parse_settings({}), pushes={}, channels=[channel])
    assert jobs.ids() == [f"health:{account}"]
    jobs.start()
    task = asyncio.create_task(channel.run(ignore))
    try:
        await wait_until(lambda: channel.logged_in, within=15)
        await _recorded(engine, account, online=True)
        gateway.online = False  # the phone logged the device out
        await wait_until(lambda: not channel.logged_in, within=15)
        await wait_until(lambda: any(p == "/login/getLoginQrCode" for p, _ in gateway.calls), within=15)
        dropped = await _recorded(engine, account, online=False)
        assert dropped.why == "账号掉线了"
        gateway.login_confirmed = True
        await wait_until(lambda: channel.logged_in, within=15)
        await _recorded(engine, account, online=True)
    finally:
        await jobs.shutdown()
        await channel.stop()
        await asyncio.wait_for(task, 10)


async def _recorded(
    engine: Engine, account: str, *, online: bool, within: float = 15
) -> chat_state.AccountStatus:
    """Poll the store (off the loop) until the account's recorded status is `online`."""
    deadline = time.monotonic() + within
    while True:
        status = await asyncio.to_thread(chat_state.get_status, engine, account)
        if status is not None and status.online is online:
            return status
        assert time.monotonic() < deadline, f"{account} never recorded online={online}: {status}"
        await asyncio.sleep(0.01)
