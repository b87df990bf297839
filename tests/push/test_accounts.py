"""Accounts own groups: two chat accounts on one database push every group exactly once, each its own.

Before accounts, every process pushed every subscription: the account that was not in a room claimed its
slot, failed to send (it is no member there), and the group got nothing that day.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.chat.base import ChatUnavailable, Outgoing
from bot.config import parse_settings
from bot.leagues.base import Spot
from bot.leagues.linkcache import LinkCache
from bot.push import claims
from bot.push.sender import PacedSender
from bot.push.service import PushService, instance_name
from bot.render.engine import Renderer
from bot.store import db, subscriptions
from bot.store.groups import ensure_group
from bot.store.models import PushLog, Subscription
from tests.fakes import FakeLeague, product

NOW = datetime(2026, 11, 22, 0, 40, tzinfo=UTC)  # 08:40 in Shanghai: the 08:30 slot is due
ACCOUNTS = ("gateway:wx_app_a", "gateway:wx_app_b")


def _groups(engine: Engine, count: int) -> dict[str, str]:
    """`count` subscribed groups, alternately heard by each account; room id → its account."""
    owner: dict[str, str] = {}
    for n in range(count):
        account = ACCOUNTS[n % 2]
        room = f"room{n:02d}@chatroom"
        group = ensure_group(engine, room, f"群{n:02d}", account=account)
        assert group.id is not None and group.account == account
        sub = subscriptions.subscribe(engine, group.id, "daily", "08:30")
        assert sub.account == account, "a subscription belongs to its group's account"
        with Session(engine) as session:
            row = session.get(Subscription, sub.id)
            assert row is not None
            row.created_at = row.updated_at = datetime(2026, 11, 20, tzinfo=UTC)
            session.add(row)
            session.commit()
        owner[room] = account
    return owner


async def _serve_both(engine: Engine, owner: dict[str, str]) -> dict[str, list[str]]:
    """Both accounts' push services tick at the same moment; returns account → rooms it reached."""
    reached: dict[str, list[str]] = {a: [] for a in ACCOUNTS}
    services = []
    for account in ACCOUNTS:

        async def send(outgoing: Outgoing, account: str = account) -> None:
            await asyncio.sleep(0)
            if owner[outgoing.chat_id] != account:
                raise ChatUnavailable(f"{account} is no member of {outgoing.chat_id}")
            reached[account].append(outgoing.chat_id)

        settings = parse_settings({"push": {"deals_per_push": 2}, "chat": {"kind": "console"}})
        sender = PacedSender(send, rate_per_minute=None, jitter=(0, 0), max_attempts=1)
        league = FakeLeague([product(f"p{i}", f"好物{i}", 1000 + i, coupon=100) for i in range(10)])
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
        )
        services.append((service, sender))
    for _service, sender in services:
        sender.start()
    await asyncio.gather(*(service.tick(NOW) for service, _ in services))
    for _service, sender in services:
        await sender.close()
    return reached


async def _check_every_group_once(engine: Engine) -> None:
    owner = _groups(engine, 20)
    reached = await _serve_both(engine, owner)
    all_reached = reached[ACCOUNTS[0]] + reached[ACCOUNTS[1]]
    assert sorted(all_reached) == sorted(owner), "every group exactly once"
    for account, rooms in reached.items():
        assert all(owner[r] == account for r in rooms), "each group by its own account"
    with Session(engine) as session:
        rows = list(session.exec(select(PushLog)).all())
    assert len(rows) == 20
    assert {r.status for r in rows} == {claims.SENT}


async def test_two_accounts_on_one_sqlite_database_serve_every_group_once(engine: Engine) -> None:
    await _check_every_group_once(engine)


async def test_two_accounts_on_one_postgresql_database_serve_every_group_once(pg_url: str) -> None:
    engine = db.make_engine(pg_url)
    db.downgrade(engine, "base")
    db.upgrade(engine)
    try:
        await _check_every_group_once(engine)
    finally:
        db.downgrade(engine, "base")
        engine.dispose()


def test_default_instance_names_differ_per_account() -> None:
    settings = parse_settings({"chat": {"kind": "console"}})
    first, second = (instance_name(settings, a) for a in ACCOUNTS)
    assert first != second
    assert not first.startswith(second + "/") and not second.startswith(first + "/")


def test_a_group_from_before_accounts_is_adopted_by_the_first_account_that_hears_it(engine: Engine) -> None:
    group = ensure_group(engine, "old@chatroom", "老群")
    assert group.id is not None and group.account == ""
    subscriptions.subscribe(engine, group.id, "daily", "08:30")
    assert [g.room_id for _s, g in subscriptions.active(engine, "daily", ACCOUNTS[1])] == ["old@chatroom"]
    ensure_group(engine, "old@chatroom", "老群", account=ACCOUNTS[0])
    assert [g.room_id for _s, g in subscriptions.active(engine, "daily", ACCOUNTS[0])] == ["old@chatroom"]
    assert subscriptions.active(engine, "daily", ACCOUNTS[1]) == []
    ensure_group(engine, "old@chatroom", "老群", account=ACCOUNTS[1])  # a second account does not take it
    assert subscriptions.active(engine, "daily", ACCOUNTS[1]) == []
