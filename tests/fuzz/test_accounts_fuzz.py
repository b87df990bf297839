"""Property test: groups from before accounts, any number of accounts in any of them, ticking in any
order: every group gets its daily push exactly once, from an account that is in it, within as many
ticks as there are accounts (issue 33, item 16). Each example on a fresh SQLite copy."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from itertools import count
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.chat.base import NotInChat, Outgoing
from bot.config import parse_settings
from bot.leagues.base import Spot
from bot.leagues.linkcache import LinkCache
from bot.push import claims
from bot.push.sender import PacedSender
from bot.push.service import PushService
from bot.render.engine import Renderer
from bot.store import db, subscriptions
from bot.store.groups import ensure_group
from bot.store.models import PushLog, Subscription
from tests.fakes import FakeLeague, product

FAST = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = datetime(2026, 11, 22, 0, 40, tzinfo=UTC)
ACCOUNTS = ("gateway:a", "gateway:b", "gateway:c")
_copies = count()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("accounts") / "template.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    engine.dispose()
    return path


@FAST
@given(
    members=st.lists(st.sets(st.sampled_from(ACCOUNTS), min_size=1), min_size=1, max_size=6),
    order=st.permutations(ACCOUNTS),
)
def test_every_old_group_gets_one_push_from_an_account_in_it(
    template: Path, members: list[set[str]], order: list[str]
) -> None:
    path = template.with_name(f"copy{next(_copies)}.db")
    shutil.copyfile(template, path)
    engine = db.make_engine(f"sqlite:///{path}")
    try:
        asyncio.run(_play(engine, members, order))
    finally:
        engine.dispose()


async def _play(engine: Engine, members: list[set[str]], order: list[str]) -> None:
    inside: dict[str, set[str]] = {}
    for n, accounts in enumerate(members):
        room = f"old{n}@chatroom"
        group = ensure_group(engine, room, f"老群{n}")
        assert group.id is not None
        sub = subscriptions.subscribe(engine, group.id, "daily", "08:30")
        with Session(engine) as session:
            row = session.get(Subscription, sub.id)
            assert row is not None
            row.created_at = row.updated_at = datetime(2026, 11, 20, tzinfo=UTC)
            session.add(row)
            session.commit()
        inside[room] = accounts
    reached: list[tuple[str, str]] = []
    settings = parse_settings({"push": {"deals_per_push": 1}, "chat": {"kind": "console"}})
    league = FakeLeague([product(f"p{i}", f"好物{i}", 1000 + i) for i in range(4)])
    for _round in ACCOUNTS:
        for account in order:

            async def send(outgoing: Outgoing, account: str = account) -> None:
                if account not in inside[outgoing.chat_id]:
                    raise NotInChat("你不在该群聊中")
                reached.append((outgoing.chat_id, account))

            sender = PacedSender(send, rate_per_minute=None, jitter=(0, 0), max_attempts=2)
            service = PushService(
                settings,
                engine,
                league,
                Renderer(None),
                sender,
                LinkCache(engine),
                lambda g: Spot("channels", sharer_appid="op"),
                clock=lambda: NOW,
                account=account,
                owner=f"fuzz:{account}",
            )
            sender.start()
            await service.tick(NOW)
            await sender.close()
    assert sorted(room for room, _ in reached) == sorted(inside), "every group exactly once"
    assert all(account in inside[room] for room, account in reached), "from an account in it"
    with Session(engine) as session:
        assert {row.status for row in session.exec(select(PushLog))} == {claims.SENT}
