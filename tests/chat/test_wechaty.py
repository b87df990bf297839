"""The WeChat channel against a fake puppet service over real gRPC on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import re
import signal
import sys
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

import bot.compose
from bot.chat.base import Image, Incoming, LinkCard, MiniProgramCard, Outgoing, Reply, Text
from bot.chat.wechaty import (
    MemberJoined,
    WechatyChannel,
    mini_program_card_text,
    strip_mention,
    url_card_text,
)
from bot.cli import cli
from bot.compose import offer_of
from bot.config import ConfigError, parse_settings
from bot.push import claims
from bot.push.slots import next_slot
from bot.render.engine import Renderer, RenderError
from bot.store.groups import all_groups
from tests.chat.conftest import (
    ALICE,
    ALICE_NAME,
    BOB,
    BOB_NAME,
    BOT,
    BOT_NAME,
    OWNER,
    ROOM,
    ROOM_TOPIC,
    TOKEN,
    Recorder,
    ask,
    running_app,
    running_channel,
    say,
    write_config,
)
from tests.chat.fake_puppet import FakePuppet, serve_fake_puppet, wait_until

FAST = {"reconnect_delays": (0.05, 0.1, 0.2)}
CHANNELS_CARD = {
    "appid": "wx8c3d1b4e2f0a9b7c",
    "title": "蓝牙耳机 到手价 39.9",
    "pagePath": "pages/product/index.html?link="
    "https%3A%2F%2Fstore.weixin.qq.com%2Fshop%2Fa%2FT9WX95cCebFqe4F",
    "thumbUrl": "https://example.com/thumb.jpg",
    "username": "gh_123456789abc@app",
}
JD_CARD = {
    "appid": "wx91d27dbf599dff74",
    "title": "京东耳机",
    "pagePath": "pages/item/detail/detail?sku=100012043978",
    "username": "gh_45b306365c3d@app",
}


def help_text(*, is_group: bool) -> str:
    """The help as the bot answers it on the default config (the offer of what it turns on)."""
    offer = offer_of(parse_settings({}))
    sample = {"bot_name": BOT_NAME, "is_group": is_group, "is_owner": False}
    return Renderer().render("help", {**sample, **asdict(offer), "platforms": list(offer.platforms)})


# -- what members see ----------------------------------------------------------------------------------


async def test_help_in_a_group_answers_with_an_at_mention_of_the_asker(
    wechat_app, fake_puppet: FakePuppet
) -> None:
    (reply,) = await ask(fake_puppet, "帮助")
    assert (reply.rpc, reply.conversation_id, reply.mention_ids) == ("MessageSendText", ROOM, [ALICE])
    assert reply.text == f"@{ALICE_NAME}\u2005" + help_text(is_group=True)


async def test_help_in_a_private_chat_is_answered_there_without_a_mention(
    wechat_app, fake_puppet: FakePuppet
) -> None:
    (reply,) = await ask(fake_puppet, "帮助", room="")
    assert (reply.conversation_id, reply.mention_ids) == (ALICE, [])
    assert reply.text == help_text(is_group=False)


async def test_a_redelivered_message_gets_one_reply(wechat_app, fake_puppet: FakePuppet) -> None:
    first = say(fake_puppet, "帮助")
    await fake_puppet.wait_sent(1)
    fake_puppet.emit_message(first)  # the puppet delivers it again
    await ask(fake_puppet, "帮助")  # a later message is answered, so the redelivery was seen by now
    assert len(fake_puppet.sent) == 2

    # After a reconnect python-wechaty forgets the ids it has seen; the channel does not.
    fake_puppet.end_event_stream()
    await fake_puppet.wait_until(lambda: wechat_app.channel.connections == 2 and wechat_app.channel.logged_in)
    fake_puppet.emit_message(first)
    await fake_puppet.wait_until(lambda: wechat_app.channel.duplicates_dropped == 1)
    await ask(fake_puppet, "帮助")
    assert len(fake_puppet.sent) == 3


async def test_the_bot_reconnects_after_the_event_stream_drops_and_answers_again(
    wechat_app, fake_puppet: FakePuppet
) -> None:
    await ask(fake_puppet, "帮助")
    fake_puppet.end_event_stream()
    await fake_puppet.wait_until(lambda: fake_puppet.streams_opened == 2 and wechat_app.channel.logged_in)
    (reply,) = await ask(fake_puppet, "帮助", talker=OWNER)
    assert reply.mention_ids == [OWNER]
    # the first reply went out once, even though the stream dropped right behind it
    assert [s.mention_ids for s in fake_puppet.sent] == [[ALICE], [OWNER]]


async def test_a_crashed_puppet_is_reconnected_with_backoff(
    tmp_path: Path, puppet_endpoint: str, fake_puppet: FakePuppet, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    async with running_channel(puppet_endpoint, tmp_path, recorder, **FAST) as channel:
        fake_puppet.break_event_stream()
        await fake_puppet.wait_until(lambda: channel.connections == 2 and channel.logged_in)
        say(fake_puppet, "还在吗")
        (message,) = await recorder.wait(1, fake_puppet)
        assert message.text == "还在吗"
    assert "GRPCError" in caplog.text
    assert "reconnecting" in caplog.text


async def test_an_unreachable_gateway_is_retried_and_stop_still_returns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with serve_fake_puppet(FakePuppet()) as endpoint:
        pass  # the port is free again: nothing listens there now
    channel = WechatyChannel(endpoint=endpoint, token=TOKEN, data_dir=tmp_path, reconnect_delays=(0.01, 0.02))
    task = asyncio.create_task(channel.run(Recorder()))
    await FakePuppet().wait_until(lambda: caplog.text.count("reconnecting") >= 3)
    await asyncio.wait_for(channel.stop(), 5)
    await asyncio.wait_for(task, 5)
    assert "ConnectionRefusedError" in caplog.text
    assert channel.connections == 0
    with pytest.raises(RuntimeError, match="stopped"):
        await channel.send(Outgoing(ROOM, Reply.text("太晚了")))


# -- what arrives at the handler -----------------------------------------------------------------------


async def test_group_text_arrives_with_room_sender_mention_and_owner(
    tmp_path: Path, puppet_endpoint: str, fake_puppet: FakePuppet
) -> None:
    fake_puppet.room_aliases[(ROOM, BOT)] = "小助手"
    recorder = Recorder()
    async with running_channel(puppet_endpoint, tmp_path, recorder):
        say(fake_puppet, "找 蓝牙耳机")
        say(fake_puppet, f"@{ALICE_NAME} 帮助", mention=False, talker=OWNER)  # addressed to someone else
        say(fake_puppet, "@小助手\u2005查 耳机", mention=False)  # the bot's group nickname, typed by hand
        messages = await recorder.wait(3, fake_puppet)
    by_text = {m.text: m for m in messages}
    asked = by_text["找 蓝牙耳机"]
    assert (asked.chat_id, asked.chat_name, asked.sender_id, asked.sender_name) == (
        ROOM,
        ROOM_TOPIC,
        ALICE,
        ALICE_NAME,
    )
    assert asked.is_group
    assert asked.mentioned
    assert not asked.sender_is_owner
    assert not asked.from_self
    other = by_text[f"@{ALICE_NAME} 帮助"]
    assert not other.mentioned
    assert other.sender_is_owner
    assert by_text["查 耳机"].mentioned


async def test_messages_waiting_at_login_are_read_with_the_bots_name(
    tmp_path: Path, puppet_endpoint: str, fake_puppet: FakePuppet
) -> None:
    say(fake_puppet, "帮助", mention=False)  # queued: delivered right behind the login event
    say(fake_puppet, "找 耳机")
    recorder = Recorder()
    async with running_channel(puppet_endpoint, tmp_path, recorder):
        messages = await recorder.wait(2, fake_puppet)
    assert sorted((m.text, m.mentioned) for m in messages) == [("帮助", False), ("找 耳机", True)]


async def test_pasted_cards_arrive_as_text_a_link_parser_recognises(
    tmp_path: Path, puppet_endpoint: str, fake_puppet: FakePuppet
) -> None:
    fake_puppet.url_links["card-url"] = {
        "url": "https://item.jd.com/100012043978.html",
        "title": "蓝牙耳机",
        "description": "京东",
        "thumbnailUrl": "https://example.com/t.jpg",
    }
    fake_puppet.mini_programs["card-channels"] = CHANNELS_CARD
    fake_puppet.mini_programs["card-jd"] = JD_CARD
    recorder = Recorder()
    async with running_channel(puppet_endpoint, tmp_path, recorder):
        for card, kind in (
            ("card-url", "url"),
            ("card-channels", "mini_program"),
            ("card-jd", "mini_program"),
        ):
            say(fake_puppet, message_id=card, kind=kind)
        say(fake_puppet, message_id="a-photo", kind="image")  # not for the bot to read
        private = say(fake_puppet, "帮助", room="")
        messages = await recorder.wait(4, fake_puppet)
    texts = {m.message_id: m.text for m in messages}
    assert texts == {
        "card-url": "https://item.jd.com/100012043978.html\n蓝牙耳机",
        "card-channels": "https://store.weixin.qq.com/shop/a/T9WX95cCebFqe4F\n蓝牙耳机 到手价 39.9",
        "card-jd": "miniprogram://wx91d27dbf599dff74/pages/item/detail/detail?sku=100012043978\n京东耳机",
        private: "帮助",
    }
    assert all(m.chat_id == ROOM and m.sender_id == ALICE for m in messages if m.message_id != private)


async def test_a_pasted_card_reaches_the_router_through_the_app(
    tmp_path: Path, puppet_endpoint: str, fake_puppet: FakePuppet, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Incoming] = []
    build_router = bot.compose.build_router

    def recording_router(*args, **kwargs):
        router = build_router(*args, **kwargs)

        async def record(message: Incoming) -> None:
            seen.append(message)

        router.handlers.insert(0, record)
        return router

    monkeypatch.setattr(bot.compose, "build_router", recording_router)
    fake_puppet.mini_programs["card"] = CHANNELS_CARD
    async with running_app(tmp_path, puppet_endpoint):
        say(fake_puppet, message_id="card", kind="mini_program")
        await fake_puppet.wait_until(lambda: len(seen) == 1)
    assert seen[0].text.startswith("https://store.weixin.qq.com/shop/a/T9WX95cCebFqe4F\n")


def test_card_text_forms() -> None:
    assert url_card_text(" https://a.example/x ", "") == "https://a.example/x"
    double = "pages/p?u=https%253A%252F%252Fstore.weixin.qq.com%252Fshop%252Fa%252FAbc123"
    assert mini_program_card_text("wx1", double) == "https://store.weixin.qq.com/shop/a/Abc123"
    assert (
        mini_program_card_text("", "/pages/x?id=1", "", "gh_1@app") == "miniprogram://gh_1@app/pages/x?id=1"
    )


def test_only_the_bots_own_mention_is_removed() -> None:
    assert strip_mention(f"@{BOT_NAME}\u2005找 耳机", [BOT_NAME]) == ("找 耳机", True)
    assert strip_mention(f"找 @{BOT_NAME} 耳机", [BOT_NAME, ""]) == ("找 耳机", True)
    assert strip_mention(f"@{BOT_NAME}", [BOT_NAME]) == ("", True)
    assert strip_mention("@小红 帮助", [BOT_NAME]) == ("@小红 帮助", False)
    assert strip_mention(f"@{BOT_NAME}2 帮助", [BOT_NAME]) == (f"@{BOT_NAME}2 帮助", False)
    assert strip_mention("@a.b* hi", ["a.b*"]) == ("hi", True)


# -- what the bot sends --------------------------------------------------------------------------------


async def test_images_link_cards_and_mini_program_cards_go_out_as_the_puppet_expects(
    tmp_path: Path, puppet_endpoint: str, fake_puppet: FakePuppet
) -> None:
    png = b"\x89PNG\r\n\x1a\nqr"
    reply = Reply(
        (
            Image(url="https://img.example.com/deal/123.jpg", name="", caption="到手价 39.9"),
            Image(data=png, name="qr.png"),
            LinkCard("https://store.weixin.qq.com/shop/a/T9WX95cCebFqe4F", "蓝牙耳机", "券后 39.9", ""),
            MiniProgramCard(
                "wx8c3d1b4e2f0a9b7c", "蓝牙耳机", "pages/p?id=1", "https://t.example/m.jpg", "gh_1@app"
            ),
            Text("   "),
        )
    )
    async with running_channel(puppet_endpoint, tmp_path, Recorder()) as channel:
        await channel.send(Outgoing(ROOM, reply))
    url_image, caption, data_image, link, mini = fake_puppet.sent
    assert (url_image.rpc, url_image.conversation_id) == ("MessageSendFile", ROOM)
    assert url_image.payload["boxType"] == 2
    assert url_image.payload["remoteUrl"] == "https://img.example.com/deal/123.jpg"
    assert url_image.payload["name"] == "123.jpg"
    assert (caption.rpc, caption.text) == ("MessageSendText", "到手价 39.9")
    assert data_image.payload["boxType"] == 1
    assert data_image.payload["name"] == "qr.png"
    assert base64.b64decode(data_image.payload["base64"]) == png
    assert link.rpc == "MessageSendUrl"
    assert link.payload == {
        "url": "https://store.weixin.qq.com/shop/a/T9WX95cCebFqe4F",
        "title": "蓝牙耳机",
        "description": "券后 39.9",
        "thumbnailUrl": None,
    }
    assert mini.rpc == "MessageSendMiniProgram"
    assert {k: mini.payload[k] for k in ("appid", "title", "pagePath", "thumbUrl", "username")} == {
        "appid": "wx8c3d1b4e2f0a9b7c",
        "title": "蓝牙耳机",
        "pagePath": "pages/p?id=1",
        "thumbUrl": "https://t.example/m.jpg",
        "username": "gh_1@app",
    }
    assert len(fake_puppet.sent) == 5  # the blank text was not sent


async def test_concurrent_replies_do_not_interleave(
    tmp_path: Path, puppet_endpoint: str, fake_puppet: FakePuppet
) -> None:
    async with running_channel(puppet_endpoint, tmp_path, Recorder()) as channel:
        await asyncio.gather(
            *(
                channel.send(Outgoing(ROOM, Reply((Text(f"{n}-a"), Text(f"{n}-b"), Text(f"{n}-c")))))
                for n in range(4)
            )
        )
    texts = [s.text for s in fake_puppet.sent]
    assert sorted(texts) == sorted(f"{n}-{p}" for n in range(4) for p in "abc")
    for start in range(0, 12, 3):
        assert len({t.split("-")[0] for t in texts[start : start + 3]}) == 1


async def test_stop_finishes_the_message_in_flight_then_ends_the_stream(
    tmp_path: Path, puppet_endpoint: str, fake_puppet: FakePuppet
) -> None:
    started, release = asyncio.Event(), asyncio.Event()
    channel_box: list[WechatyChannel] = []

    async def slow_handler(message: Incoming) -> None:
        started.set()
        await release.wait()
        await channel_box[0].send(Outgoing(message.chat_id, Reply.text("马上好"), reply_to=message))

    channel = WechatyChannel(endpoint=puppet_endpoint, token=TOKEN, data_dir=tmp_path)
    channel_box.append(channel)
    task = asyncio.create_task(channel.run(slow_handler))
    await fake_puppet.wait_until(lambda: channel.logged_in)
    say(fake_puppet, "找 耳机")
    await asyncio.wait_for(started.wait(), 5)
    stopping = asyncio.create_task(channel.stop())
    await fake_puppet.wait_until(lambda: fake_puppet.streams_open == 0)  # no new messages come in
    assert not stopping.done()
    release.set()
    await asyncio.wait_for(stopping, 5)
    await asyncio.wait_for(task, 5)
    assert [s.text for s in fake_puppet.sent] == ["马上好"]
    assert [name for name, _ in fake_puppet.calls][-1] == "stop"  # the goodbye comes after the reply


# -- joins, login, logs --------------------------------------------------------------------------------


def welcome_text(member: str) -> str:
    context = {"member_name": member, "group_name": ROOM_TOPIC, "bot_name": BOT_NAME}
    return Renderer().render("welcome", context)


async def test_new_members_are_welcomed_when_enabled(
    tmp_path: Path, puppet_endpoint: str, fake_puppet: FakePuppet
) -> None:
    async with running_app(tmp_path, puppet_endpoint, "welcome_on_join = true\n"):
        fake_puppet.emit_room_join(ROOM, [BOB, BOT], OWNER)  # the bot itself is not greeted
        (welcome,) = await fake_puppet.wait_sent(1)
    assert welcome.conversation_id == ROOM
    assert welcome.text == welcome_text(BOB_NAME)
    assert BOB_NAME in welcome.text


async def test_no_welcome_in_a_group_outside_the_allow_list(
    tmp_path: Path, puppet_endpoint: str, fake_puppet: FakePuppet, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 33 #5, for the channel that greets by itself: the welcome passes the same gate as answers."""
    caplog.set_level(logging.INFO, "bot.chat.gate")
    outside = "room9@chatroom"
    fake_puppet.add_room(outside, "别人的群", [BOT, OWNER], owner_id=OWNER)
    allowed = f'allowed_groups = ["{ROOM}"]'
    async with running_app(tmp_path, puppet_endpoint, "welcome_on_join = true\n", chat=allowed):
        fake_puppet.emit_room_join(outside, [BOB], OWNER)
        fake_puppet.emit_room_join(ROOM, [BOB], OWNER)
        await wait_until(
            lambda: len(fake_puppet.sent) >= 2 or (bool(fake_puppet.sent) and "not sent to" in caplog.text)
        )
    assert [s.conversation_id for s in fake_puppet.sent] == [ROOM]
    assert fake_puppet.sent[0].text == welcome_text(BOB_NAME)


