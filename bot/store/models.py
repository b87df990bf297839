"""Tables. Every timestamp is an aware UTC datetime (timestamptz on PostgreSQL).

The schema is owned by the Alembic migrations in `migrations/versions`; these classes must match them
(a test compares the two).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Group(SQLModel, table=True):
    """A chat room the bot serves, and its promotion identity on each league."""

    __tablename__ = "groups"

    id: int | None = Field(default=None, primary_key=True)
    room_id: str = Field(index=True, unique=True, max_length=128)
    name: str = Field(default="", max_length=256)
    owner_id: str = Field(default="", max_length=128)
    channels_sharer_appid: str = Field(default="", max_length=64)
    """The owner's bound 推客 appid; empty means the operator's default sharer."""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Subscription(SQLModel, table=True):
    """A group's wish to receive a push: daily deals at a time, or live reminders."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("group_id", "kind", name="uq_subscription_group_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="groups.id", index=True)
    kind: str = Field(max_length=16)
    """'daily' or 'live'."""
    at_time: str = Field(default="", max_length=5)
    """HH:MM in the configured zone, for daily pushes."""
    categories: str = Field(default="", max_length=1024)
    """Comma-separated league category ids; empty means all."""
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class PushLog(SQLModel, table=True):
    """One (group, slot) push. The row is claimed before the first message goes out."""

    __tablename__ = "push_log"
    __table_args__ = (UniqueConstraint("group_id", "slot", name="uq_push_group_slot"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="groups.id", index=True)
    slot: str = Field(max_length=128)
    """e.g. 'daily:2026-11-22T08:00' or 'live-soon:<notice id>'."""
    status: str = Field(max_length=16, index=True)
    """claimed, sending, sent, failed, interrupted, skipped."""
    claimed_by: str = Field(default="", max_length=128)
    claimed_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    detail: str = Field(default="", max_length=2048)
    product_ids: str = Field(default="", max_length=2048)
    """Comma-separated product ids sent, for the 7-day no-repeat rule."""


class LinkCache(SQLModel, table=True):
    """A promotion link per (league, product, spot), kept until it expires."""

    __tablename__ = "link_cache"
    __table_args__ = (UniqueConstraint("league", "product_id", "spot", name="uq_link_league_product_spot"),)

    id: int | None = Field(default=None, primary_key=True)
    league: str = Field(max_length=32)
    product_id: str = Field(max_length=64)
    spot: str = Field(max_length=128)
    payload: str = Field(sa_type=Text)
    """JSON of the PromotionLink fields."""
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)


class LeagueToken(SQLModel, table=True):
    """An access token kept across restarts, so a restart does not spend the daily token quota."""

    __tablename__ = "league_tokens"
    __table_args__ = (UniqueConstraint("league", "appid", "mode", name="uq_token_league_appid_mode"),)

    id: int | None = Field(default=None, primary_key=True)
    league: str = Field(max_length=32)
    appid: str = Field(max_length=64)
    mode: str = Field(max_length=16)
    token: str = Field(max_length=1024)
    expires_at: datetime


class RequestLog(SQLModel, table=True):
    """One member request, for quota and demand reports."""

    __tablename__ = "request_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    chat_id: str = Field(max_length=128, index=True)
    sender_id: str = Field(max_length=128)
    kind: str = Field(max_length=16)
    """keyword, link, tpwd, help, command."""
    query: str = Field(default="", max_length=512)
    platform: str = Field(default="", max_length=16)
    product_id: str = Field(default="", max_length=64)
    league_calls: int = 0
    outcome: str = Field(default="", max_length=32)


class LeagueSpot(SQLModel, table=True):
    """A group's promotion identity on one league (not Channels), made once and kept.

    `pid` is the league's promotion position (Taobao `mm_<member>_<site>_<adzone>`, a PDD PID made
    for the group, a JD positionId); `tag` a per-group tag where the league takes one. Two groups never
    hold the same (league, pid, tag).
    """

    __tablename__ = "league_spots"
    __table_args__ = (
        UniqueConstraint("group_id", "league", name="uq_league_spot_group_league"),
        UniqueConstraint("league", "pid", "tag", name="uq_league_spot_identity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="groups.id", index=True)
    league: str = Field(max_length=32)
    pid: str = Field(default="", max_length=128)
    tag: str = Field(default="", max_length=128)
    created_at: datetime = Field(default_factory=utcnow)
