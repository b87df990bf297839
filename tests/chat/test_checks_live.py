"""`tuike check` contacts what the config points at, and refuses a real chat with a sandbox league."""

from __future__ import annotations

import asyncio
import socket
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import bot.chat.wechaty
from bot.chat.base import ChatUnavailable
from bot.cli import cli
from bot.cli.checks import run_checks
from bot.compose import build_channel
from bot.config import load_config, parse_settings
from tests.chat.fake_gateway import FakeGateway
from tests.chat.fake_http import serve_asgi
from tests.chat.fake_ilink import FakeIlink
from tuike_sandbox.server import SandboxServer

TOKEN, APP_ID = "gw-check-token", "wx_app_check"


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway(token=TOKEN, app_id=APP_ID, bot_wxid="wxid_bot", bot_name="推客小助手")


@pytest.fixture
async def gateway_base(gateway: FakeGateway) -> AsyncIterator[str]:
    async with serve_asgi(gateway.app) as url:
        yield f"{url}/v2/api"


def config(tmp_path: Path, chat: str, league: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[bot]\ndata_dir = "{(tmp_path / "data").as_posix()}"\n'
        + textwrap.dedent(chat)
        + textwrap.dedent(league),
        encoding="utf-8",
    )
    return path


def gateway_chat(base: str, token: str = TOKEN, listen: str = "127.0.0.1:0") -> str:
    return f"""
        [chat]
        kind = "gateway"
        allow_sandbox_with_real_chat = true
        [chat.gateway]
        base_url = "{base}"
        token = "{token}"
        app_id = "{APP_ID}"
        listen = "{listen}"
        """


async def check(path: Path) -> list[tuple[bool, str]]:
    return await asyncio.to_thread(lambda: list(run_checks(load_config(path))))


def lines_about(lines: list[tuple[bool, str]], prefix: str) -> list[tuple[bool, str]]:
    return [line for line in lines if line[1].startswith(prefix)]


async def test_check_says_the_gateway_is_reachable_and_logged_in(
    tmp_path: Path, gateway: FakeGateway, gateway_base: str
) -> None:
    lines = await check(config(tmp_path, gateway_chat(gateway_base)))
    assert lines_about(lines, "gateway:") == [
        (True, f"gateway: {gateway_base} reachable, account {APP_ID} logged in")
    ]
    gateway.online = False
    (line,) = lines_about(await check(config(tmp_path, gateway_chat(gateway_base))), "gateway:")
    assert not line[0] and "not logged in" in line[1] and "QR" in line[1]


async def test_check_names_a_wrong_token_and_an_unreachable_gateway(
    tmp_path: Path, gateway_base: str
) -> None:
    (line,) = lines_about(
        await check(config(tmp_path, gateway_chat(gateway_base, token="wrong"))), "gateway:"
    )
    assert not line[0] and "X-GEWE-TOKEN" in line[1]
    assert "wrong" not in line[1]
    (line,) = lines_about(
        await check(config(tmp_path, gateway_chat("http://127.0.0.1:9/v2/api"))), "gateway:"
    )
    assert not line[0] and "unreachable" in line[1]


async def test_check_warns_when_the_gateway_cannot_reach_a_loopback_webhook(tmp_path: Path) -> None:
    chat = gateway_chat("http://api.gateway.example/v2/api", listen="127.0.0.1:8701")
    lines = await asyncio.to_thread(lambda: list(run_checks(load_config(config(tmp_path, chat)))))
    (webhook,) = [line for line in lines if line[1].startswith("webhook:") and "cannot call" in line[1]]
    assert not webhook[0] and "callback_url" in webhook[1]


def _answering(status: int, body: str, content_type: str) -> Starlette:
    """A server at base_url that answers every call the same: not the gateway's API."""

    async def answer(_request: Request) -> Response:
        return Response(body, status_code=status, media_type=content_type)

    return Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST"])])


