"""Several WeChat accounts on one gateway (`[[chat.gateway.accounts]]`), served by one webhook server
with a route per account, and the callback URL each replica registers (`{replica}`, `{account}`):
against the fake GeWe-shaped gateway over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot import redact
from bot.app import App
from bot.chat.base import Incoming, RegistersCallback
from bot.chat.gateway import GatewayChannel
from bot.chat.gateway_server import WebhookServer
from bot.chat.gateway_settings import GatewaySettings
from bot.compose import account_of
from bot.config import ConfigError, load_config, parse_settings
from tests.chat.fake_gateway import FakeGateway, one_gateway_for
from tests.chat.fake_http import serve_asgi, wait_until
from tuike_sandbox.server import SandboxServer

BOT_NAME = "推客小助手"
ALICE, BOB, OWNER = "wxid_alice", "wxid_bob", "wxid_owner"
SALES_ROOM, SUPPORT_ROOM = "111@chatroom", "222@chatroom"
SALES = ("sales", "wx_app_sales", "token-sales-9f2c", "wxid_bot_sales")
SUPPORT = ("support", "wx_app_support", "token-support-41ab", "wxid_bot_support")


def _fake(account: tuple[str, str, str, str], room: str, member: str) -> FakeGateway:
    _name, app_id, token, wxid = account
    fake = FakeGateway(token=token, app_id=app_id, bot_wxid=wxid, bot_name=BOT_NAME)
    fake.add_room(room, f"{_name} 群", OWNER, {member: "成员", OWNER: "群主"})
    return fake


@pytest.fixture
def sales() -> FakeGateway:
    return _fake(SALES, SALES_ROOM, ALICE)


@pytest.fixture
def support() -> FakeGateway:
    return _fake(SUPPORT, SUPPORT_ROOM, BOB)


@pytest.fixture
async def gateway_base(sales: FakeGateway, support: FakeGateway) -> AsyncIterator[str]:
    async with serve_asgi(one_gateway_for(sales, support)) as url:
        yield f"{url}/v2/api"


def _gateway(raw: str) -> GatewaySettings:
    import tomllib

    settings = parse_settings(tomllib.loads(raw))
    gateway: GatewaySettings = settings.chat.gateway
    return gateway


# -- the config --------------------------------------------------------------------------------------


def test_the_single_form_is_one_account_named_default() -> None:
    gw = _gateway(
        '[chat]\nkind = "gateway"\n[chat.gateway]\nbase_url = "http://gw.example/api"\n'
        'token = "t-123456"\napp_id = "wx_1"\n'
    )
    (only,) = gw.per_account()
    assert (only.account_name, only.app_id, only.account) == ("default", "wx_1", "gateway:wx_1")
    assert only.token.get_secret_value() == "t-123456"


def test_several_accounts_each_with_their_name_app_id_and_token_share_the_other_keys() -> None:
    gw = _gateway(
        textwrap.dedent(
            """\
            [chat]
            kind = "gateway"
            [chat.gateway]
            base_url = "http://gw.example/api"
            token = "shared-token-1"
            listen = "127.0.0.1:8801"
            callback_url = "https://bot.example.com/{replica}/{account}"
            [[chat.gateway.accounts]]
            name = "sales"
            app_id = "wx_a"
            token = "own-token-a"
            [[chat.gateway.accounts]]
            name = "support-2"
            app_id = "wx_b"
            """
        )
    )
    first, second = gw.per_account()
    assert [t.account_name for t in (first, second)] == ["sales", "support-2"]
    assert [t.account for t in (first, second)] == ["gateway:wx_a", "gateway:wx_b"]  # as stored before
    assert first.token.get_secret_value() == "own-token-a"
    assert second.token.get_secret_value() == "shared-token-1", "no token of its own: the shared one"
    assert {t.listen for t in (first, second)} == {"127.0.0.1:8801"}
    assert {t.callback_url for t in (first, second)} == {"https://bot.example.com/{replica}/{account}"}
    assert "own-token-a" in redact.secret_values(parse_settings(_chat_raw()))  # never in a log line


def _chat_raw() -> dict[str, object]:
    return {
        "chat": {
            "kind": "gateway",
            "gateway": {
                "base_url": "http://gw.example/api",
                "accounts": [{"name": "sales", "app_id": "wx_a", "token": "own-token-a"}],
            },
        }
    }


@pytest.mark.parametrize(
    ("gateway", "said"),
    [
        (
            {"token": "t-1234", "accounts": [{"name": "a", "app_id": "x"}, {"name": "a", "app_id": "y"}]},
            "账号名 'a' 用了两次",
        ),
        ({"token": "t-1234", "accounts": [{"name": "销售", "app_id": "x"}]}, "账号名只能用字母"),
        ({"token": "t-1234", "accounts": [{"name": "a/b", "app_id": "x"}]}, "账号名只能用字母"),
        ({"token": "t-1234", "accounts": [{"name": "", "app_id": "x"}]}, "账号名只能用字母"),
        ({"token": "t-1234", "accounts": [{"app_id": "x"}]}, "accounts.0.name"),
        (
            {"token": "t-1234", "app_id": "x", "accounts": [{"name": "a", "app_id": "y"}]},
            "app_id 要写在各个 [[chat.gateway.accounts]] 里",
        ),
        (
            {"token": "t-1234", "accounts": [{"name": "a", "app_id": "x"}, {"name": "b", "app_id": "x"}]},
            "app_id 'x' 写在了两个账号里",
        ),
        (
            {"token": "t-1234", "accounts": [{"name": "a"}, {"name": "b"}]},
            "都没有 app_id",
        ),
        (
            {
                "token": "t-1234",
                "callback_url": "https://bot.example.com/hook",
                "accounts": [{"name": "a", "app_id": "x"}, {"name": "b", "app_id": "y"}],
            },
            "地址里要有 {account}",
        ),
        (
            {"token": "t-1234", "app_id": "x", "callback_url": "https://bot.example.com/{host}"},
            "不认识 {host}",
        ),
        ({"accounts": [{"name": "a", "app_id": "x"}]}, "账号 'a' 的 token"),
        ({"token": "t-1234", "accounts": [{"name": "a", "app_id": "x", "secret": "s"}]}, "unknown key"),
    ],
)
def test_bad_accounts_are_refused_with_one_line_saying_what_is_wrong(
    gateway: dict[str, object], said: str
) -> None:
    raw = {"chat": {"kind": "gateway", "gateway": {"base_url": "http://gw.example/api", **gateway}}}
    with pytest.raises(ConfigError) as refused:
        parse_settings(raw)
    assert said in str(refused.value)
    assert "t-1234" not in str(refused.value)


# -- the running accounts ------------------------------------------------------------------------------


def _config(tmp_path: Path, base_url: str, sandbox: SandboxServer, gateway_extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    accounts = "".join(
        f'\n[[chat.gateway.accounts]]\nname = "{name}"\napp_id = "{app_id}"\ntoken = "{token}"\n'
        for name, app_id, token, _wxid in (SALES, SUPPORT)
    )
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
        + accounts,
        encoding="utf-8",
    )
    return path


@contextlib.asynccontextmanager
async def running(config: Path) -> AsyncIterator[App]:
    app = App(load_config(config))
    task = asyncio.create_task(app.run())
    try:
        await wait_until(
            lambda: task.done() or (len(app.channels) == 2 and all(c.logged_in for c in app.channels)),  # type: ignore[attr-defined]
            within=15,
        )
        if task.done():
            task.result()
        yield app
    finally:
        await asyncio.wait_for(app.stop(), 10)
        await asyncio.wait_for(task, 10)


async def test_two_accounts_answer_their_own_members_through_one_webhook_server(
    tmp_path: Path, gateway_base: str, sales: FakeGateway, support: FakeGateway, sandbox: SandboxServer
) -> None:
    async with running(_config(tmp_path, gateway_base, sandbox)) as app:
        assert sorted(account_of(c) for c in app.channels) == [
            "gateway:wx_app_sales",
            "gateway:wx_app_support",
        ]
        sales_hook, support_hook = httpx.URL(sales.callback_url), httpx.URL(support.callback_url)
        assert sales_hook.port == support_hook.port, "one server on [chat.gateway] listen"
        assert (sales_hook.path, support_hook.path) == (
            "/gateway/callback/sales",
            "/gateway/callback/support",
        )

        await sales.deliver(sales.text("群ID", sender=OWNER, room=SALES_ROOM))
        await support.deliver(support.text("帮助", sender=BOB, room=SUPPORT_ROOM))
        (to_owner,) = await sales.wait_sent(1)
        (to_bob,) = await support.wait_sent(1)
        assert (to_owner.to, to_owner.ats) == (SALES_ROOM, OWNER)
        assert (to_bob.to, to_bob.ats) == (SUPPORT_ROOM, BOB)
        assert SALES_ROOM in to_owner.content, "群ID answered with the sales group's own id"

        # the sales account's secret does not open the support account's route
        wrong = sales_hook.copy_with(path="/gateway/callback/support")
        async with httpx.AsyncClient() as client:
            refused = await client.post(str(wrong), json=support.text("帮助", sender=BOB, room=SUPPORT_ROOM))
        assert refused.status_code == 403
    assert len(sales.sent) == 1 and len(support.sent) == 1


async def test_the_callback_url_names_this_replica_and_the_account(
    tmp_path: Path, gateway_base: str, sales: FakeGateway, support: FakeGateway, sandbox: SandboxServer
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    template = f"http://127.0.0.1:{port}/hook/{{replica}}/{{account}}"
    config = _config(tmp_path, gateway_base, sandbox, f'callback_url = "{template}"')
    config.write_text(config.read_text().replace('listen = "127.0.0.1:0"', f'listen = "127.0.0.1:{port}"'))
    async with running(config):
        replica = f"{socket.gethostname()}-{os.getpid()}"
        assert httpx.URL(sales.callback_url).path == f"/hook/{replica}/sales"
        assert httpx.URL(support.callback_url).path == f"/hook/{replica}/support"
        (answer,) = await _ask(support, "帮助", sender=BOB, room=SUPPORT_ROOM)
        assert answer.to == SUPPORT_ROOM


async def _ask(fake: FakeGateway, text: str, **kw: str) -> list[object]:
    before = len(fake.sent)
    assert (await fake.deliver(fake.text(text, **kw))).status_code == 200  # type: ignore[arg-type]
    return list(await fake.wait_sent(before + 1))[before:]


class Record:
    def __init__(self) -> None:
        self.got: list[str] = []

    async def __call__(self, message: Incoming) -> None:
        self.got.append(message.text)


@contextlib.asynccontextmanager
async def started(channel: GatewayChannel, handler: Record) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(channel.run(handler))
    try:
        await wait_until(lambda: channel.logged_in or task.done(), within=15)
        if task.done():
            task.result()
        yield task
    finally:
        await channel.stop()
        await asyncio.wait_for(task, 10)


def _channel(
    base_url: str, account: tuple[str, str, str, str], server: WebhookServer, **kw: str
) -> GatewayChannel:
    name, app_id, token, _wxid = account
    return GatewayChannel(
        base_url=base_url, token=token, app_id=app_id, account_name=name, webhook_server=server, **kw
    )


async def test_one_account_stops_and_starts_again_while_the_other_goes_on(
    gateway_base: str, sales: FakeGateway, support: FakeGateway
) -> None:
    server = WebhookServer("127.0.0.1", 0)
    on_sales, on_support = Record(), Record()
    sales_channel = _channel(gateway_base, SALES, server)
    support_channel = _channel(gateway_base, SUPPORT, server)
    async with started(support_channel, on_support):
        async with started(sales_channel, on_sales):
            assert server.accounts == ("support", "sales")
        assert server.accounts == ("support",), "the sales account stopped, alone"
        stale = await sales.deliver(sales.text("帮助", sender=ALICE, room=SALES_ROOM))
        assert stale.status_code == 503, "a stopped account's calls are refused: the gateway may resend"
        assert (
            await support.deliver(support.text("还在吗", sender=BOB, room=SUPPORT_ROOM))
        ).status_code == 200
        await wait_until(lambda: on_support.got == ["还在吗"])

        async with started(sales_channel, on_sales):  # the same account taken back by this replica
            assert (
                await sales.deliver(sales.text("又来了", sender=ALICE, room=SALES_ROOM))
            ).status_code == 200
            await wait_until(lambda: on_sales.got == ["又来了"])
    assert server.server is None, "the server stops with the last account"


async def test_a_replica_taking_an_account_over_registers_the_callback_to_its_own_address(
    gateway_base: str, sales: FakeGateway
) -> None:
    template = "http://127.0.0.1:{port}/gateway/callback/{account}?replica={replica}"
    first_server, second_server = WebhookServer("127.0.0.1", 0), WebhookServer("127.0.0.1", 0)
    first, on_first = _channel(gateway_base, SALES, first_server, replica_id="r1"), Record()
    second, on_second = _channel(gateway_base, SALES, second_server, replica_id="r2"), Record()
    async with started(first, on_first), started(second, on_second):
        # each registered at its connect; the one connected last is where the gateway calls
        assert httpx.URL(sales.callback_url).port == second.listen_port
        assert (await sales.deliver(sales.text("第一句", sender=ALICE, room=SALES_ROOM))).status_code == 200
        await wait_until(lambda: on_second.got == ["第一句"])

        first.configured_callback = template.replace("{port}", str(first.listen_port))
        assert isinstance(first, RegistersCallback)  # how a takeover finds it, without naming the kind
        shown = await first.register_callback()  # the takeover: r1 holds the account now
        assert shown == f"http://127.0.0.1:{first.listen_port}/gateway/callback/sales"
        assert httpx.URL(sales.callback_url).params["replica"] == "r1"
        assert "secret" not in shown
        assert (await sales.deliver(sales.text("第二句", sender=ALICE, room=SALES_ROOM))).status_code == 200
        await wait_until(lambda: on_first.got == ["第二句"])
    assert on_second.got == ["第一句"]


async def test_registering_the_callback_of_an_account_not_served_here_says_so(gateway_base: str) -> None:
    channel = _channel(gateway_base, SALES, WebhookServer("127.0.0.1", 0))
    with pytest.raises(Exception, match="not served here"):
        await channel.register_callback()
    await channel.client.aclose()


async def test_tuike_check_looks_at_each_account(
    tmp_path: Path, gateway_base: str, support: FakeGateway, sandbox: SandboxServer
) -> None:
    from bot.cli.checks import run_checks

    support.online = False
    config = _config(tmp_path, gateway_base, sandbox)
    lines = await asyncio.to_thread(lambda: list(run_checks(load_config(config))))
    about = [line for line in lines if line[1].startswith("gateway ")]
    assert about == [
        (True, f"gateway sales: {gateway_base} reachable, account wx_app_sales logged in"),
        (
            False,
            "gateway support: account wx_app_support is not logged in: `tuike run` shows its login QR code",
        ),
    ]
    assert not any(token in text for _ok, text in lines for token in (SALES[2], SUPPORT[2]))


async def test_a_named_accounts_first_login_keeps_its_app_id_apart(
    tmp_path: Path, gateway_base: str, sales: FakeGateway, support: FakeGateway, sandbox: SandboxServer
) -> None:
    """One account without app_id (its first login) beside one that has it: the appId the gateway
    hands out is kept under the account's name, and the next start uses it without a new login."""
    from bot.store import chat_state

    support.online, support.gives_app_id, support.login_confirmed = False, True, True
    config = _config(tmp_path, gateway_base, sandbox)
    config.write_text(config.read_text().replace(f'app_id = "{SUPPORT[1]}"', 'app_id = ""'))
    async with running(config) as app:
        assert app.engine is not None
        kept = await asyncio.to_thread(chat_state.get, app.engine, "gateway:", "app_id:support")
        assert kept == SUPPORT[1]
        assert await asyncio.to_thread(chat_state.get, app.engine, "gateway:", "app_id") is None
        (answer,) = await _ask(support, "帮助", sender=BOB, room=SUPPORT_ROOM)
        assert answer.to == SUPPORT_ROOM  # type: ignore[attr-defined]
    support.calls.clear()
    async with running(config) as again:
        assert sorted(account_of(c) for c in again.channels) == [
            f"gateway:{SALES[1]}",
            f"gateway:{SUPPORT[1]}",
        ]
    assert "/login/getLoginQrCode" not in [path for path, _ in support.calls]


async def test_the_webhook_server_routes_by_account_and_refuses_what_names_none() -> None:
    server = WebhookServer("127.0.0.1", 0)
    reached: list[str] = []

    def app(name: str) -> Any:
        async def serve(scope: dict[str, Any], receive: Any, send: Any) -> None:
            reached.append(name)
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})

        return serve

    port = await server.attach("sales", app("sales"))
    try:
        with pytest.raises(ValueError, match="already served"):
            await server.attach("sales", app("again"))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            # one account: every path is its (the single form's /gateway/callback, an operator's own path)
            assert (await client.post("/gateway/callback")).status_code == 200
            assert (await client.post("/proxy/wx-hook")).status_code == 200
            await server.attach("support", app("support"))
            assert (await client.post("/gateway/callback/support/")).status_code == 200
            assert (await client.post("/gateway/callback")).status_code == 503, "two accounts, none named"
            server.withdraw("support")
            assert (await client.post("/gateway/callback/support")).status_code == 503
            assert (await client.post("/gateway/callback/sales")).status_code == 200
        assert reached == ["sales", "sales", "support", "sales"]
        assert server.not_served == 2
    finally:
        await server.release("sales")
    assert server.server is None
