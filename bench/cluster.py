"""Replicas over one PostgreSQL (`[cluster] enabled`): push throughput with 1, 2 and 3 `tuike run`
replicas, and the takeover time when the holder of an account is killed.

Each round starts N replicas (real `tuike run` processes) of one config with several gateway accounts
on the fake gateway (tests/chat/fake_gateway.py) and the Channels league on the sandbox, waits until
the accounts are spread over them, then makes the daily slot of every group due (groups spread over the
accounts) and times each account's pushes from its first to its last: `pushes_per_s_N` is the sum of
the accounts' rates (each replica's minute tick starts its accounts' pushes on its own clock, so the span
from the very first push to the very last, `push_s_N`, also holds the gap between the ticks). With 2
and 3 replicas it then kills the replica holding the first account and times kill → the next answer a member of that account
gets (the message is delivered again while nobody serves it, as a gateway does). Sends are paced per
account (`[push] rate_per_minute` 600, no jitter): `paced_ceiling_per_s` is what the accounts allow
together. The last line is one JSON object.

    .venv/bin/python bench/cluster.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench
        [--accounts 4] [--groups 200] [--lease 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import textwrap
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import Engine, text
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.store import db
from bot.store.groups import ensure_group
from bot.store.models import Subscription
from tests.chat.fake_gateway import FakeGateway, one_gateway_for
from tests.chat.fake_http import serve_asgi
from tests.helpers import postgres_schema
from tuike_sandbox.server import SandboxServer

ZONE = ZoneInfo("Asia/Shanghai")
RATE = 600
GUARD = 240.0
OWNER, MEMBER = "wxid_owner", "wxid_member"


async def until(condition: object, what: str, within: float = GUARD) -> None:
    deadline = time.monotonic() + within
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError(f"still waiting for {what} after {within:.0f} s")
        await asyncio.sleep(0.005)


def accounts_of(count: int) -> list[tuple[str, str, str, str]]:
    return [(f"a{n}", f"wx_app_{n}", f"token-{n}-9f2c", f"wxid_bot_{n}") for n in range(count)]


def config(
    path: Path,
    url: str,
    base_url: str,
    sandbox: SandboxServer,
    accounts: list[tuple[str, str, str, str]],
    lease: int,
) -> Path:
    tables = "".join(
        f'\n[[chat.gateway.accounts]]\nname = "{name}"\napp_id = "{app_id}"\ntoken = "{token}"\n'
        for name, app_id, token, _wxid in accounts
    )
    file = path / "config.toml"
    file.write_text(
        textwrap.dedent(
            f"""\
            [bot]
            data_dir = "{(path / "data").as_posix()}"
            log_level = "WARNING"

            [database]
            url = "{url}"

            [cluster]
            enabled = true
            lease_seconds = {lease}

            [push]
            rate_per_minute = {RATE}
            jitter_min_seconds = 0
            jitter_max_seconds = 0

            [orders]
            enabled = false

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
        + tables,
        encoding="utf-8",
    )
    return file


def holders(engine: Engine) -> dict[str, str]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT account, holder FROM account_leases WHERE expires_at > now() AND holder <> ''")
        ).all()
    return {str(a): str(h) for a, h in rows}


def seed(engine: Engine, accounts: list[tuple[str, str, str, str]], groups: int) -> None:
    """Every group's daily slot due now (a time a few minutes ago, subscribed yesterday), in ONE
    commit: a replica's minute tick sees every slot or none (not half, the rest a minute later)."""
    now = datetime.now(ZONE)
    at = (now - timedelta(minutes=3)).strftime("%H:%M")
    made = []
    for n in range(groups):
        account = f"gateway:{accounts[n % len(accounts)][1]}"
        group = ensure_group(engine, f"9{n:010d}@chatroom", f"推送群{n}", OWNER, account)
        assert group.id is not None
        made.append((group.id, account))
    with Session(engine) as session:
        for group_id, account in made:
            session.add(
                Subscription(
                    group_id=group_id,
                    kind="daily",
                    at_time=at,
                    account=account,
                    updated_at=now - timedelta(days=1),
                )
            )
        session.commit()


async def start(file: Path, logs: Path, n: int) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUIKE_")}
    log = (logs / f"replica{n}.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--config", str(file), "run",
        cwd=logs, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
    )  # fmt: skip
    log.close()
    return process