async def test_check_says_what_the_gateway_address_actually_answered(tmp_path: Path) -> None:
    """A web page with HTTP 200 is no refusal of the token, and HTTP 500 is no unreachable gateway."""
    async with serve_asgi(_answering(200, "<html><body>Welcome to nginx!</body></html>", "text/html")) as url:
        (line,) = lines_about(await check(config(tmp_path, gateway_chat(f"{url}/v2/api"))), "gateway:")
    assert not line[0] and "refused" not in line[1] and "token" not in line[1]
    assert "web page" in line[1] and "HTTP 200" in line[1] and "base_url" in line[1]
    async with serve_asgi(_answering(500, "Internal Server Error", "text/plain")) as url:
        (line,) = lines_about(await check(config(tmp_path, gateway_chat(f"{url}/v2/api"))), "gateway:")
    assert not line[0] and "unreachable" not in line[1] and "HTTP 500" in line[1]


async def test_check_with_no_app_id_yet_says_the_first_run_gets_one(
    tmp_path: Path, gateway_base: str
) -> None:
    chat = gateway_chat(gateway_base).replace(f'app_id = "{APP_ID}"', 'app_id = ""')
    (line,) = lines_about(await check(config(tmp_path, chat)), "gateway:")
    assert line[0] and "no app_id yet" in line[1] and "tuike run" in line[1]


async def test_a_remote_gateway_and_a_loopback_webhook_is_one_verdict(tmp_path: Path) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    chat = gateway_chat("http://api.gateway.example/v2/api", listen=f"127.0.0.1:{port}")
    lines = await asyncio.to_thread(lambda: list(run_checks(load_config(config(tmp_path, chat)))))
    webhook = lines_about(lines, "webhook:")
    assert len(webhook) == 1 and not webhook[0][0] and "cannot call" in webhook[0][1], webhook


