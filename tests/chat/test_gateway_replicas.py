"""Replicas of one gateway account over one database (issue 31): a message the gateway redelivers
after a restart, or delivers to two replicas at once, is answered once — on SQLite and PostgreSQL,
with the bot running as `tuike run` runs it against the fake gateway over real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from bot.app import App
from bot.chat.gateway import GatewayChannel
from bot.store import chat_state
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
    write_config,
)
from tests.chat.test_gateway import running_app as _running_app
from tests.helpers import race
from tuike_sandbox.server import SandboxServer


@pytest.fixture
def gateway() -> FakeGateway:
    fake = FakeGateway(token=TOKEN, app_id=APP_ID, bot_wxid=BOT, bot_name=BOT_NAME)
    fake.add_room(ROOM, ROOM_NAME, OWNER, {ALICE: ALICE_NAME, OWNER: OWNER_NAME})
    return fake


@pytest.fixture
async def gateway_base(gateway: FakeGateway) -> AsyncIterator[str]:
    async with serve_asgi(gateway.app) as url:
        yield f"{url}/v2/api"


def _on(store: Engine, folder: Path, gateway_base: str, sandbox: SandboxServer) -> Path:
    """A config of the account in `folder`, its store the shared database."""
    folder.mkdir()
    url = store.url.render_as_string(hide_password=False)
    return write_config(folder, gateway_base, sandbox, extra=f'\n[database]\nurl = "{url}"\n')


@contextlib.asynccontextmanager
async def running_app(config: Path) -> AsyncIterator[App]:
    """`tuike run` on `config`; its engine's connections closed after it (a PostgreSQL connection left
    to the garbage collector warns)."""
    started: App | None = None
    try:
        async with _running_app(config) as app:
            started = app
            yield app
    finally:
        if started is not None and started.engine is not None:
            started.engine.dispose()


def _channel(app: App) -> GatewayChannel:
    assert isinstance(app.channel, GatewayChannel)
    return app.channel


async def test_a_message_redelivered_after_a_restart_is_answered_once(
    tmp_path: Path, store: Engine, gateway_base: str, gateway: FakeGateway, sandbox: SandboxServer
) -> None:
    config = _on(store, tmp_path / "replica", gateway_base, sandbox)
    asked = gateway.text("帮助", sender=ALICE, room=ROOM)
    async with running_app(config):
        assert (await gateway.deliver(asked)).status_code == 200
        await gateway.wait_sent(1)
    async with running_app(config) as again:
        assert (await gateway.deliver(asked)).status_code == 200  # the gateway resends it
        await wait_until(lambda: _channel(again).duplicates_dropped == 1)
        before = len(gateway.sent)
        assert (await gateway.deliver(gateway.text("我的ID", sender=ALICE, room=ROOM))).status_code == 200
        await gateway.wait_sent(before + 1)
    assert len(gateway.sent) == 2, "the redelivered message was not answered again"


async def test_two_replicas_given_one_message_answer_it_once(
    tmp_path: Path, store: Engine, gateway_base: str, gateway: FakeGateway, sandbox: SandboxServer
) -> None:
    """A gateway that resends to the old holder while the new one already serves, or two replicas that
    both think they hold the account for a moment: the INSERT only one of them wins decides."""
    first_config = _on(store, tmp_path / "one", gateway_base, sandbox)
    second_config = _on(store, tmp_path / "two", gateway_base, sandbox)
    async with running_app(first_config) as first, running_app(second_config) as second:
        hooks = [_channel(first).callback_url, _channel(second).callback_url]
        assert httpx.URL(hooks[0]).params["secret"] == httpx.URL(hooks[1]).params["secret"]
        for n in range(3):
            asked = gateway.text(f"帮助 {n}", sender=ALICE, room=ROOM)
            async with httpx.AsyncClient() as client:
                answers = await asyncio.gather(*(client.post(hook, json=asked) for hook in hooks))
            assert [a.status_code for a in answers] == [200, 200]
            dropped = n + 1
            await wait_until(
                lambda d=dropped: (
                    _channel(first).duplicates_dropped + _channel(second).duplicates_dropped == d
                    and len(gateway.sent) >= d
                )
            )
        assert len(gateway.sent) == 3, "each message answered by one replica only"


def test_replicas_starting_at_once_keep_one_webhook_secret(store: Engine) -> None:
    kept = race(6, lambda n: chat_state.put_new(store, f"gateway:{APP_ID}", "webhook_secret", f"secret-{n}"))
    assert len(set(kept)) == 1
    assert chat_state.get(store, f"gateway:{APP_ID}", "webhook_secret") == kept[0]