async def round_of(replicas: int, url: str, accounts_count: int, groups: int, lease: int) -> dict[str, float]:
    accounts = accounts_of(accounts_count)
    fakes = [FakeGateway(token=t, app_id=a, bot_wxid=w, bot_name="推客小助手") for _n, a, t, w in accounts]
    first = fakes[0]
    first.add_room("111@chatroom", "成员群", OWNER, {MEMBER: "成员"})
    pushed: dict[str, float] = {}
    with postgres_schema(url) as schema_url, tempfile.TemporaryDirectory() as tmp:
        engine = db.make_engine(schema_url)
        db.upgrade(engine)
        async with SandboxServer() as sandbox, serve_asgi(one_gateway_for(*fakes)) as gateway_url:
            file = config(Path(tmp), schema_url, f"{gateway_url}/v2/api", sandbox, accounts, lease)
            processes = [await start(file, Path(tmp), n) for n in range(replicas)]
            try:
                spread = min(replicas, accounts_count)

                def settled() -> bool:
                    held = holders(engine)
                    return len(held) == accounts_count and len(set(held.values())) == spread

                await until(lambda: all(f.callback_tests >= 1 for f in fakes), "every account served")
                spread_by = time.monotonic() + GUARD
                while not await asyncio.to_thread(settled):
                    if time.monotonic() > spread_by:
                        raise TimeoutError("the accounts were not spread over the replicas")
                    await asyncio.sleep(0.05)
                await asyncio.to_thread(seed, engine, accounts, groups)

                def pushes() -> Counter[str]:
                    return Counter(s.to for f in fakes for s in f.sent if s.to.startswith("9"))

                seen: dict[str, float] = {}  # room → when its push was first seen (polled every 2 ms)

                async def watch() -> None:
                    while True:
                        now = time.monotonic()
                        for fake in fakes:
                            for sent in fake.sent:
                                if sent.to.startswith("9"):
                                    seen.setdefault(f"{fake.app_id} {sent.to}", now)
                        await asyncio.sleep(0.002)

                watching = asyncio.create_task(watch())
                await until(lambda: len(pushes()) >= groups, f"{groups} pushes (after the minute tick)")
                watching.cancel()
                counts = pushes()
                per_account: dict[str, list[float]] = {}
                for key, at in seen.items():
                    per_account.setdefault(key.split()[0], []).append(at)
                rates = [(len(t) - 1) / (max(t) - min(t)) for t in per_account.values() if max(t) > min(t)]
                pushed = {
                    f"pushes_per_s_{replicas}": round(sum(rates), 1),
                    f"push_s_{replicas}": round(max(seen.values()) - min(seen.values()), 2),
                    f"sent_once_{replicas}": float(max(counts.values()) == 1),
                }
                if replicas > 1:
                    pushed[f"takeover_s_{replicas}"] = await takeover(engine, first, processes)
            finally:
                for process in processes:
                    if process.returncode is None:
                        process.kill()
                        await process.wait()
        engine.dispose()
    return pushed


async def takeover(engine: Engine, fake: FakeGateway, processes: list[asyncio.subprocess.Process]) -> float:
    """Kill the replica holding the first account; seconds until a member of it gets an answer."""
    holder = (await asyncio.to_thread(holders, engine))[f"gateway:{fake.app_id}"]
    pid = int(holder.rsplit("-", 1)[1])
    before = sum(1 for s in fake.sent if s.to == "111@chatroom")
    message = fake.text("帮助", sender=MEMBER, room="111@chatroom")
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    while True:  # delivered again while nobody serves the account, as a gateway does
        try:
            if (await fake.deliver(message)).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() - killed > GUARD:
            raise TimeoutError("nobody took the account over")
        await asyncio.sleep(0.02)
    await until(lambda: sum(1 for s in fake.sent if s.to == "111@chatroom") > before, "the answer")
    return round(time.monotonic() - killed, 2)


async def main(url: str, accounts: int, groups: int, lease: int) -> dict[str, object]:
    figures: dict[str, object] = {
        "accounts": accounts,
        "groups": groups,
        "lease_seconds": lease,
        "paced_ceiling_per_s": round(accounts * RATE / 60, 1),
    }
    for replicas in (1, 2, 3):
        found = await round_of(replicas, url, accounts, groups, lease)
        for key, value in found.items():
            print(f"{key}: {value}", flush=True)
        figures.update(found)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("TUIKE_TEST_DATABASE_URL"))
    parser.add_argument("--accounts", type=int, default=4)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--lease", type=int, default=3)
    args = parser.parse_args()
    if not args.database_url:
        sys.exit("the cluster needs PostgreSQL: --database-url postgresql+psycopg://…")
    print(json.dumps(asyncio.run(main(args.database_url, args.accounts, args.groups, args.lease))))
