"""The issue's end-to-end test: three `tuike run` replicas on one PostgreSQL, two gateway accounts on the
fake gateway (`[[chat.gateway.accounts]]`). Members of both accounts are answered; the replica holding
one account is killed (or paused past its lease) mid-push, another replica registers its own webhook
for it and answers; 50 groups with a slot due in the same minute (25 per account) each get their push
once across the replicas."""

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
from tests.chat.fake_gateway import FakeGateway, one_gateway_for
from tests.chat.fake_http import serve_asgi
from tests.helpers import wait_until
from tuike_sandbox.server import SandboxServer

BOT_NAME = "推客小助手"
ALICE, BOB, OWNER = "wxid_alice", "wxid_bob", "wxid_owner"
SALES_ROOM, SUPPORT_ROOM = "111@chatroom", "222@chatroom"
SALES = ("sales", "wx_app_sales", "token-sales-9f2c", "wxid_bot_sales")
SUPPORT = ("support", "wx_app_support", "token-support-41ab", "wxid_bot_support")
ACCOUNTS = {"sales": f"gateway:{SALES[1]}", "support": f"gateway:{SUPPORT[1]}"}
GROUPS = 50
LEASE = 3
GUARD = 90.0
ZONE = ZoneInfo("Asia/Shanghai")


def _fake(account: tuple[str, str, str, str], room: str, member: str) -> FakeGateway:
    name, app_id, token, wxid = account
    fake = FakeGateway(token=token, app_id=app_id, bot_wxid=wxid, bot_name=BOT_NAME)
    fake.add_room(room, f"{name} 群", OWNER, {member: "成员", OWNER: "群主"})
    return fake


@pytest.fixture
def fakes() -> dict[str, FakeGateway]:
    return {"sales": _fake(SALES, SALES_ROOM, ALICE), "support": _fake(SUPPORT, SUPPORT_ROOM, BOB)}


@pytest.fixture
async def gateway_base(fakes: dict[str, FakeGateway]) -> AsyncIterator[str]:
    async with serve_asgi(one_gateway_for(fakes["sales"], fakes["support"])) as url:
        yield f"{url}/v2/api"


def _config(tmp_path: Path, url: str, base_url: str, sandbox: SandboxServer) -> Path:
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
            listen = "127.0.0.1:0"

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


def _push_rooms(name: str = "") -> list[str]:
    """The 50 pushed groups: the even ones the sales account's, the odd ones the support account's."""
    rooms = [f"9{n:010d}@chatroom" for n in range(GROUPS)]
    if not name:
        return rooms
    return rooms[0::2] if name == "sales" else rooms[1::2]


def _seed(engine: Engine) -> str:
    """50 groups, each subscribed to daily deals at the same time a few minutes ago: due now."""
    now = datetime.now(ZONE)
    at = (now - timedelta(minutes=3)).strftime("%H:%M")
    for n, room in enumerate(_push_rooms()):
        account = ACCOUNTS["sales" if n % 2 == 0 else "support"]
        group = ensure_group(engine, room, f"推送群{n}", OWNER, account)
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


