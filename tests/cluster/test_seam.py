"""The seam: a replica that does not hold an account sends nothing for it and claims none of its pushes;
the account's channel runs while the lease is held and a fresh one runs after a loss."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.chat.base import MessageHandler, NotHeld, Outgoing, Reply
from bot.cluster import refusal
from bot.cluster.serving import LeasedChannel
from bot.config import load_config
from bot.push.sender import PacedSender
from tests.helpers import tuike, wait_until


async def test_a_sender_without_the_lease_neither_claims_nor_sends_and_resumes_when_it_holds_it() -> None:
    sent: list[str] = []
    claimed: list[str] = []
    held = {"yes": False}

    async def send(outgoing: Outgoing) -> None:
        sent.append(outgoing.chat_id)

    sender = PacedSender(send, rate_per_minute=None, jitter=(0, 0), may_send=lambda: held["yes"])
    sender.start()

    async def claim() -> bool:
        claimed.append("g1")
        return True

    push = sender.push(Outgoing("g1@chatroom", Reply.text("今日好物")), start=claim)
    assert await push is False
    assert await sender.reply(Outgoing("g2@chatroom", Reply.text("在的"))) is False
    assert sent == [] and claimed == []  # unclaimed: the replica that holds the account sends it
    assert sender.left_out == 2 and sender.failed == 0
    held["yes"] = True
    assert await sender.push(Outgoing("g1@chatroom", Reply.text("今日好物")), start=claim) is True
    assert sent == ["g1@chatroom"] and claimed == ["g1"]
    await sender.close()


class _Channel:
    name = "scripted"

    def __init__(self) -> None:
        self.account = "scripted:a"
        self.runs = 0
        self.running = asyncio.Event()
        self.stopped = asyncio.Event()
        self.sent: list[str] = []
        self.on_join: object = None

    async def run(self, handler: MessageHandler) -> None:
        self.runs += 1
        self.stopped.clear()
        self.running.set()
        await self.stopped.wait()
        self.running.clear()

    async def send(self, message: Outgoing) -> None:
        self.sent.append(message.chat_id)

    async def stop(self) -> None:
        self.stopped.set()


async def test_the_leased_channel_runs_while_held_and_again_after_a_loss() -> None:
    held = {"yes": False}
    channel = _Channel()
    leased = LeasedChannel(channel, lambda: held["yes"])
    leased.on_join = "welcome"  # what the composition sets reaches the channel
    assert channel.on_join == "welcome" and leased.account == "scripted:a" and leased.name == "scripted"

    async def handler(_message: object) -> None:
        return None

    serving = asyncio.create_task(leased.run(handler))
    with pytest.raises(NotHeld):
        await leased.send(Outgoing("g@chatroom", Reply.text("x")))
    assert channel.runs == 0  # not held: the account is not served here
    held["yes"] = True
    await leased.gain()
    await wait_until(channel.running.is_set)
    await leased.send(Outgoing("g@chatroom", Reply.text("x")))
    assert channel.sent == ["g@chatroom"]
    held["yes"] = False
    await leased.lose()
    assert not channel.running.is_set()
    held["yes"] = True
    await leased.gain()
    await wait_until(lambda: channel.runs == 2 and channel.running.is_set())
    await leased.stop()
    await serving
    assert not channel.running.is_set()


def test_a_cluster_on_sqlite_is_refused_in_chinese_first(write_config) -> None:  # type: ignore[no-untyped-def]
    path = write_config("[cluster]\nenabled = true\n")
    why = refusal(load_config(path).settings)
    assert why.startswith("[cluster] enabled = true 需要 PostgreSQL")
    done = tuike("--config", str(path), "run", cwd=Path(path).parent, input="")
    assert done.returncode != 0
    assert "需要 PostgreSQL" in done.stderr + done.stdout


def test_replica_id_and_lease_seconds_are_checked(write_config) -> None:  # type: ignore[no-untyped-def]
    from bot.config import ConfigError

    with pytest.raises(ConfigError, match=r"cluster\.lease_seconds"):
        load_config(write_config("[cluster]\nlease_seconds = 1\n"))
    with pytest.raises(ConfigError, match=r"cluster\.replica_id"):
        load_config(write_config('[cluster]\nreplica_id = "a b/c"\n'))
    settings = load_config(write_config("")).settings.cluster
    assert not settings.enabled and settings.lease_seconds == 30
    assert settings.replica_id.endswith(f"-{__import__('os').getpid()}")