async def test_ilink_with_no_token_and_nothing_listening_is_not_fine(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        closed = taken.getsockname()[1]  # bound, never listening: connections are refused
        chat = f"""
            [chat]
            kind = "ilink"
            allow_sandbox_with_real_chat = true
            [chat.ilink]
            base_url = "http://127.0.0.1:{closed}"
            """
        (line,) = lines_about(await check(config(tmp_path, chat)), "iLink:")
    assert not line[0] and "unreachable" in line[1] and f"127.0.0.1:{closed}" in line[1]
    fake = FakeIlink(hold_seconds=10)
    async with serve_asgi(fake.app) as url:
        (line,) = lines_about(
            await check(config(tmp_path, chat.replace(f"http://127.0.0.1:{closed}", url))), "iLink:"
        )
    assert line[0] and "no bot token yet" in line[1]


async def test_check_tries_the_ilink_token(tmp_path: Path) -> None:
    fake = FakeIlink(hold_seconds=10)
    fake.tokens.add("good-token")
    async with serve_asgi(fake.app) as url:
        chat = f"""
            [chat]
            kind = "ilink"
            allow_sandbox_with_real_chat = true
            [chat.ilink]
            base_url = "{url}"
            token = "%s"
            """
        (line,) = lines_about(await check(config(tmp_path, chat % "good-token")), "iLink:")
        assert line[0] and "accepted" in line[1]
        (line,) = lines_about(await check(config(tmp_path, chat % "stale-token")), "iLink:")
        assert not line[0] and "-14" in line[1]
        assert "stale-token" not in line[1]
        assert fake.polls == [""], "the check never advanced a cursor"


async def test_check_tries_each_real_leagues_credentials(tmp_path: Path, sandbox: SandboxServer) -> None:
    league = """
        [leagues.channels]
        sandbox = false
        base_url = "%s"
        appid = "wx_check_org"
        secret = "check-secret"
        max_retries = 0
        timeout_seconds = 2
        """
    lines = await check(config(tmp_path, "", league % sandbox.base_url))
    assert lines_about(lines, "league channels:") == [
        (True, "league channels: credentials accepted (one search)"),
        (True, "league channels: funds readable (对账 available)"),
    ]
    sandbox.state.funds_permitted = False
    (_, funds) = lines_about(await check(config(tmp_path, "", league % sandbox.base_url)), "league channels:")
    assert funds[0] and "48001" in funds[1] and "no funds permission" in funds[1], "said, not a failure"
    (line,) = lines_about(
        await check(config(tmp_path, "", league % "http://127.0.0.1:9")), "league channels:"
    )
    assert not line[0]


def test_a_real_chat_with_a_sandbox_league_is_refused_unless_allowed(tmp_path: Path) -> None:
    chat = gateway_chat("http://127.0.0.1:9/v2/api").replace("allow_sandbox_with_real_chat = true\n", "")
    path = config(tmp_path, chat)
    result = CliRunner().invoke(cli, ["--config", str(path), "check"])
    assert result.exit_code == 1
    assert "✗ chat: 真实微信渠道 (gateway) 不能配沙盒联盟 (channels)" in result.output
    assert "allow_sandbox_with_real_chat = true" in result.output
    run = CliRunner().invoke(cli, ["--config", str(path), "run"])
    assert run.exit_code == 2
    assert run.output.count("\n") == 1 and "allow_sandbox_with_real_chat" in run.output
    allowed = parse_settings(
        {
            "chat": {
                "kind": "gateway",
                "allow_sandbox_with_real_chat": True,
                "gateway": {"base_url": "http://x", "token": "t", "app_id": "a"},
            }
        }
    )
    assert allowed.chat.kinds == ("gateway",)


def test_the_wechaty_channel_without_its_extra_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.chat.wechaty, "wechaty_installed", lambda: False)
    settings = parse_settings(
        {
            "chat": {
                "kind": "wechaty",
                "allow_sandbox_with_real_chat": True,
                "wechaty": {"endpoint": "127.0.0.1:1", "token": "t"},
            }
        }
    )
    with pytest.raises(ChatUnavailable, match=r"pip install 'tuike\[wechaty\]'"):
        build_channel(settings)
    path = config(
        tmp_path,
        '[chat]\nkind = "wechaty"\nallow_sandbox_with_real_chat = true\n[chat.wechaty]\nendpoint = "127.0.0.1:1"\ntoken = "t"\n',
    )
    result = CliRunner().invoke(cli, ["--config", str(path), "check"])
    assert (
        "✗ wechaty: the legacy Wechaty channel needs the optional extra: pip install 'tuike[wechaty]'"
        in result.output
    )
    run = CliRunner().invoke(cli, ["--config", str(path), "run"])
    assert run.exit_code == 2 and "tuike[wechaty]" in run.output


def test_kind_may_be_a_list_and_each_channel_is_checked() -> None:
    settings = parse_settings({"chat": {"kind": ["console", "ilink"]}})
    assert settings.chat.kinds == ("console", "ilink")
    with pytest.raises(Exception, match="gateway"):
        parse_settings({"chat": {"kind": ["ilink", "gateway"]}})  # the gateway needs base_url, token, app_id
    with pytest.raises(Exception, match="at most once"):
        parse_settings({"chat": {"kind": ["ilink", "ilink"]}})
    with pytest.raises(Exception, match="'console', 'wechaty', 'gateway' or 'ilink'"):
        parse_settings({"chat": {"kind": ["console", "telegram"]}})
    with pytest.raises(Exception, match="callback_url"):
        parse_settings(
            {
                "chat": {
                    "kind": "gateway",
                    "gateway": {
                        "base_url": "http://x",
                        "token": "t",
                        "app_id": "a",
                        "listen": "0.0.0.0:8701",
                    },
                }
            }
        )


def test_gateway_and_ilink_tokens_may_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUIKE_GATEWAY_TOKEN", "gw-from-env")
    monkeypatch.setenv("TUIKE_ILINK_TOKEN", "il-from-env")
    settings = parse_settings(
        {
            "chat": {
                "kind": ["gateway", "ilink"],
                "gateway": {"base_url": "http://gw.example/v2/api", "app_id": "a"},
            }
        }
    )
    assert settings.chat.gateway.token.get_secret_value() == "gw-from-env"
    assert settings.chat.ilink.token.get_secret_value() == "il-from-env"
    assert "gw-from-env" not in repr(settings)
