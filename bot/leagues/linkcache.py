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

_SEP = "\x1f"
_PRODUCT = "\ue000"
"""Stands for the product id inside a packed link (the mini-program card parameter often holds it)."""
_SAME_TAIL = "\ue001"
"""Stands for the previous field's tail: the internal and the https short link share one token."""
_PREFIX0 = 0xE100
"""Private-use characters from here on name a prefix in the table (a URL up to its last '/', a shop)."""
_PREFIXES = 4096
"""At most this many prefixes are named (URL shapes and shops); further ones are kept in full."""
_PACKED_FIELDS = ("shop_id", "short_link", "http_short_link", "qrcode_url", "card_param", "code", "mini_path")


def _now() -> datetime:
    return datetime.now(UTC)


def _tail(url: str) -> str:
    return url[url.rfind("/") + 1 :]


class LinkCache:
    """Links in memory are packed into one string each (~300 bytes a link with its index, against
    ~950 for the objects): the expiry as an integer, each URL as a shared prefix plus its token. A
    link is rebuilt when read, which costs microseconds; 100k links fit in ~30 MB."""

    def __init__(
        self,
        engine: Engine | None,
        ttl: timedelta = timedelta(hours=12),
        capacity: int = 100_000,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.engine = engine
        self.ttl = ttl
        self.capacity = capacity
        self.clock = clock
        self._memory: OrderedDict[str, str] = OrderedDict()
        """League, product and spot key joined → the packed link (see `_pack`)."""
        self._inflight: dict[Key, asyncio.Future[PromotionLink]] = {}
        self._by_url: dict[int, str] = {}
        """The hash of every remembered link's URL token → its key: a pasted link is found without a
        scan (and checked against the rebuilt link, so a hash collision only misses)."""
        self._prefixes: list[str] = []
        self._prefix_ids: dict[str, int] = {}
        self.on_created: Callable[[], None] | None = None
        """Called when a link is made by the league (not from the cache): the embedded default syncs
        orders soon after (`bot.orders.soon`)."""

    def keys(self) -> list[Key]:
        """(league, product id, spot key) of every link held in memory, oldest first."""
        return [self._split_key(key) for key in self._memory]

    async def get_or_create(
        self, league: str, product_id: str, spot: Spot, create: Callable[[], Awaitable[PromotionLink]]
    ) -> PromotionLink:
        """The cached link, else `create()` once however many callers ask at the same time."""
        key = (league, product_id, spot.key)
        now = self.clock()
        hit = self._recall(key, spot, now)
        if hit is not None:
            return hit
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
                if self.on_created is not None:
                    self.on_created()
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
        joined = self._by_url.get(hash(_tail(url)))
        if joined is not None and joined in self._memory:
            league, product_id, _spot_key = self._split_key(joined)
            link = self._unpack(self._memory[joined], product_id, Spot(league))[0]
            if url in (link.http_short_link, link.short_link):
                return league, product_id, link.shop_id
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

    # -- the packed form ---------------------------------------------------------------------------

    @staticmethod
    def _join_key(key: Key) -> str:
        return _SEP.join(key)

    @staticmethod
    def _split_key(joined: str) -> Key:
        league, product_id, spot_key = joined.split(_SEP, 2)
        return league, product_id, spot_key

    def _prefix(self, text: str) -> str | None:
        """The character naming `text` in the prefix table; None when it should not go there (long
        or query-like text, or a full table): the value is then kept as it is."""
        number = self._prefix_ids.get(text)
        if number is None:
            if len(text) > 80 or "?" in text or len(self._prefixes) >= _PREFIXES:
                return None
            number = self._prefix_ids[text] = len(self._prefixes)
            self._prefixes.append(text)
        return chr(_PREFIX0 + number)

    def _pack(self, link: PromotionLink, expires: datetime) -> str | None:
        """`expiry␟field␟field…`; None when a field holds the characters the packing uses (never in
        a real link: such a link is simply not kept in memory)."""
        parts = [str(int(expires.timestamp()))]
        last_tail = ""
        for name in _PACKED_FIELDS:
            value: str = getattr(link, name)
            if _SEP in value or any(0xE000 <= ord(c) < 0xF900 for c in value):
                return None
            if link.product_id:
                value = value.replace(link.product_id, _PRODUCT)
            if name == "shop_id":
                parts.append((self._prefix(value) or value) if value else "")
                continue
            cut = value.rfind("/") + 1
            prefix = self._prefix(value[:cut]) if cut else None
            if prefix is None:
                parts.append(value)
                continue
            tail = value[cut:]
            parts.append(prefix + (_SAME_TAIL if tail and tail == last_tail else tail))
            last_tail = tail
        return _SEP.join(parts)

    def _unpack(self, packed: str, product_id: str, spot: Spot) -> tuple[PromotionLink, int]:
        expires, *values = packed.split(_SEP)
        fields: dict[str, str] = {}
        last_tail = ""
        for name, value in zip(_PACKED_FIELDS, values, strict=True):
            if value and _PREFIX0 <= ord(value[0]) < 0xF900:
                prefix = self._prefixes[ord(value[0]) - _PREFIX0]
                tail = value[1:]
                if name == "shop_id":
                    value = prefix
                else:
                    tail = last_tail if tail == _SAME_TAIL else tail
                    last_tail = tail
                    value = prefix + tail
            fields[name] = value.replace(_PRODUCT, product_id) if product_id else value
        return PromotionLink(product_id=product_id, spot=spot, **fields), int(expires)

    def _recall(self, key: Key, spot: Spot, now: datetime) -> PromotionLink | None:
        joined = self._join_key(key)
        packed = self._memory.get(joined)
        if packed is None:
            return None
        link, expires = self._unpack(packed, key[1], spot)
        if expires <= now.timestamp():
            return None
        self._memory.move_to_end(joined)
        return link

    def _remember(self, key: Key, link: PromotionLink, expires: datetime) -> None:
        packed = self._pack(link, expires)
        if packed is None:
            return
        joined = self._join_key(key)
        self._memory[joined] = packed
        self._memory.move_to_end(joined)
        for url in (link.http_short_link, link.short_link):
            if url:
                self._by_url[hash(_tail(url))] = joined
        while len(self._memory) > self.capacity:
            gone, gone_packed = self._memory.popitem(last=False)
            league, product_id, _spot = self._split_key(gone)
            gone_link = self._unpack(gone_packed, product_id, Spot(league))[0]
            for url in (gone_link.http_short_link, gone_link.short_link):
                if url and self._by_url.get(hash(_tail(url))) == gone:
                    del self._by_url[hash(_tail(url))]

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