async def test_no_welcome_by_default(wechat_app, fake_puppet: FakePuppet) -> None:
    fake_puppet.emit_room_join(ROOM, [BOB], OWNER)
    await ask(fake_puppet, "帮助")  # answered, so the join was handled before
    assert [s.mention_ids for s in fake_puppet.sent] == [[ALICE]]


async def test_a_welcome_that_cannot_be_rendered_is_skipped_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken:
        def render(self, *args: object, **kwargs: object) -> str:
            raise RenderError("template 'welcome' cannot be rendered")

    hook = bot.compose.welcome_hook(Broken(), BOT_NAME)  # type: ignore[arg-type]
    joined = MemberJoined(ROOM, ROOM_TOPIC, (BOB,), (BOB_NAME,))
    assert await hook(joined) is None
    assert "no welcome in room1@chatroom" in caplog.text


async def test_login_scan_and_logout_are_reported_and_the_token_never_logged(
    tmp_path: Path, puppet_endpoint: str, fake_puppet: FakePuppet, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_channel(puppet_endpoint, tmp_path, Recorder(), log_level="DEBUG") as channel:
        assert (channel.self_id, channel.self_name) == (BOT, BOT_NAME)
        fake_puppet.emit_logout()
        await fake_puppet.wait_until(lambda: not channel.logged_in)
        fake_puppet.emit_scan("https://login.weixin.qq.com/l/abc123")
        await fake_puppet.wait_until(lambda: "l/abc123" in caplog.text)
        fake_puppet.emit_login()  # python-wechaty ignores a second login; the channel does not
        await fake_puppet.wait_until(lambda: channel.logged_in)
    assert "logged in to WeChat as 推客小助手" in caplog.text
    assert "logged out" in caplog.text
    assert any(r.name == "PuppetService" for r in caplog.records)  # wechaty's loggers reach ours
    assert TOKEN not in caplog.text
    assert logging.getLogger("Wechaty").level == logging.DEBUG


# -- configuration and the command line ----------------------------------------------------------------


def test_wechaty_needs_an_endpoint_and_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUIKE_WECHATY_TOKEN", raising=False)
    with pytest.raises(ConfigError, match=r"needs \[chat.wechaty\] endpoint"):
        parse_settings({"chat": {"kind": "wechaty"}})
    with pytest.raises(ConfigError, match=r"needs \[chat.wechaty\] token"):
        parse_settings({"chat": {"kind": "wechaty", "wechaty": {"endpoint": "127.0.0.1:8788"}}})
    monkeypatch.setenv("TUIKE_WECHATY_TOKEN", "from-env")
    settings = parse_settings({"chat": {"kind": "wechaty", "wechaty": {"endpoint": "127.0.0.1:8788"}}})
    assert settings.chat.wechaty.token.get_secret_value() == "from-env"


def test_tuike_run_without_an_endpoint_exits_2_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[chat]\nkind = "wechaty"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "run"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "endpoint" in result.output


async def test_sigterm_stops_tuike_run_cleanly(tmp_path: Path, fake_puppet: FakePuppet) -> None:
    async with serve_fake_puppet(fake_puppet) as endpoint:
        config = write_config(tmp_path, endpoint)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TUIKE_")}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-W",
            "error",
            "-m",
            "bot",
            "--config",
            str(config),
            "run",
            cwd=Path.cwd(),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await fake_puppet.wait_until(lambda: fake_puppet.streams_open == 1, within=60)
            (reply,) = await ask(fake_puppet, "帮助")
            assert reply.mention_ids == [ALICE]
            process.send_signal(signal.SIGTERM)
            _out, err = await asyncio.wait_for(process.communicate(), 10)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 0, err.decode()
    assert "Traceback" not in err.decode()
    assert "SIGTERM received: stopping" in err.decode()
    assert TOKEN not in err.decode()
    assert [name for name, _ in fake_puppet.calls][-1] == "stop"
    assert (tmp_path / "data" / "wechaty").is_dir()


# -- deals and pushes through WeChat (issue 7's end-to-end cases) -----------------------------------


async def test_a_keyword_request_gets_a_sandbox_deal_mentioning_the_asker(
    wechat_app, fake_puppet: FakePuppet
) -> None:
    (reply,) = await ask(fake_puppet, "找 蓝牙耳机")
    assert (reply.conversation_id, reply.mention_ids) == (ROOM, [ALICE])
    assert reply.text.startswith(f"@{ALICE_NAME}")
    assert "https://store.weixin.qq.com/shop/a/" in reply.text
    link = re.search(r"https://store\.weixin\.qq\.com/shop/a/[A-Za-z0-9]+", reply.text)
    assert link is not None
    (again,) = await ask(fake_puppet, f"这个还有券吗 {link.group(0)}", talker=BOB, mention=False)
    assert link.group(0) in again.text, "a pasted link gets that product's deal"


async def test_the_owner_subscribes_and_the_fired_slot_reaches_the_room(
    wechat_app, fake_puppet: FakePuppet
) -> None:
    (refused,) = await ask(fake_puppet, "订阅 每日好物 08:30")
    assert "群主" in refused.text
    (ok,) = await ask(fake_puppet, "订阅 每日好物 08:30", talker=OWNER)
    assert "08:30" in ok.text
    assert wechat_app.push is not None
    slot = next_slot("08:30", datetime.now(UTC), ZoneInfo("Asia/Shanghai"))
    before = len(fake_puppet.sent)
    assert await wechat_app.push.tick(slot + timedelta(minutes=1)) == 1
    await fake_puppet.wait_sent(before + 1)
    push = fake_puppet.sent[before]
    assert push.conversation_id == ROOM
    assert "今日好物" in push.text
    assert await wechat_app.push.tick(slot + timedelta(minutes=2)) == 0, "the slot is never pushed twice"


async def test_stopping_mid_push_loses_nothing(
    tmp_path: Path, fake_puppet: FakePuppet, puppet_endpoint: str
) -> None:
    """What SIGTERM does (app.stop) during a push to eight groups: the message in flight is finished,
    the rest stay unclaimed, and the next start sends exactly those — no group twice, none lost."""
    from bot.store import subscriptions
    from bot.store.groups import ensure_group

    rooms = [f"push{i}@chatroom" for i in range(8)]
    for room in rooms:
        fake_puppet.add_room(room, f"群{room[4]}", [BOT, OWNER], owner_id=OWNER)
    slot = next_slot("08:30", datetime.now(UTC), ZoneInfo("Asia/Shanghai"))
    async with running_app(tmp_path, puppet_endpoint) as app:
        assert app.engine is not None
        assert app.push is not None
        for room in rooms:
            group = ensure_group(app.engine, room, room)
            assert group.id is not None
            subscriptions.subscribe(app.engine, group.id, "daily", "08:30")
        assert await app.push.tick(slot + timedelta(minutes=1)) == len(rooms)
        await fake_puppet.wait_until(lambda: sum(s.conversation_id in rooms for s in fake_puppet.sent) >= 3)
    first = [s.conversation_id for s in fake_puppet.sent if s.conversation_id in rooms]
    assert 3 <= len(first) < len(rooms), "stopped mid-push"
    async with running_app(tmp_path, puppet_endpoint) as app:
        assert app.push is not None
        await app.push.tick(slot + timedelta(minutes=2))
        await fake_puppet.wait_until(
            lambda: sum(s.conversation_id in rooms for s in fake_puppet.sent) >= len(rooms)
        )
        # nothing is left to send: the queue is empty and every slot's row is final
        await fake_puppet.wait_until(lambda: app.sender is not None and app.sender.pending == 0)
        await fake_puppet.wait_until(
            lambda: all(r.status in ("sent", "interrupted") for r in claims.latest(app.engine, 100))  # type: ignore[arg-type]
        )
    pushed = [s.conversation_id for s in fake_puppet.sent if s.conversation_id in rooms]
    assert sorted(pushed) == sorted(rooms), "every group once: none twice, none lost"


async def test_a_wechaty_account_records_every_room_it_is_in_before_anyone_speaks(
    tmp_path: Path, fake_puppet: FakePuppet, puppet_endpoint: str
) -> None:
    """The rooms the puppet lists become groups (name, owner, account), a quiet one included."""
    fake_puppet.add_room("quiet@chatroom", "宝妈团购群", [BOT, BOB], owner_id=BOB)
    async with running_app(tmp_path, puppet_endpoint) as app:
        assert app.engine is not None
        engine = app.engine

        def recorded() -> dict[str, tuple[str, str, str]]:
            return {g.room_id: (g.name, g.owner_id, g.account) for g in all_groups(engine)}

        await fake_puppet.wait_until(lambda: "quiet@chatroom" in recorded(), within=20)
        account = f"wechaty:{puppet_endpoint}"
        assert recorded() == {
            ROOM: (ROOM_TOPIC, OWNER, account),
            "quiet@chatroom": ("宝妈团购群", BOB, account),
        }
        assert fake_puppet.called("room_list"), "listed through the puppet's RoomList"
