"""What a day of 外卖 costs in league calls: 500 groups, each subscribed to two takeout slots (10:30 and
16:30) and asked 外卖 by three members, against the sandbox's Ele.me (TOP) and Meituan faces over HTTP.

Counts the calls each face received (HTTP requests, not the bot's own counters) for the day, then for
the next day's first slot, and times the first slot's wave (links made and messages queued for every
group, sent through an unpaced sender).

    .venv/bin/python bench/takeout.py [--groups 500] [--asks 3]

The last line is a JSON object of the figures (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, col, update

from bot.chat.base import Outgoing
from bot.config import parse_settings
from bot.leagues.base import Spot
from bot.leagues.registry import BY_NAME
from bot.leagues.setup import default_spots, spot_issuers
from bot.push.sender import PacedSender
from bot.push.service import PushService
from bot.push.takeout import TakeoutPush
from bot.render.engine import Renderer
from bot.services.attribution import GroupSpots
from bot.services.takeout import TakeoutLinks
from bot.store import db
from bot.store.groups import ensure_group
from bot.store.models import Subscription
from bot.store.subscriptions import subscribe
from tuike_sandbox.server import SandboxServer

SH = "Asia/Shanghai"
OFFICIAL = "alibaba.alsc.union.eleme.promotion.officialactivity.get"


def shanghai(day: int, hhmm: str) -> datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


async def main(groups: int, asks: int) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp())
    settings = parse_settings(
        {
            "bot": {"data_dir": str(tmp)},
            "leagues": {"eleme": {"enabled": True}, "meituan": {"enabled": True}},
        }
    )
    engine = db.make_engine(settings.database_url)
    db.upgrade(engine)
    rows = [ensure_group(engine, f"room{n}@chatroom", f"群{n}") for n in range(groups)]
    for group in rows:
        for at_time in ("10:30", "16:30"):
            subscribe(engine, group.id or 0, "takeout", at_time)
    with Session(engine) as session:  # subscribed long ago
        session.exec(
            update(Subscription)
            .where(col(Subscription.kind) == "takeout")
            .values(updated_at=shanghai(1, "00:00"))
        )  # type: ignore[call-overload]
        session.commit()
    now = shanghai(22, "09:00")
    sent = 0

    async def send(outgoing: Outgoing) -> None:
        nonlocal sent
        sent += 1

    figures: dict[str, float] = {"takeout_groups": groups}
    async with AsyncExitStack() as stack:
        sandbox = await stack.enter_async_context(SandboxServer())
        leagues = {
            name: BY_NAME[name].make(settings, sandbox.base_url, engine) for name in ("eleme", "meituan")
        }
        for league in leagues.values():
            stack.push_async_callback(league.aclose)
        spots = GroupSpots(engine, default_spots(settings), issuers=spot_issuers(leagues))
        links = TakeoutLinks(leagues, spots.for_group, timezone=SH, clock=lambda: now)
        sender = PacedSender(send, rate_per_minute=None, jitter=(0, 0))
        service = PushService(
            settings,
            engine,
            None,
            Renderer(None, timezone=SH),
            sender,
            None,  # type: ignore[arg-type]
            lambda g: Spot("channels"),
            clock=lambda: now,
            owner="bench",
        )
        service.takeout = TakeoutPush(service, links)
        eleme = sandbox.face("/router/rest")
        meituan = sandbox.face("/cps_open/common/api/v1/get_referral_link")

        def calls() -> tuple[int, int]:
            return eleme.calls[OFFICIAL], meituan.calls["get_referral_link"]

        sender.start()
        # members ask 外卖 through the morning
        for _ in range(asks):
            for group in rows:
                await links.for_group(group, deadline=5.0)
        asked = calls()
        print(f"{asks} asks in each of {groups} groups: Ele.me {asked[0]} calls, Meituan {asked[1]} calls")
        now = shanghai(22, "10:30")
        start = time.perf_counter()
        first = await service.tick(now)
        wave = time.perf_counter() - start
        now = shanghai(22, "16:30")
        second = await service.tick(now)
        await sender.close()
        sender._closing = False
        day, sent_day = calls(), sent
        print(
            f"day 1: {first} + {second} pushes queued ({sent_day} sent); first wave composed in {wave:.2f} s; "
            f"Ele.me {day[0]} calls, Meituan {day[1]} calls ({day[0] / groups:.2f} and {day[1] / groups:.2f} per group)"
        )
        sender.start()
        now = shanghai(23, "10:30")
        third = await service.tick(now)
        await sender.close()
        nxt = calls()
        print(
            f"day 2, first slot: {third} pushes; Ele.me {nxt[0] - day[0]} calls, Meituan {nxt[1] - day[1]} calls"
        )
        await service.stop()
    engine.dispose()
    figures.update(
        {
            "takeout_pushes_day": first + second,
            "takeout_messages_sent_day": sent_day,
            "eleme_calls_day": day[0],
            "meituan_calls_day": day[1],
            "calls_per_group_per_league_day": round((day[0] + day[1]) / (2 * groups), 3),
            "calls_after_member_asks": asked[0] + asked[1],
            "eleme_calls_next_day_first_slot": nxt[0] - day[0],
            "meituan_calls_next_day_first_slot": nxt[1] - day[1],
            "first_wave_compose_s": round(wave, 2),
        }
    )
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--asks", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.groups, args.asks))))
