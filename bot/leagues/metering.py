"""Counts league API calls: per request (for quota and demand reports) and per league (for health).

The client calls `count_call(league)` once per HTTP request; a handler wraps its work in `metered()`
and reads the total (and the calls per league) afterwards. A context variable keeps concurrent
requests apart.

Each call also lands in `LEDGER`, one small in-process record per league that the console's 联盟
page and 概览 read: when the last call went out, calls and errors per hour (two days kept), the last
error's text and kind, how many calls in a row failed. The client says how each try ended —
`call_succeeded(league)` or `call_failed(league, error)`; a "no such product" answer is the league
working, not failing. The record covers this process only (`tuike web` alone sees its own calls).
The daily quota (Channels and the union answer `/cgi-bin/openapi/quota/get`) is read by
`daily_quota`, kept a few minutes so a page view does not spend quota calls each time.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from bot import redact
from bot.leagues.base import League, LeagueConfigError, ProductNotFound, QuotaExhausted
from bot.leagues.capabilities import HasDailyQuota
from bot.reasons import reason


@dataclass(slots=True)
class CallCounter:
    calls: int = 0
    parent: CallCounter | None = None
    by_league: Counter[str] = field(default_factory=Counter)
    """Calls per league name ("" for a client that does not say)."""


_current: ContextVar[CallCounter | None] = ContextVar("league_calls", default=None)


def count_call(league: str = "") -> None:
    counter = _current.get()
    while counter is not None:  # nested meters (a request inside a replay) all see the call
        counter.calls += 1
        counter.by_league[league] += 1
        counter = counter.parent
    LEDGER.called(league)


def call_succeeded(league: str = "") -> None:
    """The try counted last answered usably."""
    LEDGER.succeeded(league)


def call_failed(league: str, error: BaseException) -> None:
    """The try counted last failed with `error` (a product the league does not know is no failure)."""
    if isinstance(error, ProductNotFound):
        LEDGER.succeeded(league)
    else:
        LEDGER.failed(league, error)


@contextmanager
def metered() -> Iterator[CallCounter]:
    counter = CallCounter(parent=_current.get())
    token = _current.set(counter)
    try:
        yield counter
    finally:
        _current.reset(token)


# -- per-league health -------------------------------------------------------------------------------

ErrorKind = str
"""'config' (credentials or permission refused: only the operator can fix it), 'quota' (daily quota
used up), 'other' (timeouts, 5xx, the league's own errors)."""

KEEP_HOURS = 48


def error_kind(error: BaseException) -> ErrorKind:
    if isinstance(error, LeagueConfigError):
        return "config"
    if isinstance(error, QuotaExhausted):
        return "quota"
    return "other"


@dataclass(frozen=True, slots=True)
class Health:
    """One league's calls as this process saw them (a snapshot: safe to hand to a page)."""

    league: str
    last_call_at: datetime | None = None
    last_ok_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str = ""
    """One line, secrets masked."""
    last_error_kind: ErrorKind = ""
    failing: int = 0
    """Tries in a row that failed, up to the last one (0: the last try worked)."""
    hours: tuple[tuple[datetime, int, int], ...] = ()
    """(hour start UTC, calls, errors), oldest first, the last `KEEP_HOURS` hours with calls."""

    def calls_since(self, since: datetime) -> tuple[int, int]:
        """(calls, errors) in the hours starting at or after `since` (hour buckets: the hour holding
        `since` counts when it starts at or after it — pass an hour boundary, e.g. local midnight)."""
        calls = errors = 0
        for hour, c, e in self.hours:
            if hour >= since.replace(minute=0, second=0, microsecond=0):
                calls, errors = calls + c, errors + e
        return calls, errors


@dataclass(slots=True)
class _Record:
    health: Health
    hours: dict[datetime, list[int]] = field(default_factory=dict)


class CallLedger:
    """Per-league call health, fed by the clients (any thread), read by the console."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.clock = clock
        self._records: dict[str, _Record] = {}
        self._lock = threading.Lock()

    def _record(self, league: str) -> _Record:
        record = self._records.get(league)
        if record is None:
            record = self._records[league] = _Record(Health(league))
        return record

    def _bucket(self, record: _Record, now: datetime) -> list[int]:
        hour = now.replace(minute=0, second=0, microsecond=0)
        bucket = record.hours.get(hour)
        if bucket is None:
            bucket = record.hours[hour] = [0, 0]
            oldest = hour - timedelta(hours=KEEP_HOURS)
            for old in [h for h in record.hours if h <= oldest]:
                del record.hours[old]
        return bucket

    def called(self, league: str) -> None:
        now = self.clock()
        with self._lock:
            record = self._record(league)
            self._bucket(record, now)[0] += 1
            record.health = replace(record.health, last_call_at=now)

    def succeeded(self, league: str) -> None:
        now = self.clock()
        with self._lock:
            record = self._record(league)
            record.health = replace(record.health, last_ok_at=now, failing=0)

    def failed(self, league: str, error: BaseException) -> None:
        now = self.clock()
        text = redact.mask(reason(error))[:300]
        with self._lock:
            record = self._record(league)
            self._bucket(record, now)[1] += 1
            record.health = replace(
                record.health,
                last_error_at=now,
                last_error=text,
                last_error_kind=error_kind(error),
                failing=record.health.failing + 1,
            )

    def health(self, league: str) -> Health:
        """The league's record (an empty one when it made no call in this process)."""
        with self._lock:
            record = self._records.get(league)
            if record is None:
                return Health(league)
            hours = tuple((h, c, e) for h, (c, e) in sorted(record.hours.items()))
            return replace(record.health, hours=hours)

    def reset(self) -> None:
        with self._lock:
            self._records.clear()


LEDGER = CallLedger()
"""The process's one ledger (every client feeds it)."""


# -- daily quota -------------------------------------------------------------------------------------

QUOTA_PATHS = (
    "/channels/ec/promoter/get_promote_product_list",
    "/channels/ec/promoter/get_promote_product_detail",
    "/channels/ec/promoter/get_product_promotion_link_info",
    "/channels/ec/promoter/get_coupon_detail",
    "/channels/ec/promoter/get_live_notice_record_list",
    "/channels/ec/league/headsupplier/order/list/get",
)
"""The Channels calls the bot makes that count against a daily quota (`tuike quota` prints them)."""
NEARLY_USED = 0.9
QUOTA_KEEP = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class QuotaLine:
    path: str
    used: int
    limit: int
    remain: int

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def nearly_used(self) -> bool:
        return bool(self.limit) and self.used >= NEARLY_USED * self.limit


@dataclass(frozen=True, slots=True)
class Quota:
    league: str
    lines: tuple[QuotaLine, ...]
    read_at: datetime
    error: str = ""
    """Why the quota could not be read ('' when it was)."""

    @property
    def nearly_used(self) -> list[QuotaLine]:
        return [line for line in self.lines if line.nearly_used]


def has_daily_quota(league: League) -> bool:
    """The league's gateway reports a daily call quota (`HasDailyQuota`: the Channels league)."""
    return isinstance(league, HasDailyQuota)


_quota_kept: dict[str, Quota] = {}


def kept_quota(league: str) -> Quota | None:
    """The quota last read for `league` in this process, however old (no call)."""
    return _quota_kept.get(league)


async def daily_quota(league: League, *, now: datetime | None = None, fresh: bool = False) -> Quota | None:
    """Today's quota per call the bot makes (`QUOTA_PATHS`), read at most every few minutes (or now
    when `fresh`); None for a league without a daily quota. A read that fails says why in `error`."""
    if not has_daily_quota(league):
        return None
    now = now or datetime.now(UTC)
    kept = _quota_kept.get(league.name)
    if kept is not None and not fresh and now - kept.read_at < QUOTA_KEEP:
        return kept
    assert isinstance(league, HasDailyQuota)
    lines: list[QuotaLine] = []
    try:
        for path in QUOTA_PATHS:
            q = (await league.quota(path)).get("quota", {})
            lines.append(
                QuotaLine(path, int(q.get("used", 0)), int(q.get("daily_limit", 0)), int(q.get("remain", 0)))
            )
    except Exception as exc:  # a quota we cannot read is shown as such, never a broken page
        quota = Quota(league.name, (), now, redact.mask(reason(exc))[:300])
    else:
        quota = Quota(league.name, tuple(lines), now)
    _quota_kept[league.name] = quota
    return quota


def forget_quota() -> None:
    _quota_kept.clear()
