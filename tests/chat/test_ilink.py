"""The iLink channel against a fake iLink bot API over real HTTP on 127.0.0.1 and the sandbox league:
what `tuike run` does with `[chat] kind = "ilink"` (and with a gateway beside it)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import App
from bot.chat.base import Incoming, Outgoing, Reply
from bot.chat.ilink import IlinkChannel
from bot.config import load_config
from bot.store import chat_state, db
from tests.chat.fake_gateway import FakeGateway
from tests.chat.fake_http import serve_asgi, wait_until
from tests.chat.fake_ilink import FakeIlink, Sent
from tuike_sandbox.server import SandboxServer

LINK = re.compile(r"https://store\.weixin\.qq\.com/shop/a/[A-Za-z0-9]+")
ALICE, BOB = "o9cq80_alice@im.wechat", "o9cq80_bob@im.wechat"
SEARCHING = "正在帮你找"
"""The searching notice: a private keyword search still running after 2 s says so first. A loaded
machine can take that long, so the tests here wait for the answers, the messages that are not it."""


@pytest.fixture
def ilink() -> FakeIlink:
    return FakeIlink(hold_seconds=0.3)


@pytest.fixture
async def ilink_url(ilink: FakeIlink) -> AsyncIterator[str]:
    async with serve_asgi(ilink.app) as url:
        yield url


def write_config(
    tmp_path: Path, ilink_url: str, sandbox: SandboxServer, *, token: str = "", chat: str = "", push: str = ""
) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        textwrap.dedent(
            f"""\
            [bot]
            data_dir = "{(tmp_path / "data").as_posix()}"

            [chat]
            kind = "ilink"
            {chat}

            [chat.ilink]
            base_url = "{ilink_url}"
            token = "{token}"

            [leagues.channels]
            sandbox = false
            base_url = "{sandbox.base_url}"
            appid = "wx_ilink_org"
            secret = "ilink-secret"
            max_retries = 1

            [push]
            {push}
            """
        ),
        encoding="utf-8",
    )
    return path


@contextlib.asynccontextmanager
async def running_app(config: Path) -> AsyncIterator[App]:
    app = App(load_config(config))
    task = asyncio.create_task(app.run())
    try:
        await wait_until(lambda: task.done() or app.channel is not None, within=15)
        if task.done():
            task.result()
        yield app
    finally:
        await asyncio.wait_for(app.stop(), 10)
        await asyncio.wait_for(task, 10)


def answers(ilink: FakeIlink) -> list[Sent]:
    """What the bot sent, less any searching notice."""
    return [sent for sent in ilink.sent if SEARCHING not in sent.text]


async def wait_answers(ilink: FakeIlink, count: int) -> list[Sent]:
    await wait_until(lambda: len(answers(ilink)) >= count, within=15)
    return answers(ilink)


async def ask(ilink: FakeIlink, text: str, user: str = ALICE) -> str:
    before = len(answers(ilink))
    ilink.say(user, text)
    return (await wait_answers(ilink, before + 1))[before].text


def stored(tmp_path: Path, key: str) -> str | None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'tuike.db'}")
    try:
        return chat_state.get(engine, "ilink:default", key)
    finally:
        engine.dispose()


async def test_first_start_logs_in_by_qr_then_a_member_gets_deals_and_converted_links(
    tmp_path: Path,
    ilink: FakeIlink,
    ilink_url: str,
    sandbox: SandboxServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with running_app(write_config(tmp_path, ilink_url, sandbox)) as app:
        await wait_until(lambda: "扫码" in capsys.readouterr().out, within=15)
        assert not getattr(app.channel, "logged_in", True)
        ilink.confirm_login()
        await wait_until(lambda: getattr(app.channel, "logged_in", False), within=15)
        answer = await ask(ilink, "找 蓝牙耳机")
        assert "蓝牙耳机" in answer
        links = LINK.findall(answer)
        assert len(links) == 3, "the whole reply is ONE message (iLink counts messages)"
        assert len(answers(ilink)) == 1
        assert answers(ilink)[0].context_token.startswith(f"ctx-{ALICE}-")
        converted = await ask(ilink, f"帮我转一下 {links[0]}")
        assert LINK.search(converted)
        assert ilink.bad_headers == []
        assert app.pushes == {}, "no pushes on iLink"
    assert (stored(tmp_path, "bot_token") or "").startswith("bot-token-")
    assert stored(tmp_path, "updates_buf") == "seq-2"


async def test_a_restart_mid_conversation_neither_loses_nor_repeats_and_asks_no_qr(
    tmp_path: Path, ilink: FakeIlink, ilink_url: str, sandbox: SandboxServer
) -> None:
    config = write_config(tmp_path, ilink_url, sandbox)
    async with running_app(config) as app:
        ilink.confirm_login()
        await wait_until(lambda: getattr(app.channel, "logged_in", False), within=15)
        await ask(ilink, "帮助")
    ilink.say(ALICE, "找 保温杯")  # written while the bot is down
    polls_before = len(ilink.polls)
    async with running_app(config):
        sent = await wait_answers(ilink, 2)
        assert "保温杯" in sent[1].text
        assert ilink.polls[polls_before] == "seq-1", "the stored cursor is where the restart resumes"
        await wait_until(lambda: len(ilink.polls) > polls_before + 1)
    assert len(answers(ilink)) == 2, "nothing answered twice"
    assert ilink._qr.__next__() == 3, "one QR code and one token for both runs"


async def test_an_expired_session_shows_the_qr_again_and_goes_on(
    tmp_path: Path,
    ilink: FakeIlink,
    ilink_url: str,
    sandbox: SandboxServer,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    ilink.tokens.add("configured-token")
    async with running_app(write_config(tmp_path, ilink_url, sandbox, token="configured-token")) as app:
        await wait_until(lambda: getattr(app.channel, "logged_in", False), within=15)
        await ask(ilink, "帮助")
        capsys.readouterr()
        ilink.expire_session()
        await wait_until(lambda: "扫码" in capsys.readouterr().out, within=15)
        assert "errcode -14" in caplog.text
        ilink.confirm_login()
        answer = await ask(ilink, "找 蓝牙耳机")
        assert LINK.search(answer)
    assert "configured-token" not in caplog.text


async def test_a_refused_send_stops_sending_to_that_member_until_they_write_again(
    tmp_path: Path, ilink: FakeIlink, ilink_url: str, sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    ilink.tokens.add("t")
    ilink.budget = 0
    fast = "rate_per_minute = 600\n            jitter_min_seconds = 0\n            jitter_max_seconds = 0"
    async with running_app(write_config(tmp_path, ilink_url, sandbox, token="t", push=fast)) as app:
        await wait_until(lambda: getattr(app.channel, "logged_in", False), within=15)
        ilink.say(ALICE, "帮助")
        await wait_until(lambda: "ret -2" in caplog.text, within=15)
        await wait_until(lambda: "send to" in caplog.text and "failed (try 3/3)" in caplog.text, within=15)
        assert ilink.refused == [ALICE], "after ret -2 the bot does not knock again"
        ilink.budget = 10
        answer = await ask(ilink, "帮助")
        assert answer
        assert ilink.refused == [ALICE]


async def test_a_malformed_poll_answer_is_logged_and_skipped_and_the_bot_goes_on(
    tmp_path: Path, ilink: FakeIlink, ilink_url: str, sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 33 #13: `"msgs": 5` or `"item_list": 7` in a poll answer ended `tuike run` (exit 1) with
    the cursor where it was, so a restart died on the same batch again."""
    ilink.tokens.add("t")
    async with running_app(write_config(tmp_path, ilink_url, sandbox, token="t")) as app:
        await wait_until(lambda: getattr(app.channel, "logged_in", False), within=15)
        ilink.say_raw({"msgs": 5})
        ilink.say(ALICE, "帮助", fields={"item_list": 7})
        ilink.say_raw({"msgs": [7, "x", None, {"message_type": 1, "from_user_id": BOB, "message_id": {}}]})
        answer = await ask(ilink, "找 蓝牙耳机", user=BOB)
        assert LINK.search(answer), "the channel went on past the bad batches"
        assert [s.to for s in answers(ilink)] == [BOB], "the bent message was skipped, not answered"
        assert "malformed" in caplog.text
        await wait_until(lambda: ilink.polls[-1] == "seq-4")
    assert stored(tmp_path, "updates_buf") == "seq-4", "the cursor moved past the bad batches"


