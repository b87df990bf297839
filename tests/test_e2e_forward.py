"""线报 forwarding end to end: `tuike run` on the gateway channel (a fake GeWe gateway over real HTTP,
the bot's webhook on a real port), the leagues over real HTTP against the sandbox, the store on disk.

Two source groups, two target groups (one from the config, one whose owner said 订阅 线报): each target
gets every link and 口令 remade as its own; the same deal from the second source goes nowhere; a message
with one link the bot cannot convert is dropped whole; our forward re-posted in a target that is also a
source is never forwarded again; `tuike forward log --json` says what became of each."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import textwrap
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.app import App
from bot.cli import cli
from bot.store import forward
from tests.chat.fake_gateway import FakeGateway, Sent
from tests.chat.fake_http import serve_asgi, wait_until
from tests.chat.test_gateway import APP_ID, BOT, BOT_NAME, TOKEN, running_app
from tests.e2e import run_console
from tests.forward.sandbox_parts import ADZONES, Foreign
from tuike_sandbox.jd_face import DEFAULT_APP_KEY, DEFAULT_APP_SECRET
from tuike_sandbox.server import SandboxServer
from tuike_sandbox.top_face import SANDBOX_APP_KEY, SANDBOX_APP_SECRET, SANDBOX_MEMBER, SANDBOX_SITE

SRC1, SRC2 = "11110001@chatroom", "11110002@chatroom"
T1, T2, T3 = "22220001@chatroom", "22220002@chatroom", "22220003@chatroom"
DEALER, OWNER2, MEMBER = "wxid_dealer", "wxid_owner2", "wxid_member"
URL = re.compile(r"https?://\S+")
JD_LINK = re.compile(r"https://u\.jd\.com/[A-Za-z0-9]+")


def leagues_toml(base: str) -> str:
    """Channels, Taobao and JD with the real APIs' settings, pointed at the sandbox."""
    return textwrap.dedent(
        f"""
            [leagues.channels]
            sandbox = false
            base_url = "{base}"
            appid = "wx_gateway_org"
            secret = "gateway-secret"
            sharer_appid = "wx_sharer_demo02"
            max_retries = 1

            [leagues.taobao]
            enabled = true
            sandbox = false
            base_url = "{base}/router/rest"
            app_key = "{SANDBOX_APP_KEY}"
            app_secret = "{SANDBOX_APP_SECRET}"
            pid = "mm_{SANDBOX_MEMBER}_{SANDBOX_SITE}_110000000001"
            adzones = {json.dumps(ADZONES)}
            max_retries = 1

            [leagues.jd]
            enabled = true
            sandbox = false
            base_url = "{base}/routerjson"
            app_key = "{DEFAULT_APP_KEY}"
            app_secret = "{DEFAULT_APP_SECRET}"
            position_id = "3100012345"
            max_retries = 1

            [leagues.eleme]
            enabled = false

            [leagues.meituan]
            enabled = false

            [shops.youzan]
            enabled = false
            """
    )