def _holder(engine: Engine, name: str) -> int:
    """The pid of the replica holding the account (its default id is host name + "-" + pid), or 0."""
    with engine.connect() as connection:
        holder = connection.execute(
            text("SELECT holder FROM account_leases WHERE account = :a AND expires_at > now()"),
            {"a": ACCOUNTS[name]},
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


def _pushes(fakes: dict[str, FakeGateway]) -> Counter[str]:
    """Pushes each group received, through the account that serves it."""
    return Counter(s.to for name, fake in fakes.items() for s in fake.sent if s.to in _push_rooms(name))


def _answers(fakes: dict[str, FakeGateway], name: str) -> int:
    room = SALES_ROOM if name == "sales" else SUPPORT_ROOM
    return sum(1 for s in fakes[name].sent if s.to == room)


async def _ask(fakes: dict[str, FakeGateway], name: str, words: str) -> None:
    """A member of the account's group asks; answered once, in that group."""
    fake = fakes[name]
    room, member = (SALES_ROOM, ALICE) if name == "sales" else (SUPPORT_ROOM, BOB)
    before = sum(1 for s in fake.sent if s.to == room)
    message = fake.text(words, sender=member, room=room)
    deadline = asyncio.get_running_loop().time() + GUARD
    # mid-handover the old holder's route answers 503 until the new holder has registered its own
    # address: the gateway delivers the message again, as it does after a refused callback
    while (answer := await fake.deliver(message)).status_code == 503:
        assert asyncio.get_running_loop().time() < deadline, "the account is served by nobody"
        await asyncio.sleep(0.05)
    assert answer.status_code == 200
    await wait_until(lambda: sum(1 for s in fake.sent if s.to == room) > before, GUARD)


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


async def _serving(
    fakes: dict[str, FakeGateway], pg: Engine, processes: list[asyncio.subprocess.Process]
) -> int:
    """Both accounts served (by two different replicas: a fair share of two accounts over three is one)
    and their members answered; the sales account has pushed to a few of its groups. The pid of the
    replica holding the sales account."""
    await wait_until(lambda: all(fake.callback_tests >= 1 for fake in fakes.values()), GUARD)
    holders = await _spread(pg)
    assert set(holders.values()) <= {p.pid for p in processes}
    for name in fakes:
        await _ask(fakes, name, "找 蓝牙耳机")
    await wait_until(lambda: len([r for r in _pushes(fakes) if r in _push_rooms("sales")]) >= 5, GUARD)
    assert await _spread(pg) == holders
    return holders["sales"]


async def _spread(pg: Engine) -> dict[str, int]:
    """Account → the pid of its holder, once the two accounts are held by two replicas (the first
    replica up takes both, and gives one up as soon as it sees the others live)."""
    deadline = asyncio.get_running_loop().time() + GUARD
    while True:
        holders = {name: await asyncio.to_thread(_holder, pg, name) for name in ACCOUNTS}
        if all(holders.values()) and holders["sales"] != holders["support"]:
            return holders
        assert asyncio.get_running_loop().time() < deadline, f"accounts not spread: {holders}"
        await asyncio.sleep(0.05)


async def test_a_killed_holder_is_replaced_and_each_push_goes_out_once(
    cluster: tuple[list[asyncio.subprocess.Process], Path], fakes: dict[str, FakeGateway], pg: Engine
) -> None:
    processes, _logs = cluster
    pid = await _serving(fakes, pg, processes)
    first_callback = fakes["sales"].callback_url
    os.kill(pid, signal.SIGKILL)
    # the standby takes the sales account over: registers its own webhook, answers the member
    await wait_until(lambda: fakes["sales"].callback_url != first_callback, GUARD)
    await _ask(fakes, "sales", "找 保温杯")
    await _ask(fakes, "support", "找 保温杯")
    await wait_until(lambda: _settled(pg), GUARD)
    statuses = await asyncio.to_thread(_statuses, pg)
    pushes = _pushes(fakes)
    assert max(pushes.values()) == 1, "no group gets its slot twice"
    assert statuses["sent"] + statuses["interrupted"] == GROUPS, statuses
    # Pushes are claimed in batches just ahead of the sender (as many as it sends in 50 ms) and their
    # "sent" rides with the next claim: a kill can leave the batch in hand reported interrupted — some
    # delivered, the rest not, none resent. Every group that missed its push is among those reported.
    assert GROUPS - len(pushes) <= statuses["interrupted"] <= 5, (len(pushes), statuses)
    assert all(p.returncode is None for p in processes if p.pid != pid), "the other replicas serve on"
    assert (_answers(fakes, "sales"), _answers(fakes, "support")) == (2, 2), "each question answered once"


async def test_a_paused_holder_sends_nothing_once_resumed(
    cluster: tuple[list[asyncio.subprocess.Process], Path], fakes: dict[str, FakeGateway], pg: Engine
) -> None:
    processes, logs = cluster
    pid = await _serving(fakes, pg, processes)
    first_callback = fakes["sales"].callback_url
    os.kill(pid, signal.SIGSTOP)
    try:
        await wait_until(lambda: fakes["sales"].callback_url != first_callback, GUARD)
        await wait_until(lambda: _settled(pg), GUARD)
    finally:
        os.kill(pid, signal.SIGCONT)
    paused = next(p for p in processes if p.pid == pid)
    log = logs / f"replica{processes.index(paused)}.log"
    await wait_until(lambda: "ran out: no more sends for it" in log.read_text(encoding="utf-8"), GUARD)
    await _ask(fakes, "sales", "找 保温杯")  # the new holder answers; the resumed one had its turns meanwhile
    pushes = _pushes(fakes)
    assert max(pushes.values()) == 1, "the resumed replica sent none of what it had queued"
    statuses = await asyncio.to_thread(_statuses, pg)
    assert statuses["sent"] + statuses["interrupted"] == GROUPS, statuses
    assert all(p.returncode is None for p in processes), "the paused replica lives on, serving nothing"
    assert (_answers(fakes, "sales"), _answers(fakes, "support")) == (2, 1), "each question answered once"
