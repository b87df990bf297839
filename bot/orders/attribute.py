"""Which group an order came through, by the identity its link was made with.

Channels: the sharer appid, when a group's owner bound their own — the group that held it when the
order was placed (`sharer_bindings`), so 解绑推客 or a later binding elsewhere does not move old orders
(the operator's default sharer is shared by every unbound group, so those orders stay unattributed).
Every other league: the (pid, tag) kept per group in `league_spots` — `bot.store.spots.group_of_identity` (exact pair, then the JD
subUnionId alone, then the PDD PID alone). An order that maps to no group is kept as unattributed.
"""

from __future__ import annotations

from sqlalchemy import Engine

from bot.leagues.base import Order
from bot.store.orders import SharerSpan, group_of_sharer, sharer_spans
from bot.store.spots import group_of_identity


class Attributor:
    """Looks groups up once per identity during one sync (a window repeats the same few identities)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._seen: dict[tuple[str, str, str, str], int | None] = {}
        self._sharers: dict[str, list[SharerSpan]] = {}

    def group_of(self, league: str, order: Order) -> int | None:
        if league == "channels":
            if order.sharer_appid not in self._sharers:
                self._sharers[order.sharer_appid] = sharer_spans(self.engine, order.sharer_appid)
            return group_of_sharer(self._sharers[order.sharer_appid], order.created_at)
        key = (league, order.sharer_appid, order.pid, order.tag)
        if key not in self._seen:
            self._seen[key] = self._look_up(league, order)
        return self._seen[key]

    def _look_up(self, league: str, order: Order) -> int | None:
        if not (order.pid or order.tag):
            return None
        return group_of_identity(self.engine, league, order.pid, order.tag)
