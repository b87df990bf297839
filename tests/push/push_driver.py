"""A real bot process for the kill and two-process tests: the real push service, claims, sender and
store, a fake league, and a channel that appends every send to a file (fsync'd, like a real delivery).

    python -m tests.push.push_driver DB_URL OUT_FILE INSTANCE GROUPS SEND_DELAY [RATE_PER_SECOND]

RATE_PER_SECOND paces the sender (none: unpaced); a fast rate makes the service claim slots in batches
ahead of the sender (`PushService.claim_batch_size`).
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from bot.chat.base import Outgoing
from bot.config import parse_settings
from bot.leagues.base import Spot
from bot.leagues.linkcache import LinkCache
from bot.push.sender import PacedSender
from bot.push.service import PushService
from bot.render.engine import Renderer
from bot.store import db, subscriptions
from bot.store.groups import ensure_group
from bot.store.models import Subscription
from tests.fakes import FakeLeague, product

NOW = datetime(2026, 11, 22, 0, 40, tzinfo=UTC)  # 08:40 in Shanghai: the 08:30 slot is due


async def main(
    url: str, out_path: str, instance: str, groups: int, delay: float, rate: float | None = None
) -> None:
    engine = db.make_engine(url)
    db.upgrade(engine)
    for n in range(groups):
        group = ensure_group(engine, f"room{n:03d}@chatroom", f"群{n:03d}")
        assert group.id is not None
        if not any(s.kind == "daily" for s in subscriptions.for_group(engine, group.id)):
            sub = subscriptions.subscribe(engine, group.id, "daily", "08:30")
            with Session(engine) as session:
                row = session.get(Subscription, sub.id)
                assert row is not None
                row.created_at = row.updated_at = NOW - timedelta(days=3)
                session.add(row)
                session.commit()
    if instance == "setup":  # create the groups and subscriptions only (the two-process test)
        engine.dispose()
        return
    settings = parse_settings({"push": {"deals_per_push": 2, "instance": instance}})
    league = FakeLeague(
        [product(f"p{i}", f"好物{i}", 1000 + i, coupon=100, sales=100 - i) for i in range(10)]
    )
    out = open(out_path, "a", encoding="utf-8")  # noqa: SIM115, ASYNC230 (a test driver: one open for the whole run)

    async def send(outgoing: Outgoing) -> None:
        await asyncio.sleep(delay)
        out.write(f"{outgoing.chat_id}\t{instance}\n")
        out.flush()
        os.fsync(out.fileno())

    sender = PacedSender(send, rate_per_minute=rate * 60 if rate else None, jitter=(0, 0))
    service = PushService(
        settings,
        engine,
        league,
        Renderer(None),
        sender,
        LinkCache(engine),
        lambda g: Spot("channels", sharer_appid="op"),
        clock=lambda: NOW,
        owner=instance,
    )
    if rate:  # every due slot queued first, so the first claim takes them in one batch
        await service.start(schedule=False)
        sender.start()
    else:
        sender.start()
        await service.start(schedule=False)
    await sender.close(drain=True)
    print(f"done: {sender.sent} sent, {len(service.interrupted)} interrupted", flush=True)
    print(f"composed: {league.calls['featured'] + league.calls['search']}", flush=True)
    for note in service.interrupted:
        print(note, flush=True)
    out.close()
    engine.dispose()


if __name__ == "__main__":
    url, out_path, instance, groups, delay = sys.argv[1:6]
    rate = float(sys.argv[6]) if len(sys.argv) > 6 else None
    asyncio.run(main(url, out_path, instance, int(groups), float(delay), rate))
