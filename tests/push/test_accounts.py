"""Accounts own groups: two chat accounts on one database push every group exactly once, each its own.

Before accounts, every process pushed every subscription: the account that was not in a room claimed its
slot, failed to send (it is no member there), and the group got nothing that day.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.chat.base import ChatUnavailable, GroupInfo, NotInChat, Outgoing
from bot.config import parse_settings
from bot.leagues.base import Spot
from bot.leagues.linkcache import LinkCache
from bot.push import claims
from bot.push.sender import PacedSender
from bot.push.service import PushService, instance_name
from bot.render.engine import Renderer
from bot.store import db, subscriptions
from bot.store.groups import ensure_group, ensure_groups
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


def _unadopted_groups(engine: Engine, count: int) -> dict[str, str]:
    """`count` subscribed groups from before accounts (account ''), alternately with each account in
    them; room id → the account that is in it."""
    member: dict[str, str] = {}
    for n in range(count):
        room = f"old{n:02d}@chatroom"
        group = ensure_group(engine, room, f"老群{n:02d}")
        assert group.id is not None and group.account == ""
        sub = subscriptions.subscribe(engine, group.id, "daily", "08:30")
        with Session(engine) as session:
            row = session.get(Subscription, sub.id)
            assert row is not None and row.account == ""
            row.created_at = row.updated_at = datetime(2026, 11, 20, tzinfo=UTC)
            session.add(row)
            session.commit()
        member[room] = ACCOUNTS[n % 2]
    return member


async def _two_accounts_tick(engine: Engine, member: dict[str, str], rounds: int) -> dict[str, list[str]]:
    """Both accounts' push services tick together, `rounds` times (a minute apart in real life; each
    round's queue is sent before the next); a send to a group the account is not in is refused as the
    gateway refuses it (「你不在该群聊中」)."""
    reached: dict[str, list[str]] = {a: [] for a in ACCOUNTS}
    settings = parse_settings({"push": {"deals_per_push": 2}, "chat": {"kind": "console"}})
    league = FakeLeague([product(f"p{i}", f"好物{i}", 1000 + i, coupon=100) for i in range(10)])
    for _ in range(rounds):
        services = []
        for account in ACCOUNTS:

            async def send(outgoing: Outgoing, account: str = account) -> None:
                await asyncio.sleep(0)
                if member[outgoing.chat_id] != account:
                    raise NotInChat(f"gateway /message/postText: 你不在该群聊中 ({account})")
                reached[account].append(outgoing.chat_id)

            sender = PacedSender(send, rate_per_minute=None, jitter=(0, 0), max_attempts=3)
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
                owner=f"test:{account}",
            )
            services.append((service, sender))
            sender.start()
        await asyncio.gather(*(service.tick(NOW) for service, _ in services))
        for _service, sender in services:
            await sender.close()
    return reached


async def test_groups_from_before_accounts_each_get_their_push_from_the_account_in_them(
    store: Engine,
) -> None:
    """Issue 33, item 16: two accounts on a database upgraded from before accounts lost pushes: the
    account not in a group claimed its slot and the gateway refused the send. The refusal now hands
    the slot over, and the account that is in the group sends it at its next tick."""
    member = _unadopted_groups(store, 20)
    reached = await _two_accounts_tick(store, member, rounds=2)
    every = sorted(reached[ACCOUNTS[0]] + reached[ACCOUNTS[1]])
    assert every == sorted(member), "every group exactly once"
    for account, rooms in reached.items():
        assert all(member[r] == account for r in rooms), "each by the account in it"
    with Session(store) as session:
        rows = list(session.exec(select(PushLog)).all())
    assert len(rows) == 20 and {r.status for r in rows} == {claims.SENT}
    # and a refused account does not try those groups again
    for account in ACCOUNTS:
        pushed_by_it = {g.room_id for _s, g in subscriptions.active(store, "daily", account)}
        assert all(member[room] == account for room in pushed_by_it), account


async def test_a_group_listing_adopts_the_groups_an_account_is_in(store: Engine) -> None:
    """Adopt by membership: the groups a channel lists as its account's are that account's at once, so
    the other account never pushes them."""
    member = _unadopted_groups(store, 6)
    for account in ACCOUNTS:
        ensure_groups(store, [GroupInfo(room) for room, held in member.items() if held == account], account)
    reached = await _two_accounts_tick(store, member, rounds=1)
    assert sorted(reached[ACCOUNTS[0]] + reached[ACCOUNTS[1]]) == sorted(member)
    for account, rooms in reached.items():
        assert all(member[r] == account for r in rooms)


def test_the_gateways_not_a_member_refusal_is_told_apart() -> None:
    from bot.chat.gateway_client import GatewayError, refusal

    refused = refusal("/message/postText", "你不在该群聊中", 500)
    assert isinstance(refused, NotInChat) and isinstance(refused, GatewayError)
    assert not isinstance(refusal("/message/postText", "操作过于频繁", 500), NotInChat)
