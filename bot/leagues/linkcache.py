"""Promotion links cached per (league, product, spot): in memory, and in the store across restarts.

Links are what quota is spent on: a product that a hundred members ask about in one group needs one
link call, not a hundred; a restart or an immediate second push needs none.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.leagues.base import PromotionLink, Spot
from bot.store.models import LinkCache as LinkRow

Key = tuple[str, str, str]


def _now() -> datetime:
    return datetime.now(UTC)


class LinkCache:
    def __init__(
        self,
        engine: Engine | None,
        ttl: timedelta = timedelta(hours=12),
        capacity: int = 50_000,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.engine = engine
        self.ttl = ttl
        self.capacity = capacity
        self.clock = clock
        self._memory: OrderedDict[Key, tuple[PromotionLink, datetime]] = OrderedDict()
        self._inflight: dict[Key, asyncio.Future[PromotionLink]] = {}
        self._by_url: dict[str, Key] = {}
        """Every remembered link's URLs → its key: a pasted link is found without a scan."""

    async def get_or_create(
        self, league: str, product_id: str, spot: Spot, create: Callable[[], Awaitable[PromotionLink]]
    ) -> PromotionLink:
        """The cached link, else `create()` once however many callers ask at the same time."""
        key = (league, product_id, spot.key)
        now = self.clock()
        hit = self._memory.get(key)
        if hit and hit[1] > now:
            self._memory.move_to_end(key)
            return hit[0]
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[PromotionLink] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            link = await self._load(key, spot, now)
            if link is None:
                link = await create()
                await self._save(key, link, now + self.ttl)
            self._remember(key, link, now + self.ttl)
            future.set_result(link)
            return link
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiting callers re-raise it, nobody else has to
            raise
        finally:
            del self._inflight[key]

    async def find(self, url: str) -> tuple[str, str, str] | None:
        """(league, product id, shop id) of a link this bot issued, so a re-shared link can be answered."""
        key = self._by_url.get(url)
        if key is not None:
            link = self._memory[key][0]
            return key[0], key[1], link.shop_id
        if self.engine is None:
            return None
        engine = self.engine
        needle = json.dumps(url, ensure_ascii=False)

        def read() -> LinkRow | None:
            with Session(engine) as session:
                statement = select(LinkRow).where(LinkRow.payload.contains(needle))  # type: ignore[attr-defined]
                return session.exec(statement).first()

        row = await asyncio.to_thread(read)
        if row is None:
            return None
        return row.league, row.product_id, str(json.loads(row.payload).get("shop_id", ""))

    def _remember(self, key: Key, link: PromotionLink, expires: datetime) -> None:
        old = self._memory.get(key)
        if old is not None:
            self._forget_urls(key, old[0])
        self._memory[key] = (link, expires)
        self._memory.move_to_end(key)
        for url in (link.http_short_link, link.short_link):
            if url:
                self._by_url[url] = key
        while len(self._memory) > self.capacity:
            gone, (gone_link, _) = self._memory.popitem(last=False)
            self._forget_urls(gone, gone_link)

    def _forget_urls(self, key: Key, link: PromotionLink) -> None:
        for url in (link.http_short_link, link.short_link):
            if url and self._by_url.get(url) == key:
                del self._by_url[url]

    async def _load(self, key: Key, spot: Spot, now: datetime) -> PromotionLink | None:
        if self.engine is None:
            return None
        engine = self.engine

        def read() -> LinkRow | None:
            with Session(engine) as session:
                statement = select(LinkRow).where(
                    LinkRow.league == key[0], LinkRow.product_id == key[1], LinkRow.spot == key[2]
                )
                return session.exec(statement).first()

        row = await asyncio.to_thread(read)
        if row is None or row.expires_at <= now:
            return None
        fields = json.loads(row.payload)
        link = PromotionLink(product_id=key[1], spot=spot, **fields)
        self._remember(key, link, row.expires_at)
        return link

    async def _save(self, key: Key, link: PromotionLink, expires: datetime) -> None:
        if self.engine is None:
            return
        engine = self.engine
        payload = json.dumps(
            {
                f.name: getattr(link, f.name)
                for f in dataclasses.fields(link)
                if f.name not in ("product_id", "spot")
            },
            ensure_ascii=False,
        )

        def write() -> None:
            with Session(engine) as session:
                statement = select(LinkRow).where(
                    LinkRow.league == key[0], LinkRow.product_id == key[1], LinkRow.spot == key[2]
                )
                row = session.exec(statement).first()
                if row is None:
                    row = LinkRow(
                        league=key[0], product_id=key[1], spot=key[2], payload=payload, expires_at=expires
                    )
                else:
                    row.payload, row.expires_at, row.created_at = payload, expires, self.clock()
                session.add(row)
                try:
                    session.commit()
                except IntegrityError:
                    session.rollback()  # another process stored the same link first: theirs is as good

        await asyncio.to_thread(write)