async def test_the_bot_counts_each_members_budget_itself(ilink: FakeIlink, ilink_url: str) -> None:
    ilink.tokens.add("t")
    channel = IlinkChannel(base_url=ilink_url, token="t", sends_per_user=2)
    got: list[Incoming] = []

    async def record(message: Incoming) -> None:
        got.append(message)

    task = asyncio.create_task(channel.run(record))
    try:
        ilink.say(BOB, "在吗")
        await wait_until(lambda: len(got) == 1)
        for n in range(2):
            await channel.send(Outgoing(BOB, Reply.text(f"第{n}条")))
        with pytest.raises(Exception, match="budget"):
            await channel.send(Outgoing(BOB, Reply.text("第三条")))
        with pytest.raises(Exception, match="wrote"):
            await channel.send(Outgoing(ALICE, Reply.text("没人找过我")))
        assert [s.text for s in ilink.sent] == ["第0条", "第1条"]
        assert ilink.refused == []
    finally:
        await channel.stop()
        await asyncio.wait_for(task, 10)


async def test_a_long_poll_that_hangs_is_given_up_and_polled_again(
    ilink: FakeIlink, ilink_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "bot.chat.ilink")
    ilink.tokens.add("t")
    ilink.hang = True
    channel = IlinkChannel(base_url=ilink_url, token="t")
    channel.poll_seconds, channel.poll_margin = 0.2, 0.2

    async def ignore(message: Incoming) -> None:
        return None

    task = asyncio.create_task(channel.run(ignore))
    try:
        await wait_until(lambda: len(ilink.polls) >= 2, within=15)
        assert "ran past" in caplog.text
        assert not task.done()
    finally:
        await channel.stop()
        await asyncio.wait_for(task, 5)


