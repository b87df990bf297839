"""A fake remaker and a recording chat for the pipeline's tests: the remaking itself is
bot/forward/remake.py's (tested there); here only what the pipeline does with its answers matters.

A source text names products as `商品:<league>:<id>` (each becomes an `Item`); `外链:<x>` is a link the
bot cannot convert; `慢:<x>` a link whose league is down while `FakeRemaker.down` is set. A group gets
each product as `https://<league>.example/<id>?g=<room>`: its own link.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from bot.chat.base import Incoming, Outgoing
from bot.config import ForwardSettings
from bot.forward.pipeline import Pipeline
from bot.forward.remake import Item, LinkSwap, Prepared, Remade
from bot.push.sender import PacedSender
from bot.store.models import Group
from tests.helpers import wait_until

_TOKEN = re.compile(r"(商品|外链|慢):(\S+)")


@dataclass
class FakeRemaker:
    down: bool = False
    prepared: int = 0
    remade: int = 0
    gate: asyncio.Event | None = None
    """When set, `prepare` waits for it (a slow league: the queue fills meanwhile)."""

    async def prepare(self, text: str) -> Prepared:
        if self.gate is not None:
            await self.gate.wait()
        self.prepared += 1
        items = []
        for kind, rest in _TOKEN.findall(text):
            if kind == "外链":
                return Prepared(text, (), f"有转不了的链接（不是联盟商品链接，转发会替别人带货）：{rest}")
            if kind == "慢" and self.down:
                return Prepared(text, (), "联盟暂时没响应", transient=True)
            league, _, item_id = rest.partition(":")
            items.append(Item(league, item_id or league, f"{kind}:{rest}"))
        if not items:
            return Prepared(text, (), "没有商品链接")
        return Prepared(text, tuple(items))

    async def for_group(self, prepared: Prepared, group: Group) -> Remade:
        self.remade += 1
        text, swaps = prepared.text, []
        for item in prepared.items:
            mine = f"https://{item.league}.example/{item.item_id}?g={group.room_id}"
            text = text.replace(item.source, mine)
            swaps.append(LinkSwap(item.league, item.source, mine))
        return Remade(True, None, f"【线报】{text}", tuple(swaps))


@dataclass
class Chat:
    """What each room received, in order."""

    sent: list[Outgoing] = field(default_factory=list)
    fail_rooms: set[str] = field(default_factory=set)

    async def send(self, outgoing: Outgoing) -> None:
        if outgoing.chat_id in self.fail_rooms:
            raise RuntimeError("platform refused")
        self.sent.append(outgoing)

    def texts(self, room: str) -> list[str]:
        return [o.reply.parts[0].text for o in self.sent if o.chat_id == room]  # type: ignore[union-attr]


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


def settings(**overrides: object) -> ForwardSettings:
    base: dict[str, object] = {
        "enabled": True,
        "sources": ("src1@chatroom", "src2@chatroom", "wxid_dealer"),
        "targets": ("t1@chatroom", "t2@chatroom"),
    }
    return ForwardSettings.model_validate({**base, **overrides})


def sender(chat: Chat) -> PacedSender:
    """An unpaced sender, started (call it inside the test's loop)."""
    paced = PacedSender(chat.send, rate_per_minute=None, jitter=(0, 0), max_attempts=1)
    paced.start()
    return paced


def pipeline(
    engine: Engine,
    chat: Chat,
    remaker: FakeRemaker,
    clock: Clock | None = None,
    *,
    account: str = "console:bot",
    owner: str = "test-host:console",
    senders: dict[str, PacedSender] | None = None,
    **overrides: object,
) -> Pipeline:
    queue_size = int(overrides.pop("queue_size", 200))  # type: ignore[call-overload]
    return Pipeline(
        engine,
        settings(**overrides),
        remaker,
        senders if senders is not None else {account: sender(chat)},
        timezone="Asia/Shanghai",
        owner=owner,
        clock=clock or Clock(datetime.now(UTC)),
        queue_size=queue_size,
    )


_ids = iter(range(1, 10**9))


def said(
    room: str,
    text: str,
    *,
    sender_id: str = "wxid_member",
    account: str = "console:bot",
    from_self: bool = False,
    message_id: str | None = None,
) -> Incoming:
    return Incoming(
        message_id=message_id if message_id is not None else f"m{next(_ids)}",
        chat_id=room,
        chat_name=room.split("@")[0],
        sender_id=sender_id,
        sender_name="线报君",
        text=text,
        account=account,
        from_self=from_self,
    )


async def settled(pipe: Pipeline) -> None:
    """Every message decided and every queued send gone out (or refused)."""
    await pipe.drained()
    await wait_until(lambda: pipe.sends_pending == 0)
