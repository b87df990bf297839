"""Three `tuike run` replicas on one PostgreSQL serving one gateway account on the fake gateway: the member
is answered; the holder killed (or paused past its lease) mid-push, another replica registers its own
webhook and answers; every group of 50 with a slot due gets its push once across the replicas."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text

from bot.store.groups import ensure_group
from bot.store.subscriptions import subscribe
from tests.chat.fake_gateway import FakeGateway
from tests.chat.fake_http import serve_asgi
from tests.helpers import wait_until
from tuike_sandbox.server import SandboxServer

BOT, BOT_NAME = "wxid_bot01", "推客小助手"
ALICE, ALICE_NAME = "wxid_alice", "小红"
OWNER = "wxid_owner"
ROOM = "20870958924@chatroom"
TOKEN, APP_ID = "gewe-token-5c1d9e", "wx_app_7f3a"
ACCOUNT = f"gateway:{APP_ID}"
GROUPS = 50
LEASE = 3
GUARD = 90.0
ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def gateway() -> FakeGateway:
    fake = FakeGateway(token=TOKEN, app_id=APP_ID, bot_wxid=BOT, bot_name=BOT_NAME)
    fake.add_room(ROOM, "省钱群", OWNER, {ALICE: ALICE_NAME})
    return fake


@pytest.fixture
async def gateway_base(gateway: FakeGateway) -> AsyncIterator[str]:
    async with serve_asgi(gateway.app) as url:
        yield f"{url}/v2/api"


def _config(tmp_path: Path, url: str, base_url: str, sandbox: SandboxServer) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        textwrap.dedent(
            f"""\
            [bot]
            name = "{BOT_NAME}"
            data_dir = "{(tmp_path / "data").as_posix()}"

            [database]
            url = "{url}"

            [cluster]
            enabled = true
            lease_seconds = {LEASE}

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

            [leagues.channels]
            sandbox = false
            base_url = "{sandbox.base_url}"
            appid = "wx_gateway_org"
            secret = "gateway-secret"
            sharer_appid = "wx_sharer_demo02"
            max_retries = 1
            """
        ),
        encoding="utf-8",
    )
    return path


def _push_rooms() -> list[str]:
    return [f"9{n:010d}@chatroom" for n in range(GROUPS)]


def _seed(engine: Engine) -> str:
    """50 groups of the account, each subscribed to daily deals at a time a few minutes ago: due now."""
    now = datetime.now(ZONE)
    at = (now - timedelta(minutes=3)).strftime("%H:%M")
    for n, room in enumerate(_push_rooms()):
        group = ensure_group(engine, room, f"推送群{n}", OWNER, ACCOUNT)
        assert group.id is not None
        subscribe(engine, group.id, "daily", at, now=now - timedelta(days=1))
    return at


async def _start(config: Path, logs: Path, n: int) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUIKE_")}
    log = (logs / f"replica{n}.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-W", "error", "-m", "bot", "--config", str(config), "run",
        cwd=logs, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
    )  # fmt: skip
    log.close()
    return process


def _holder(engine: Engine) -> int:
    """The pid of the replica holding the account (its default id is host name + "-" + pid), or 0."""
    with engine.connect() as connection:
        holder = connection.execute(
            text("SELECT holder FROM account_leases WHERE account = :a AND expires_at > now()"),
            {"a": ACCOUNT},
        ).scalar()
    return int(str(holder).rsplit("-", 1)[1]) if holder else 0


def _statuses(engine: Engine) -> Counter[str]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT status FROM push_log WHERE slot LIKE 'daily:%'")).all()
    return Counter(str(r[0]) for r in rows)


def _settled(engine: Engine) -> bool:
    """Every slot is sent or reported as interrupted (nothing claimed or in flight any more)."""
    statuses = _statuses(engine)
    return statuses["sent"] + statuses["interrupted"] == GROUPS


def _pushes(gateway: FakeGateway) -> Counter[str]:
    rooms = set(_push_rooms())
    return Counter(s.to for s in gateway.sent if s.to in rooms)


async def _ask(gateway: FakeGateway, words: str) -> None:
    before = sum(1 for s in gateway.sent if s.to == ROOM)
    answer = await gateway.deliver(gateway.text(words, sender=ALICE, room=ROOM))
    assert answer.status_code == 200
    await wait_until(lambda: sum(1 for s in gateway.sent if s.to == ROOM) > before, GUARD)


@pytest.fixture
async def cluster(
    tmp_path: Path, cluster_url: str, pg: Engine, gateway_base: str, sandbox: SandboxServer
) -> AsyncIterator[tuple[list[asyncio.subprocess.Process], Path]]:
    await asyncio.to_thread(_seed, pg)
    config = _config(tmp_path, cluster_url, gateway_base, sandbox)
    processes = [await _start(config, tmp_path, n) for n in range(3)]
    try:
        yield processes, tmp_path
    finally:
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGCONT)
                process.kill()
                await process.wait()


async def _serving(gateway: FakeGateway, pg: Engine, processes: list[asyncio.subprocess.Process]) -> int:
    """Wait until a replica serves the account and has pushed to a few groups; its pid."""
    await wait_until(lambda: gateway.callback_tests >= 1, GUARD)
    await _ask(gateway, "找 蓝牙耳机")
    await wait_until(lambda: len(_pushes(gateway)) >= 10, GUARD)
    pid = await asyncio.to_thread(_holder, pg)
    assert pid in {p.pid for p in processes}
    return pid


async def test_a_killed_holder_is_replaced_and_each_push_goes_out_once(
    cluster: tuple[list[asyncio.subprocess.Process], Path], gateway: FakeGateway, pg: Engine
) -> None:
    processes, _logs = cluster
    pid = await _serving(gateway, pg, processes)
    first_callback = gateway.callback_url
    os.kill(pid, signal.SIGKILL)
    # another replica takes the account over: registers its own webhook, answers the member
    await wait_until(lambda: gateway.callback_url != first_callback, GUARD)
    await _ask(gateway, "找 保温杯")
    await wait_until(lambda: _settled(pg), GUARD)
    statuses = await asyncio.to_thread(_statuses, pg)
    pushes = _pushes(gateway)
    assert max(pushes.values()) == 1, "no group gets its slot twice"
    assert statuses["sent"] + statuses["interrupted"] == GROUPS, statuses
    assert statuses["interrupted"] <= 1, "only the push in flight at the kill may be lost"
    assert len(pushes) >= GROUPS - statuses["interrupted"]


async def test_a_paused_holder_sends_nothing_once_resumed(
    cluster: tuple[list[asyncio.subprocess.Process], Path], gateway: FakeGateway, pg: Engine
) -> None:
    processes, logs = cluster
    pid = await _serving(gateway, pg, processes)
    first_callback = gateway.callback_url
    os.kill(pid, signal.SIGSTOP)
    try:
        await wait_until(lambda: gateway.callback_url != first_callback, GUARD)
        await wait_until(lambda: _settled(pg), GUARD)
    finally:
        os.kill(pid, signal.SIGCONT)
    paused = next(p for p in processes if p.pid == pid)
    log = logs / f"replica{processes.index(paused)}.log"
    await wait_until(lambda: "ran out: no more sends for it" in log.read_text(encoding="utf-8"), GUARD)
    await _ask(gateway, "找 保温杯")  # served by the new holder; the resumed one had its turns meanwhile
    pushes = _pushes(gateway)
    assert max(pushes.values()) == 1, "the resumed replica sent none of what it had queued"
    statuses = await asyncio.to_thread(_statuses, pg)
    assert statuses["sent"] + statuses["interrupted"] == GROUPS, statuses
    assert paused.returncode is None, "the paused replica lives on, serving nothing"
