"""The pure rules of 线报 forwarding: no I/O, no clock of their own (callers pass `now`, in UTC).

- the dedupe key of a message: the products it carries, as "league:item_id" (`Item.key`), so the same
  product posted by five sources is forwarded once per `[forward] dedupe_hours`;
- block words (`[forward] block_words`): matched case-insensitively and width-insensitively (NFKC), so
  "ＶＩＰ群" is caught by "vip群";
- quiet hours (`[forward] quiet_hours`, "HH:MM-HH:MM" in the configured zone, may span midnight);
- the per-group hourly cap (`[forward] max_per_hour`) over a sliding hour.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.forward.remake import Item

HOUR = timedelta(hours=1)


def dedupe_keys(items: Iterable[Item]) -> tuple[str, ...]:
    """The message's dedupe keys, each once, in the order the products appear."""
    return tuple(dict.fromkeys(item.key for item in items))


def fresh_keys(
    keys: Sequence[str], seen_at: dict[str, datetime], now: datetime, hours: int
) -> tuple[str, ...]:
    """The keys not forwarded within the last `hours` (`seen_at`: key → when it was last forwarded)."""
    window = timedelta(hours=hours)
    return tuple(k for k in keys if k not in seen_at or now - seen_at[k] >= window)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def blocked_word(text: str, words: Iterable[str]) -> str | None:
    """The first block word the text contains (as the operator wrote it), or None."""
    folded = _fold(text)
    for word in words:
        if word and _fold(word) in folded:
            return word
    return None


@dataclass(frozen=True)
class QuietHours:
    """A daily span of local time, [start, end); `start > end` spans midnight ("23:00-07:00")."""

    start: time
    end: time
    zone: ZoneInfo

    @classmethod
    def parse(cls, span: str, zone: str | ZoneInfo) -> QuietHours | None:
        """`[forward] quiet_hours` (already checked by the config) in `zone`; None when empty."""
        span = span.strip()
        if not span:
            return None
        first, _, last = span.partition("-")
        tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
        return cls(time.fromisoformat(first), time.fromisoformat(last), tz)

    @property
    def spans_midnight(self) -> bool:
        return self.start > self.end

    def covers(self, now: datetime) -> bool:
        """Whether `now` (aware, any zone) falls in the quiet hours."""
        local = now.astimezone(self.zone).time().replace(tzinfo=None)
        if self.spans_midnight:
            return local >= self.start or local < self.end
        return self.start <= local < self.end

    def ends_after(self, now: datetime) -> datetime:
        """When the quiet hours that cover `now` end, in UTC (`now` itself when they do not cover it):
        when a held message may go."""
        if not self.covers(now):
            return now.astimezone(UTC)
        local = now.astimezone(self.zone)
        day = local.date()
        if self.spans_midnight and local.time().replace(tzinfo=None) >= self.start:
            day += timedelta(days=1)  # 23:30 in "23:00-07:00": it ends tomorrow morning
        end = datetime.combine(day, self.end, tzinfo=self.zone)
        # a local time the clock skips (spring forward) still converts: zoneinfo reads it with fold=0
        return end.astimezone(UTC)


def hourly_room(sent: Iterable[datetime], now: datetime, cap: int) -> int:
    """How many more forwards a group may receive now: `cap` minus those sent in the last hour."""
    recent = sum(1 for at in sent if now - HOUR < at <= now)
    return max(0, cap - recent)


def next_free(sent: Iterable[datetime], now: datetime, cap: int) -> datetime:
    """The earliest time a group under the hourly cap may receive its next forward (`now` when it has
    room): an hour after the oldest of the last `cap` forwards within the hour."""
    recent = sorted(at for at in sent if now - HOUR < at <= now)
    if len(recent) < cap:
        return now
    return recent[len(recent) - cap] + HOUR
