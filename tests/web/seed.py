"""A busy operator's database, seeded fast: groups over several chat accounts, their subscriptions and
league identities, order lines over weeks across leagues, member requests and recent pushes.

Bulk Core inserts (thousands of rows per statement), so `bench/web.py` seeds 500 groups and 100,000
orders in seconds; tests use it at small sizes. Deterministic for a given `seed`. Returns what it
wrote, so a test can compute the figures a page should show.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert

from bot.store.models import Group, LeagueSpot, OrderRow, PushLog, RequestLog, Subscription

LEAGUES = ("channels", "taobao", "jd", "pdd")
ACCOUNTS = ("gateway:wx_shop_a", "gateway:wx_shop_b", "gateway:wx_shop_c", "ilink:default")
OUTCOMES = (("ok", 70), ("late_sent", 5), ("empty", 10), ("not_found", 10), ("timeout", 5))
BATCH = 5000


def _table(model: Any) -> Any:
    return model.__table__


def _chunks(rows: Sequence[dict[str, Any]], size: int = BATCH) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _insert(engine: Engine, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    with engine.begin() as connection:
        for chunk in _chunks(rows):
            connection.execute(insert(_table(model)), list(chunk))


@dataclass
class Seeded:
    group_ids: list[int]
    orders: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    pushes: list[dict[str, Any]] = field(default_factory=list)


def seed(
    engine: Engine,
    *,
    groups: int = 500,
    orders: int = 100_000,
    requests: int | None = None,
    days: int = 60,
    now: datetime | None = None,
    leagues: Sequence[str] = LEAGUES,
    accounts: Sequence[str] = ACCOUNTS,
    seed: int = 15,
) -> Seeded:
    """Seed `groups` groups (spread over `accounts`), subscriptions for two in three, a Taobao and a
    PDD identity each, `orders` order lines created over the last `days` days across `leagues` (one in
    ten unattributed, one in ten cancelled, older ones mostly settled), `requests` request log rows
    (as many as orders by default) and a week of daily pushes (a few failed or interrupted)."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    start = now - timedelta(days=days)
    base = 20_000_000_000
    group_rows = [
        {
            "room_id": f"{base + i}@chatroom",
            "name": f"好物分享群{i + 1:03d}",
            "owner_id": f"wxid_owner{i:04d}",
            "channels_sharer_appid": f"wx_sharer_{i:04d}" if i % 3 == 0 else "",
            "account": accounts[i % len(accounts)],
            "blocked": i % 50 == 49,
            "created_at": start,
            "updated_at": start,
        }
        for i in range(groups)
    ]
    _insert(engine, Group, group_rows)
    with engine.connect() as connection:
        found = connection.execute(
            _table(Group).select().where(_table(Group).c.room_id.in_([g["room_id"] for g in group_rows]))
        ).all()
    by_room = {row.room_id: int(row.id) for row in found}
    ids = [by_room[g["room_id"]] for g in group_rows]

    subscriptions: list[dict[str, Any]] = []
    spots: list[dict[str, Any]] = []
    for i, gid in enumerate(ids):
        account = accounts[i % len(accounts)]
        if i % 3 != 2:
            at = "08:00" if i % 2 else "20:30"
            subscriptions.append(
                {
                    "group_id": gid,
                    "kind": "daily",
                    "at_time": at,
                    "categories": "",
                    "active": True,
                    "account": account,
                    "created_at": start,
                    "updated_at": start,
                }
            )
        if i % 4 == 0:
            subscriptions.append(
                {
                    "group_id": gid,
                    "kind": "live",
                    "at_time": "",
                    "categories": "",
                    "active": True,
                    "account": account,
                    "created_at": start,
                    "updated_at": start,
                }
            )
        spots.append(
            {
                "group_id": gid,
                "league": "taobao",
                "pid": f"mm_1_2_{100000 + i}",
                "tag": "",
                "created_at": start,
            }
        )
        spots.append(
            {
                "group_id": gid,
                "league": "pdd",
                "pid": f"10326915_{200000 + i}",
                "tag": "",
                "created_at": start,
            }
        )
    _insert(engine, Subscription, subscriptions)
    _insert(engine, LeagueSpot, spots)

    # a few groups sell much more than the rest: the top list has a shape
    weights = [1.0 / (1 + (i % 97)) for i in range(len(ids))]
    span = days * 86_400
    order_rows: list[dict[str, Any]] = []
    attributed = rng.choices(ids, weights=weights, k=orders) if ids else []
    for n in range(orders):
        league = leagues[n % len(leagues)]
        created = now - timedelta(seconds=rng.randrange(1, span))
        age_days = (now - created).days
        roll = rng.random()
        status = "cancelled" if roll < 0.1 else ("settled" if age_days > 15 and roll < 0.9 else "pending")
        paid = rng.randrange(990, 49_900)
        order_rows.append(
            {
                "league": league,
                "order_id": f"{league[:2].upper()}{3_000_000_000 + n}",
                "sku_id": "1",
                "product_id": f"p{n % 5000}",
                "title": f"测试商品 {n % 5000}",
                "paid_fen": paid,
                "commission_fen": paid * rng.randrange(2, 21) // 100,
                "status": status,
                "pid": "",
                "tag": "",
                "sharer_appid": "",
                "group_id": None if n % 10 == 9 or not ids else attributed[n],
                "created_at": created,
                "updated_at": created,
                "synced_at": now,
            }
        )
    _insert(engine, OrderRow, order_rows)

    outcomes = [o for o, _ in OUTCOMES]
    outcome_weights = [w for _, w in OUTCOMES]
    request_rows = [
        {
            "at": now - timedelta(seconds=rng.randrange(1, span)),
            "chat_id": group_rows[rng.randrange(len(group_rows))]["room_id"] if group_rows else "x",
            "sender_id": f"wxid_member{rng.randrange(5000):04d}",
            "kind": "keyword" if n % 3 else "link",
            "query": "蓝牙耳机" if n % 3 else "https://item.jd.com/100012043978.html",
            "platform": "" if n % 3 else "jd",
            "product_id": "",
            "league_calls": 1,
            "outcome": rng.choices(outcomes, weights=outcome_weights)[0],
        }
        for n in range(orders if requests is None else requests)
    ]
    _insert(engine, RequestLog, request_rows)

    push_rows: list[dict[str, Any]] = []
    for sub in subscriptions:
        if sub["kind"] != "daily":
            continue
        for day in range(7, 0, -1):
            at = now - timedelta(days=day)
            roll = rng.random()
            status = "failed" if roll < 0.02 else ("interrupted" if roll < 0.03 else "sent")
            push_rows.append(
                {
                    "group_id": sub["group_id"],
                    "slot": f"daily:{at:%Y-%m-%d}T{sub['at_time']}",
                    "status": status,
                    "claimed_by": sub["account"],
                    "claimed_at": at,
                    "finished_at": at + timedelta(seconds=30),
                    "detail": "网关返回 ret=500" if status == "failed" else "",
                    "product_ids": "p1,p2,p3",
                }
            )
    _insert(engine, PushLog, push_rows)
    return Seeded(ids, order_rows, request_rows, push_rows)