async def test_one_run_serves_a_gateway_account_and_an_ilink_bot_each_with_its_own_sender(
    tmp_path: Path, ilink: FakeIlink, ilink_url: str, sandbox: SandboxServer
) -> None:
    gateway = FakeGateway(token="gw-token", app_id="wx_app_9", bot_wxid="wxid_bot", bot_name="推客小助手")
    room = "555@chatroom"
    gateway.add_room(room, "省钱群", "wxid_owner", {"wxid_alice": "小红"})
    ilink.tokens.add("t")
    async with serve_asgi(gateway.app) as gateway_url:
        config = write_config(tmp_path, ilink_url, sandbox, token="t")
        text = config.read_text().replace('kind = "ilink"', 'kind = ["gateway", "ilink"]')
        text += textwrap.dedent(
            f"""
            [chat.gateway]
            base_url = "{gateway_url}/v2/api"
            token = "gw-token"
            app_id = "wx_app_9"
            listen = "127.0.0.1:0"
            """
        )
        config.write_text(text)
        async with running_app(config) as app:
            await wait_until(lambda: all(getattr(c, "logged_in", False) for c in app.channels), within=15)
            assert sorted(app.senders) == ["gateway:wx_app_9", "ilink:default"]
            assert list(app.pushes) == ["gateway:wx_app_9"]
            # one job list for the process: pushes, 群发 and the login check for the gateway only
            assert app.jobs is not None and app.jobs.running
            assert set(app.jobs.ids()) == {
                "push:tick:gateway:wx_app_9",
                "push:live:gateway:wx_app_9",
                "broadcasts:gateway:wx_app_9",
                "health:gateway:wx_app_9",
                "orders:sync",
            }
            assert {job.id for job in app.jobs.scheduler.get_jobs()} == set(app.jobs.ids())
            await gateway.deliver(gateway.text("找 蓝牙耳机", sender="wxid_alice", room=room))
            private = await ask(ilink, "找 蓝牙耳机")
            (group,) = await gateway.wait_sent(1)
            assert group.to == room and group.ats == "wxid_alice"
            assert LINK.search(group.content) and LINK.search(private)


async def test_tuike_run_stops_cleanly_on_sigterm(
    tmp_path: Path, ilink: FakeIlink, ilink_url: str, sandbox: SandboxServer
) -> None:
    ilink.tokens.add("secret-bot-token")
    config = write_config(tmp_path, ilink_url, sandbox, token="secret-bot-token")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUIKE_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-W", "error", "-m", "bot", "--config", str(config), "run",
        cwd=tmp_path, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await wait_until(lambda: bool(ilink.polls), within=30)
        answer = await ask(ilink, "找 蓝牙耳机")
        assert LINK.search(answer)
        await wait_until(lambda: len(ilink.polls) >= 2)  # the bot is back in a long poll
        process.send_signal(signal.SIGTERM)
        _out, err_bytes = await asyncio.wait_for(process.communicate(), 10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    err = err_bytes.decode()
    assert process.returncode == 0, err
    assert "SIGTERM received: stopping" in err
    assert "Traceback" not in err
    assert "secret-bot-token" not in err
