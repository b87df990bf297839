"""`python -m tests.orders.sync_holder DATABASE_URL`: a process that starts an order sync and hangs in
it, holding the sync lock, until it is killed. It prints `holding <pid>` once the lock is held."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import datetime

from bot.leagues.base import Order
from bot.orders.sync import OrderSync
from bot.store import db


class HangingLeague:
    """A league whose order list never comes (what a sync killed mid-window was waiting on)."""

    name = "jd"

    async def orders_since(self, start: datetime, until: datetime) -> list[Order]:
        print(f"holding {os.getpid()}", flush=True)
        await asyncio.Event().wait()
        return []


async def main(url: str) -> None:
    engine = db.make_engine(url)
    await OrderSync(engine, {"jd": HangingLeague()}).run()  # type: ignore[dict-item]


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
