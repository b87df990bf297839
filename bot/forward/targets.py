"""Where 线报 go, and what must never go round again.

Target groups are the rooms `[forward] targets` lists plus every group whose owner said `订阅 线报` (a
subscription row of kind "forward", so 退订 线报 and the console's group page see it like the others),
less the groups the operator blocked. A source is never its own target: a message heard in room R is
not sent back to R.

A target may also be a source (an operator's own groups feeding each other). Our forward coming back
from such a group must not be forwarded again: `Echoes` remembers, for a while, the texts we sent and
the links we made, and a message that is one of our texts, carries one of our links, or was sent by the
bot's own account is an echo. After a restart the dedupe memory still holds its products, so an echo
that outlives `Echoes` is dropped as a repeat.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from hashlib import sha1

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.services.subscriptions import FORWARD
from bot.store import subscriptions
from bot.store.groups import ensure_group
from bot.store.models import Group


class Targets:
    """The target groups, read from the config and the store (blocking: call it in a worker thread)."""

    def __init__(self, engine: Engine, configured: Sequence[str] = ()) -> None:
        self.engine = engine
        self.configured = tuple(dict.fromkeys(r for r in configured if r))
        self._ensured = False

    def _ensure_configured(self) -> None:
        """Rows for the configured rooms (a room the bot never heard from has none yet)."""
        if self._ensured:
            return
        for room_id in self.configured:
            ensure_group(self.engine, room_id, "")
        self._ensured = True

    def groups(self, *, besides: str = "") -> list[Group]:
        """Every target group (not blocked), configured ones first, each once; never `besides` (the
        room the message came from)."""
        self._ensure_configured()
        with Session(self.engine, expire_on_commit=False) as session:
            configured = (
                list(session.exec(select(Group).where(col(Group.room_id).in_(self.configured))).all())
                if self.configured
                else []
            )
        order = {room: i for i, room in enumerate(self.configured)}
        configured.sort(key=lambda g: order.get(g.room_id, 0))
        found = [g for _s, g in subscriptions.active(self.engine, FORWARD)]
        out: dict[str, Group] = {}
        for group in (*configured, *found):
            if group.blocked or group.room_id == besides or group.room_id in out:
                continue
            out[group.room_id] = group
        return list(out.values())

    def rooms(self) -> set[str]:
        return {g.room_id for g in self.groups()}


def _fingerprint(text: str) -> str:
    return sha1(" ".join(text.split()).encode("utf-8", "surrogatepass")).hexdigest()


class Echoes:
    """Our own forwards, remembered for a while (the newest `size` texts and links)."""

    def __init__(self, size: int = 5000) -> None:
        self.size = size
        self._texts: OrderedDict[str, None] = OrderedDict()
        self._links: OrderedDict[str, None] = OrderedDict()

    def remember(self, text: str, links: Iterable[str] = ()) -> None:
        self._add(self._texts, _fingerprint(text))
        for link in links:
            if len(link) >= 8:  # a link or 口令 long enough not to turn up in a stranger's text by chance
                self._add(self._links, link)

    def _add(self, memory: OrderedDict[str, None], key: str) -> None:
        memory[key] = None
        memory.move_to_end(key)
        while len(memory) > self.size:
            memory.popitem(last=False)

    def is_echo(self, text: str) -> bool:
        """The text is one we sent, or carries a link we made."""
        if _fingerprint(text) in self._texts:
            return True
        return any(link in text for link in self._links)


@dataclass(frozen=True)
class TargetRow:
    """A target group as the console lists it."""

    room_id: str
    name: str
    by: str
    """Why it is a target: "配置" ([forward] targets) or "订阅 线报"."""
    blocked: bool


def listing(engine: Engine, configured: Sequence[str]) -> list[TargetRow]:
    """Every target group, configured first, read only (a configured room the bot never heard from
    shows by its id); the blocked ones too, marked, so the operator sees why they get nothing."""
    with Session(engine, expire_on_commit=False) as session:
        known = {
            g.room_id: g
            for g in session.exec(select(Group).where(col(Group.room_id).in_(list(configured)))).all()
        }
    rows = [
        TargetRow(
            room, known[room].name if room in known else "", "配置", room in known and known[room].blocked
        )
        for room in dict.fromkeys(configured)
    ]
    seen = {r.room_id for r in rows}
    for _s, group in subscriptions.active(engine, FORWARD):
        if group.room_id not in seen:
            seen.add(group.room_id)
            rows.append(TargetRow(group.room_id, group.name, "订阅 线报", group.blocked))
    return rows
