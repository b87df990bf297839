"""Reconciliation (对账): what a league paid the organisation, from its funds ledger, against what
order sync counted as settled over the same days.

A 分账 flow pays one order's commission; the flows of the period are matched to the settled orders by
order id. The difference is (分账 flows) − (settled commission); the orders that explain it are the
settled ones with no flow and the flows with no settled order (each with what the store knows of its
order: not synced, or synced in another status). Withdrawals (提现) move the balance, not the
difference. Used by `tuike funds` and the console (联盟 page, 需要处理), which keeps the last result a
few minutes (`kept` / `reconciled`) so a page view does not read the whole ledger again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from bot.leagues.base import LeagueError
from bot.leagues.capabilities import HasFunds
from bot.leagues.organisation import COMMISSION, FundsBalance, FundsFlow, NotPermitted
from bot.store.funds import StoredOrder, orders_named, settled_between

log = logging.getLogger(__name__)

KEEP = timedelta(minutes=10)
"""How long the console shows a reconciliation before reading the ledger again."""


@dataclass(frozen=True, slots=True)
class UnmatchedFlow:
    """A 分账 flow with no order settled in the period; `order` is what the store knows of it."""

    flow: FundsFlow
    order: StoredOrder | None


@dataclass(frozen=True, slots=True)
class Reconciliation:
    league: str
    since: datetime
    until: datetime
    balance: FundsBalance | None = None
    flows: tuple[FundsFlow, ...] = ()
    settled: tuple[StoredOrder, ...] = ()
    missing_flows: tuple[StoredOrder, ...] = ()
    """Orders counted as settled that no flow of the period pays."""
    extra_flows: tuple[UnmatchedFlow, ...] = ()
    """分账 flows of the period that pay no order counted as settled in it."""
    tolerance_fen: int = 0
    not_permitted: str = ""
    """Why the ledger could not be read: the account lacks the funds permission (said once, here)."""
    error: str = ""
    read_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return not (self.not_permitted or self.error)

    @property
    def available_fen(self) -> int:
        return self.balance.available_fen if self.balance else 0

    @property
    def pending_fen(self) -> int:
        return self.balance.pending_fen if self.balance else 0

    @property
    def settled_orders_fen(self) -> int:
        return sum(o.commission_fen for o in self.settled)

    @property
    def commission_flows_fen(self) -> int:
        return sum(f.amount_fen for f in self.flows if f.type == COMMISSION)

    @property
    def difference_fen(self) -> int:
        """What the league paid in 分账 minus what order sync counted as settled."""
        return self.commission_flows_fen - self.settled_orders_fen

    @property
    def beyond_tolerance(self) -> bool:
        return self.ok and abs(self.difference_fen) > self.tolerance_fen

    def as_json(self, zone: ZoneInfo) -> dict[str, Any]:
        """`tuike funds --json`'s object: exactly these fields (scripts read them)."""
        return {
            "league": self.league,
            "available_fen": self.available_fen,
            "pending_fen": self.pending_fen,
            "settled_orders_fen": self.settled_orders_fen,
            "difference_fen": self.difference_fen,
            "flows": [
                {
                    "flow_id": f.flow_id,
                    "amount_fen": f.amount_fen,
                    "time": f.time.astimezone(zone).isoformat(),
                    "type": f.type,
                }
                for f in self.flows
            ],
        }


def period(now: datetime, days: int) -> tuple[datetime, datetime]:
    return now - timedelta(days=days), now


async def reconcile(
    engine: Engine,
    league: HasFunds,
    since: datetime,
    until: datetime,
    *,
    tolerance_fen: int = 0,
    now: datetime | None = None,
) -> Reconciliation:
    """Read `league`'s balance and the flows booked in [since, until], and set them against the orders
    the store counts as settled in the same period. A missing permission is an answer (`not_permitted`),
    not an exception; other league errors propagate."""
    base = Reconciliation(league.name, since, until, tolerance_fen=tolerance_fen, read_at=now or until)
    try:
        balance = await league.funds_balance()
        flows = await league.funds_flows(since, until)
    except NotPermitted as exc:
        return replace(base, not_permitted=str(exc))
    settled = await asyncio.to_thread(settled_between, engine, league.name, since, until)
    paid = {f.order_id for f in flows if f.type == COMMISSION and f.order_id}
    counted = {o.order_id for o in settled}
    extra = [f for f in flows if f.type == COMMISSION and f.order_id not in counted]
    known = await asyncio.to_thread(
        orders_named, engine, league.name, [f.order_id for f in extra if f.order_id]
    )
    return replace(
        base,
        balance=balance,
        flows=tuple(flows),
        settled=tuple(settled),
        missing_flows=tuple(o for o in settled if o.order_id not in paid),
        extra_flows=tuple(UnmatchedFlow(f, known.get(f.order_id)) for f in extra),
    )


# -- what the console keeps ------------------------------------------------------------------------


@dataclass
class _Kept:
    results: dict[str, Reconciliation] = field(default_factory=dict)
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)


_kept = _Kept()


def kept(league: str) -> Reconciliation | None:
    """The last reconciliation this process made for `league` (no call is made)."""
    return _kept.results.get(league)


def forget() -> None:
    """Drop what is kept (tests; a config reload)."""
    _kept.results.clear()


async def reconciled(
    engine: Engine,
    league: HasFunds,
    *,
    now: datetime,
    days: int,
    tolerance_fen: int,
    fresh: bool = False,
) -> Reconciliation:
    """The kept reconciliation while younger than `KEEP`, else a new one (one at a time per league).
    A league error is kept as the result's `error` so a page shows it instead of failing."""
    lock = _kept.locks.setdefault(league.name, asyncio.Lock())
    async with lock:
        last = _kept.results.get(league.name)
        if last is not None and not fresh and last.read_at is not None and now - last.read_at < KEEP:
            return last
        since, until = period(now, days)
        try:
            result = await reconcile(engine, league, since, until, tolerance_fen=tolerance_fen, now=now)
        except (LeagueError, TimeoutError, OSError) as exc:  # shown on the page, tried again after KEEP
            log.info("reconciliation of %s failed: %s", league.name, exc)
            result = Reconciliation(
                league.name, since, until, tolerance_fen=tolerance_fen, error=str(exc)[:300], read_at=now
            )
        _kept.results[league.name] = result
        return result