def gateway_config(
    tmp_path: Path,
    gateway_base: str,
    sandbox: SandboxServer,
    *,
    rate: int = 600,
    targets: tuple[str, ...] = (T1,),
    name: str = "config.toml",
) -> Path:
    base = sandbox.base_url
    path = tmp_path / name
    path.write_text(
        textwrap.dedent(
            f"""\
            [bot]
            name = "{BOT_NAME}"
            data_dir = "{(tmp_path / "data").as_posix()}"

            [push]
            rate_per_minute = {rate}
            jitter_min_seconds = 0
            jitter_max_seconds = 0

            [chat]
            kind = "gateway"

            [chat.gateway]
            base_url = "{gateway_base}"
            token = "{TOKEN}"
            app_id = "{APP_ID}"
            listen = "127.0.0.1:0"

            [forward]
            enabled = true
            sources = ["{SRC1}", "{SRC2}", "{T1}"]
            targets = {json.dumps(list(targets))}

            """
        )
        + leagues_toml(base),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def gateway() -> FakeGateway:
    fake = FakeGateway(token=TOKEN, app_id=APP_ID, bot_wxid=BOT, bot_name=BOT_NAME)
    fake.add_room(SRC1, "线报一号", "wxid_src_owner", {DEALER: "线报君"})
    fake.add_room(SRC2, "线报二号", "wxid_src_owner", {DEALER: "线报君"})
    fake.add_room(T1, "宝妈群", "wxid_owner1", {MEMBER: "小红"})
    fake.add_room(T2, "数码群", OWNER2, {OWNER2: "群主老王"})
    return fake


@pytest.fixture
async def bot(tmp_path: Path, gateway: FakeGateway, sandbox: SandboxServer) -> AsyncIterator[App]:
    async with (
        serve_asgi(gateway.app) as url,
        running_app(gateway_config(tmp_path, f"{url}/v2/api", sandbox)) as app,
    ):
        yield app


async def post(gateway: FakeGateway, room: str, sender: str, text: str) -> None:
    answer = await gateway.deliver(gateway.text(text, sender=sender, room=room, mention=False))
    assert answer.status_code == 200


def sent_to(gateway: FakeGateway, room: str) -> list[Sent]:
    return [s for s in gateway.sent if s.to == room]


async def settled(app: App, rows: int) -> None:
    """Until the log holds `rows` source messages, none still queued, and every forward went out."""
    assert app.forward is not None and app.engine is not None
    engine, pipe = app.engine, app.forward

    def logged() -> bool:
        found = forward.recent(engine, 100)
        return len(found) >= rows and all(r.status != "queued" for r in found)

    deadline = asyncio.get_running_loop().time() + 30
    while not (await asyncio.to_thread(logged) and pipe.sends_pending == 0 and pipe.waiting == 0):
        assert asyncio.get_running_loop().time() < deadline, "forwarding did not settle"
        await asyncio.sleep(0.02)  # polling the store for a condition, not a timed wait


async def test_two_sources_two_targets_their_own_links_once_and_nothing_foreign(
    bot: App, gateway: FakeGateway, sandbox: SandboxServer, tmp_path: Path
) -> None:
    foreign = Foreign(sandbox)
    # the owner of the second target opts in
    await post(gateway, T2, OWNER2, "订阅 线报")
    await gateway.wait_sent(1)
    assert "订好啦" in gateway.sent[0].content and gateway.sent[0].to == T2

    jd = foreign.jd_products()[0]
    tb = foreign.taobao_products()[0]
    jd_url, code = foreign.jd_link(jd), foreign.taobao_code(tb)
    deal = f"🔥 京东 空气炸锅 券后 199 {jd_url}\n淘宝 另一款 ￥{code}￥ 到手 9.9"
    await post(gateway, SRC1, DEALER, deal)
    await wait_until(lambda: len(sent_to(gateway, T1)) == 1 and len(sent_to(gateway, T2)) == 2, within=30)
    one, two = sent_to(gateway, T1)[0].content, sent_to(gateway, T2)[1].content
    for text in (one, two):
        assert jd_url not in text and code not in text, "a source link or 口令 left in the forward"
        assert "京东 空气炸锅 券后 199 https://u.jd.com/" in text and "到手 9.9" in text
    assert set(URL.findall(one)).isdisjoint(URL.findall(two)), "each group its own links"
    assert sent_to(gateway, SRC1) == [], "nothing is said in the source group"

    # the same JD deal from the second source: already forwarded
    await post(gateway, SRC2, DEALER, f"京东好价 空气炸锅 {foreign.jd_link(jd)} 冲")
    # one link the bot cannot convert: the whole message is dropped
    other = foreign.jd_products()[1]
    await post(gateway, SRC1, DEALER, f"京东 {foreign.jd_link(other)} 还有 https://shop.example.com/deal/123")
    # our forward re-posted in the first target, which is also a source
    await post(gateway, T1, MEMBER, one)
    await settled(bot, 4)
    assert len(sent_to(gateway, T1)) == 1 and len(sent_to(gateway, T2)) == 2, "nothing more was sent"

    config = tmp_path / "config.toml"
    result = CliRunner().invoke(cli, ["--config", str(config), "forward", "log", "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert len(rows) == 4
    first = rows[-1]  # the oldest; the other three came in at once, in any order
    (repeat,) = [r for r in rows if r["source"] == SRC2]
    (foreign_drop,) = [r for r in rows if "shop.example.com" in r["excerpt"]]
    (echo,) = [r for r in rows if r["source"] == T1]
    assert (first["status"], first["groups"], first["source"]) == ("forwarded", 2, SRC1)
    assert len(first["keys"]) == 2
    assert repeat["status"] == "dropped" and repeat["reason"].startswith("重复：jd:")
    assert foreign_drop["status"] == "dropped" and "shop.example.com/deal/123" in foreign_drop["reason"]
    assert echo["status"] == "dropped" and echo["source"] == T1 and "自己转发" in echo["reason"]


# -- the console channel -------------------------------------------------------------------------------


def console_config(
    write_config: Callable[..., Path], sandbox: SandboxServer, *, enabled: bool = True
) -> Path:
    forward_section = f"""
[forward]
enabled = {"true" if enabled else "false"}
sources = ["console:线报源"]
"""
    return write_config(leagues_toml(sandbox.base_url) + forward_section)


@pytest.mark.usefixtures("loop_watchdog")
async def test_an_owner_turns_xianbao_on_and_off_and_help_says_how(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    out = await run_console(
        console_config(write_config, sandbox),
        "/owner\n帮助\n订阅 线报\n订阅线报\n订阅状态\n退订 线报\n退订 线报\n订阅 线报 08:30\n",
    )
    helped, on, again, status, off, not_on, usage = out.split("@小明 ")[1:]
    assert "订阅 线报" in helped and "退订 线报" in helped
    assert "线报群里的好价会转发到本群" in on
    assert "本来就订着线报" in again
    assert "线报转发：已开启" in status
    assert "线报转发已取消" in off and "本来就没有订线报" in not_on
    assert "订阅 线报" in usage and "可以这样说" in usage
    member = await run_console(console_config(write_config, sandbox), "订阅 线报\n")
    assert "群主" in member and "订好啦" not in member, "only the owner opts the group in"


@pytest.mark.usefixtures("loop_watchdog")
async def test_xianbao_noted_while_forwarding_is_off_says_so(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    out = await run_console(console_config(write_config, sandbox, enabled=False), "/owner\n订阅 线报\n")
    assert "运营还没有开启线报转发" in out


@pytest.mark.usefixtures("loop_watchdog")
async def test_a_deal_in_the_source_room_reaches_both_subscribed_rooms_with_their_own_links(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    from tests.e2e import running_console

    async with running_console(console_config(write_config, sandbox)) as console:
        console.type("/room 宝妈群\n/owner\n订阅 线报\n/room 数码群\n/owner\n订阅 线报\n")
        await wait_until(lambda: console.out.getvalue().count("订好啦") == 2, within=30)
        jd_url = Foreign(sandbox).jd_link(Foreign(sandbox).jd_products()[0])
        console.type("/room 线报源\n")
        before = console.out.getvalue()
        console.type(f"今晚好价 空气炸锅 {jd_url} 冲！\n")
        await wait_until(lambda: console.out.getvalue().count("── 发往") >= 2, within=30)
        sent = console.out.getvalue()[len(before) :]
        blocks = [b for b in sent.split("── 发往「")[1:]]
        rooms = sorted(b.split("」")[0] for b in blocks)
        assert rooms == ["宝妈群", "数码群"]
        links = [JD_LINK.findall(b) for b in blocks]
        assert all(len(found) == 1 and found[0] != jd_url for found in links), "never the source's link"
        assert links[0] != links[1], "each room its own link"
        assert all("今晚好价 空气炸锅" in b and "冲！" in b for b in blocks)


@pytest.mark.usefixtures("loop_watchdog")
async def test_quiet_hours_hold_a_deal_until_morning_on_the_test_clock(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    """23:30 in Shanghai: the deal is held (the log says so, the console shows it); at 07:01 the forward
    job sends it to the subscribed room."""
    from bot.app import App
    from bot.chat.console import ConsoleChannel
    from bot.config import load_config

    config = write_config(
        leagues_toml(sandbox.base_url)
        + '\n[forward]\nenabled = true\nsources = ["console:线报源"]\nquiet_hours = "23:00-07:00"\n'
    )
    now = datetime.now(UTC).replace(hour=15, minute=30, second=0, microsecond=0)  # 23:30 in Shanghai
    clock = [now]
    read_end, write_end = os.pipe()
    stdin = os.fdopen(read_end, "r", encoding="utf-8")
    out = io.StringIO()
    channel = ConsoleChannel(
        bot_name="推客小助手",
        room="宝妈群",
        member="小明",
        owner="小明",
        stdin=stdin,
        stdout=out,
        interactive=False,
    )
    app = App(load_config(config), channel=channel, forward_clock=lambda: clock[0])
    run = asyncio.create_task(app.run())
    try:
        os.write(write_end, "订阅 线报\n/room 线报源\n".encode())
        await wait_until(lambda: "订好啦" in out.getvalue() and app.forward is not None, within=30)
        assert app.forward is not None and app.engine is not None
        jd_url = Foreign(sandbox).jd_link(Foreign(sandbox).jd_products()[0])
        os.write(write_end, f"深夜好价 空气炸锅 {jd_url}\n".encode())
        engine = app.engine

        async def statuses() -> list[str]:
            return [r.status for r in await asyncio.to_thread(forward.recent, engine, 10)]

        deadline = asyncio.get_running_loop().time() + 30
        while await statuses() != ["held"]:
            assert asyncio.get_running_loop().time() < deadline, await statuses()
            await asyncio.sleep(0.02)  # polling the store for a condition
        assert "── 发往" not in out.getvalue(), "nothing is sent in the quiet hours"
        await app.forward.tick()  # the job at 03:00: still quiet
        await app.forward.drained()
        assert await statuses() == ["held"]
        clock[0] = now + timedelta(hours=7, minutes=31)  # 07:01
        await app.forward.tick()
        await wait_until(lambda: "── 发往「宝妈群」──" in out.getvalue(), within=30)
        await app.forward.drained()
        assert await statuses() == ["forwarded"]
        assert "深夜好价 空气炸锅 https://u.jd.com/" in out.getvalue().split("── 发往「宝妈群」──")[1]
    finally:
        os.close(write_end)
        await asyncio.wait_for(run, 20)
        stdin.close()


async def test_a_restart_mid_forward_sends_nothing_twice(
    tmp_path: Path, gateway: FakeGateway, sandbox: SandboxServer
) -> None:
    """One message for three configured targets on an account paced at ten messages a minute: the
    first group gets it at once, and the bot is stopped. A send in flight (waiting out its pace) is
    finished; what was still queued, or not yet handed to the sender, is left unclaimed. After the
    restart those groups get it, and nobody gets it twice."""
    foreign = Foreign(sandbox)
    gateway.add_room(T3, "好物群", "wxid_owner3", {})
    targets = (T1, T2, T3)
    async with serve_asgi(gateway.app) as url:
        slow = gateway_config(tmp_path, f"{url}/v2/api", sandbox, rate=10, targets=targets, name="slow.toml")
        async with running_app(slow) as first:
            await post(gateway, SRC1, DEALER, f"京东 空气炸锅 {foreign.jd_link(foreign.jd_products()[0])}")
            await gateway.wait_sent(1, within=30)
        assert first.forward is not None and first.forward.figures.dropped == 0, "stopping drops nothing"
        fast = gateway_config(tmp_path, f"{url}/v2/api", sandbox, targets=targets, name="fast.toml")
        async with running_app(fast) as second:
            assert second.forward is not None and second.engine is not None
            await second.forward.tick()  # the forward job's first run
            await wait_until(lambda: len(gateway.sent) == 3, within=30)
            await second.forward.drained()
            await wait_until(lambda: second.forward is not None and second.forward.sends_pending == 0)
            (row,) = await asyncio.to_thread(forward.recent, second.engine, 10)
    assert sorted(s.to for s in gateway.sent) == sorted(targets), "each group once"
    assert (row.status, row.groups) == ("forwarded", 3)


async def test_a_flooding_source_keeps_each_groups_hourly_cap(
    bot: App, gateway: FakeGateway, sandbox: SandboxServer
) -> None:
    """30 different deals in a burst (a source posting 100 a minute): each target group gets its
    `max_per_hour` (6) and no more; every other message has its row saying why it was not sent."""
    foreign = Foreign(sandbox)
    await post(gateway, T2, OWNER2, "订阅 线报")
    await gateway.wait_sent(1)
    products = foreign.jd_products()[:30]
    await asyncio.gather(
        *(
            post(gateway, SRC1, DEALER, f"第 {n} 条 京东好价 {foreign.jd_link(p)}")
            for n, p in enumerate(products)
        )
    )
    await settled(bot, 30)
    assert len(sent_to(gateway, T1)) == 6 and len(sent_to(gateway, T2)) == 1 + 6
    assert bot.engine is not None
    rows = await asyncio.to_thread(forward.recent, bot.engine, 100)
    assert len(rows) == 30
    assert sum(r.status == "forwarded" for r in rows) == 6
    capped = [r for r in rows if r.status == "dropped"]
    assert len(capped) == 24 and all("每小时上限" in r.reason for r in capped)
