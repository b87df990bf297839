"""Tables. Every timestamp is an aware UTC datetime (timestamptz on PostgreSQL). Every bounded
text column is a `SafeString` (bot.store.text): cleaned and cut to its size before it is written.

The schema is owned by the Alembic migrations in `migrations/versions`; these classes must match them
(a test compares the two).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from bot.store.text import SafeString

MAX_ID = 2**31 - 1
"""The largest id a row can have (ids are 32-bit integers on PostgreSQL). A number typed by a person
beyond it names no row: look nothing up rather than overflow the database's integers."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class Group(SQLModel, table=True):
    """A chat room the bot serves, and its promotion identity on each league."""

    __tablename__ = "groups"
    __table_args__ = (
        # one group per 推客: orders are attributed by sharer ('' = the operator's default, shared by many)
        Index(
            "uq_groups_channels_sharer_appid",
            "channels_sharer_appid",
            unique=True,
            sqlite_where=text("channels_sharer_appid <> ''"),
            postgresql_where=text("channels_sharer_appid <> ''"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    room_id: str = Field(index=True, unique=True, sa_type=SafeString(128, key=True))
    name: str = Field(default="", sa_type=SafeString(256))
    owner_id: str = Field(default="", sa_type=SafeString(128, key=True))
    owner_name: str = Field(default="", sa_type=SafeString(256), sa_column_kwargs={"server_default": ""})
    """How the owner shows in the group, as the chat last told it ('' = not heard yet)."""
    channels_sharer_appid: str = Field(default="", sa_type=SafeString(64, key=True))
    """The owner's bound 推客 appid; empty means the operator's default sharer."""
    account: str = Field(
        default="", sa_type=SafeString(128, key=True), index=True, sa_column_kwargs={"server_default": ""}
    )
    """The chat account that serves this group (e.g. 'gateway:wx_app'); '' = not yet known."""
    blocked: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    """Set by the operator (web console): the bot neither answers nor pushes here."""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class SharerBinding(SQLModel, table=True):
    """When a group held an owner's Channels 推客: a Channels order names the sharer its link was made
    with, and the group is the one that held that sharer when the order was placed. An order from a
    link made before 解绑推客 stays the group's; a sharer bound to another group later credits that
    group only from then on."""

    __tablename__ = "sharer_bindings"

    id: int | None = Field(default=None, primary_key=True)
    sharer_appid: str = Field(index=True, sa_type=SafeString(64, key=True))
    group_id: int = Field(foreign_key="groups.id", index=True)
    bound_at: datetime = Field(default_factory=utcnow)
    unbound_at: datetime | None = None
    """None while the group holds it."""


class Subscription(SQLModel, table=True):
    """A group's wish to receive a push: daily deals at a time (a group may have several times, one
    row each), or live reminders (at_time "")."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("group_id", "kind", "at_time", name="uq_subscription_group_kind_time"),
    )

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="groups.id", index=True)
    kind: str = Field(sa_type=SafeString(16))
    """'daily' or 'live'."""
    at_time: str = Field(default="", sa_type=SafeString(5))
    """HH:MM in the configured zone, for daily pushes."""
    categories: str = Field(default="", sa_type=SafeString(1024))
    """Comma-separated league category ids; empty means all."""
    active: bool = Field(default=True)
    account: str = Field(
        default="", sa_type=SafeString(128, key=True), index=True, sa_column_kwargs={"server_default": ""}
    )
    """The chat account that pushes it: only that account's process schedules it."""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class PushLog(SQLModel, table=True):
    """One (group, slot) push. The row is claimed before the first message goes out."""

    __tablename__ = "push_log"
    __table_args__ = (UniqueConstraint("group_id", "slot", name="uq_push_group_slot"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="groups.id", index=True)
    slot: str = Field(sa_type=SafeString(128, key=True))
    """e.g. 'daily:2026-11-22T08:00' or 'live-soon:<notice id>'."""
    status: str = Field(index=True, sa_type=SafeString(16))
    """claimed, sending, sent, failed, interrupted, skipped."""
    claimed_by: str = Field(default="", sa_type=SafeString(128, key=True))
    claimed_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    detail: str = Field(default="", sa_type=SafeString(2048))
    product_ids: str = Field(default="", sa_type=SafeString(2048))
    """Comma-separated product ids sent, for the 7-day no-repeat rule."""


class LinkCache(SQLModel, table=True):
    """A promotion link per (league, product, spot), kept until it expires."""

    __tablename__ = "link_cache"
    __table_args__ = (UniqueConstraint("league", "product_id", "spot", name="uq_link_league_product_spot"),)

    id: int | None = Field(default=None, primary_key=True)
    league: str = Field(sa_type=SafeString(32))
    product_id: str = Field(sa_type=SafeString(64, key=True))
    spot: str = Field(sa_type=SafeString(128, key=True))
    payload: str = Field(sa_type=Text)
    """JSON of the PromotionLink fields."""
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)


class LeagueToken(SQLModel, table=True):
    """An access token kept across restarts, so a restart does not spend the daily token quota."""

    __tablename__ = "league_tokens"
    __table_args__ = (UniqueConstraint("league", "appid", "mode", name="uq_token_league_appid_mode"),)

    id: int | None = Field(default=None, primary_key=True)
    league: str = Field(sa_type=SafeString(32))
    appid: str = Field(sa_type=SafeString(64, key=True))
    mode: str = Field(sa_type=SafeString(16))
    token: str = Field(sa_type=SafeString(1024))
    expires_at: datetime


class RequestLog(SQLModel, table=True):
    """One member request, for quota and demand reports."""

    __tablename__ = "request_log"
    __table_args__ = (Index("ix_request_log_at_outcome_chat", "at", "outcome", "chat_id"),)
    """Covering for the console's sums by period, outcome and group."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    chat_id: str = Field(index=True, sa_type=SafeString(128, key=True))
    sender_id: str = Field(sa_type=SafeString(128, key=True))
    kind: str = Field(sa_type=SafeString(16))
    """keyword, link, tpwd, help, command."""
    query: str = Field(default="", sa_type=SafeString(512))
    platform: str = Field(default="", sa_type=SafeString(16))
    product_id: str = Field(default="", sa_type=SafeString(64, key=True))
    league_calls: int = 0
    outcome: str = Field(default="", sa_type=SafeString(32))


class ChatState(SQLModel, table=True):
    """What a chat channel keeps across restarts: a login token, a long-poll cursor, a webhook secret."""

    __tablename__ = "chat_state"
    __table_args__ = (UniqueConstraint("account", "key", name="uq_chat_state_account_key"),)

    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(sa_type=SafeString(128, key=True))
    key: str = Field(sa_type=SafeString(128, key=True))
    value: str = Field(sa_type=Text)
    updated_at: datetime = Field(default_factory=utcnow)


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
    league: str = Field(sa_type=SafeString(32))
    pid: str = Field(default="", sa_type=SafeString(128, key=True))
    tag: str = Field(default="", sa_type=SafeString(128, key=True))
    created_at: datetime = Field(default_factory=utcnow)


class OrderRow(SQLModel, table=True):
    """One league order line, as last synced: keyed by (league, order id, sub-order/sku).

    `group_id` is the group whose link the order came through (None: unattributed, kept and shown as
    such). Amounts are fen; `status` is pending, settled or cancelled; `updated_at` is the league's.
    """

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("league", "order_id", "sku_id", name="uq_order_league_order_sku"),
        # covering: the console's sums per period, league, status and group read the index alone
        Index(
            "ix_orders_dashboard", "created_at", "league", "status", "group_id", "paid_fen", "commission_fen"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    league: str = Field(sa_type=SafeString(32))
    order_id: str = Field(sa_type=SafeString(64, key=True))
    sku_id: str = Field(sa_type=SafeString(64, key=True))
    product_id: str = Field(default="", sa_type=SafeString(64, key=True))
    title: str = Field(default="", sa_type=SafeString(256))
    paid_fen: int = Field(default=0, sa_type=BigInteger)
    commission_fen: int = Field(default=0, sa_type=BigInteger)
    status: str = Field(sa_type=SafeString(16))
    pid: str = Field(default="", sa_type=SafeString(128, key=True))
    tag: str = Field(default="", sa_type=SafeString(128, key=True))
    sharer_appid: str = Field(default="", sa_type=SafeString(64, key=True))
    group_id: int | None = Field(default=None, foreign_key="groups.id", index=True)
    created_at: datetime = Field(index=True)
    updated_at: datetime
    synced_at: datetime = Field(default_factory=utcnow)


class OrderEvent(SQLModel, table=True):
    """A status (or amount) an order line was seen in: its history, appended when it changes."""

    __tablename__ = "order_events"

    id: int | None = Field(default=None, primary_key=True)
    order_row_id: int = Field(foreign_key="orders.id", index=True)
    status: str = Field(sa_type=SafeString(16))
    paid_fen: int = Field(default=0, sa_type=BigInteger)
    commission_fen: int = Field(default=0, sa_type=BigInteger)
    at: datetime
    """The league's update time of this state."""
    seen_at: datetime = Field(default_factory=utcnow)


class SyncCursor(SQLModel, table=True):
    """How far a league's orders are synced: every order updated before `cursor` has been stored."""

    __tablename__ = "sync_cursors"
    __table_args__ = (UniqueConstraint("league", name="uq_sync_cursor_league"),)

    id: int | None = Field(default=None, primary_key=True)
    league: str = Field(sa_type=SafeString(32))
    cursor: datetime
    updated_at: datetime = Field(default_factory=utcnow)


class JobLock(SQLModel, table=True):
    """A lease on a job (e.g. order sync) so that one process of many runs it; taken over once expired."""

    __tablename__ = "job_locks"
    __table_args__ = (UniqueConstraint("name", name="uq_job_lock_name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=SafeString(64, key=True))
    holder: str = Field(sa_type=SafeString(128, key=True))
    expires_at: datetime


class RebateBinding(SQLModel, table=True):
    """A member's claim on an order (all its lines): the first member to bind it owns it."""

    __tablename__ = "rebate_bindings"
    __table_args__ = (UniqueConstraint("league", "order_id", name="uq_rebate_binding_order"),)

    id: int | None = Field(default=None, primary_key=True)
    league: str = Field(sa_type=SafeString(32))
    order_id: str = Field(sa_type=SafeString(64, key=True))
    member_id: str = Field(index=True, sa_type=SafeString(128, key=True))
    share_percent: int
    """The operator's share at binding time: a later change does not rewrite what was promised."""
    bound_at: datetime = Field(default_factory=utcnow)
    account: str = Field(
        default="", sa_type=SafeString(128, key=True), sa_column_kwargs={"server_default": ""}
    )
    """The chat account the member bound through: the one that can reach them later ('' = not recorded)."""


class RebateEntry(SQLModel, table=True):
    """One append-only ledger line. Balances are sums of entries per bucket, never a stored number.

    bucket: pending (order not settled yet), available (may be withdrawn), withdrawing (asked for,
    not paid yet), paid. kind: credit_pending, credit_settled, reversal, withdrawal_request,
    withdrawal_paid. A move between buckets is two entries of opposite sign."""

    __tablename__ = "rebate_entries"

    id: int | None = Field(default=None, primary_key=True)
    member_id: str = Field(index=True, sa_type=SafeString(128, key=True))
    binding_id: int | None = Field(default=None, foreign_key="rebate_bindings.id", index=True)
    withdrawal_id: int | None = None
    """For withdrawal entries: the id of the request entry they belong to (the ID operators pay)."""
    kind: str = Field(sa_type=SafeString(24))
    bucket: str = Field(sa_type=SafeString(16))
    amount_fen: int = Field(sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow)


class LeagueAnswer(SQLModel, table=True):
    """A league's answer (its wire JSON) about one thing — a product's detail, a coupon — kept for
    the lifetime the league's data allows, so a restart does not ask again (each call spends quota)."""

    __tablename__ = "league_answers"
    __table_args__ = (UniqueConstraint("league", "kind", "key", name="uq_league_answer"),)

    id: int | None = Field(default=None, primary_key=True)
    league: str = Field(sa_type=SafeString(32))
    kind: str = Field(sa_type=SafeString(32))
    key: str = Field(sa_type=SafeString(128, key=True))
    payload: str = Field(sa_type=Text)
    fetched_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)


class WebAuth(SQLModel, table=True):
    """The web console's one operator password, as an Argon2id hash (one row)."""

    __tablename__ = "web_auth"

    id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(sa_type=SafeString(256))
    updated_at: datetime = Field(default_factory=utcnow)


class Broadcast(SQLModel, table=True):
    """A 群发 message an operator confirmed. Each target group gets it once: the push log's
    (group, "broadcast:<id>") claim decides, through the account's paced sender."""

    __tablename__ = "broadcasts"

    id: int | None = Field(default=None, primary_key=True)
    text: str = Field(sa_type=Text)
    products: str = Field(default="", sa_type=Text, sa_column_kwargs={"server_default": ""})
    """Deals picked for it, as "league:product_id" joined by ","; each group gets them with its own links."""
    created_by: str = Field(default="", sa_type=SafeString(128))
    created_at: datetime = Field(default_factory=utcnow)


class BroadcastTarget(SQLModel, table=True):
    __tablename__ = "broadcast_targets"
    __table_args__ = (UniqueConstraint("broadcast_id", "group_id", name="uq_broadcast_target"),)

    id: int | None = Field(default=None, primary_key=True)
    broadcast_id: int = Field(foreign_key="broadcasts.id")
    group_id: int = Field(foreign_key="groups.id", index=True)


class ForwardLog(SQLModel, table=True):
    """One message heard in a 线报 source, and what became of it: forwarded to N groups, dropped (and
    why), held for the morning, or queued (still being worked on). The row's id is the forward id: each
    target group's send is claimed in the push log as (group, "forward:<id>")."""

    __tablename__ = "forward_log"
    __table_args__ = (
        # a message delivered twice to an account (a webhook retried, two replicas of one account) is
        # taken once; two accounts in one source each take it, for their own groups
        Index(
            "uq_forward_log_message",
            "account",
            "source_room",
            "message_id",
            unique=True,
            sqlite_where=text("message_id <> ''"),
            postgresql_where=text("message_id <> ''"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(default="", sa_type=SafeString(128, key=True), index=True)
    """The chat account that heard it: that account's process works on it."""
    source_room: str = Field(sa_type=SafeString(128, key=True))
    source_name: str = Field(default="", sa_type=SafeString(256))
    sender_id: str = Field(default="", sa_type=SafeString(128, key=True))
    message_id: str = Field(default="", sa_type=SafeString(128, key=True))
    received_at: datetime = Field(default_factory=utcnow, index=True)
    excerpt: str = Field(default="", sa_type=SafeString(120))
    body: str = Field(default="", sa_type=Text)
    """The whole text while it may still be sent (queued, held, forwarded); emptied once dropped."""
    status: str = Field(index=True, sa_type=SafeString(16))
    """queued, held, forwarded, dropped."""
    reason: str = Field(default="", sa_type=SafeString(512))
    groups: int = 0
    """How many target groups it was sent to."""
    keys: str = Field(default="", sa_type=SafeString(1024))
    """Its dedupe keys ("league:item"), comma-separated."""
    next_try_at: datetime | None = None
    """Held or retried: when the forward job looks at it again."""
    updated_at: datetime = Field(default_factory=utcnow)


class ForwardSeen(SQLModel, table=True):
    """The dedupe memory: a product (its dedupe key) and when it was first forwarded, from which message.
    A key older than `[forward] dedupe_hours` may be taken again by a newer message."""

    __tablename__ = "forward_seen"
    __table_args__ = (UniqueConstraint("key", name="uq_forward_seen_key"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_type=SafeString(128, key=True))
    first_at: datetime = Field(default_factory=utcnow, index=True)
    forward_id: int = Field(foreign_key="forward_log.id")


class ClusterReplica(SQLModel, table=True):
    """A `tuike run` of a cluster (`[cluster] enabled`, bot/cluster/): alive while its heartbeat, written
    with the database's clock every third of a lease, is younger than a lease."""

    __tablename__ = "cluster_replicas"

    replica_id: str = Field(primary_key=True, sa_type=SafeString(64, key=True))
    host: str = Field(default="", sa_type=SafeString(256))
    pid: int = 0
    incarnation: str = Field(default="", sa_type=SafeString(64, key=True))
    """Random per start: a replica started again under the same id tells its old self's row from its own."""
    started_at: datetime
    heartbeat_at: datetime


class AccountLease(SQLModel, table=True):
    """Which replica serves a chat account, until when (the database's clock): one holder at a time."""

    __tablename__ = "account_leases"

    account: str = Field(primary_key=True, sa_type=SafeString(128, key=True))
    holder: str = Field(default="", sa_type=SafeString(64, key=True))
    """The replica id; '' when nobody took it yet."""
    expires_at: datetime


class WebSessionRow(SQLModel, table=True):
    """A console login, in the database so that any replica serves it (issue 31). Keyed by the SHA-256
    of the cookie's random value, never the value itself: a leaked row is not a usable cookie."""

    __tablename__ = "web_sessions"

    token_hash: str = Field(primary_key=True, sa_type=SafeString(64))
    stamp: str = Field(default="", sa_type=SafeString(16))
    """`password_stamp` of the hash in force when this session logged in."""
    created_at: datetime = Field(default_factory=utcnow)
    last_seen: datetime = Field(default_factory=utcnow, index=True)


class WebLoginFailure(SQLModel, table=True):
    """A login attempt counted as wrong (kept a minute): every replica counts against the same rows."""

    __tablename__ = "web_login_failures"

    id: int | None = Field(default=None, primary_key=True)
    client: str = Field(sa_type=SafeString(64, key=True), index=True)
    at: datetime = Field(index=True)
    forgiven: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    """The attempt turned out right: no longer held against its address, still in the overall count."""


class WebSetupLink(SQLModel, table=True):
    """A one-time setup link printed while no password is set, by its code's SHA-256. `claimed` is 1
    while a setup through it runs (unique: one setup at a time across every link and replica)."""

    __tablename__ = "web_setup_links"
    __table_args__ = (UniqueConstraint("claimed", name="uq_web_setup_link_claimed"),)

    code_hash: str = Field(primary_key=True, sa_type=SafeString(64))
    created_at: datetime = Field(default_factory=utcnow)
    claimed: int | None = Field(default=None)
    claimed_at: datetime | None = Field(default=None)


class IlinkContext(SQLModel, table=True):
    """An iLink member's latest context token and what was sent on it: iLink lets the bot answer a
    member only with the token of their latest message, about ten messages within a day of it. Kept so
    a restart (or another replica taking the bot over) can still answer them. The token is a secret of
    sorts: never logged (bot.store.ilink_contexts)."""

    __tablename__ = "ilink_contexts"
    __table_args__ = (
        UniqueConstraint("account", "user_id", name="uq_ilink_context_user"),
        Index("ix_ilink_contexts_account_received", "account", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(sa_type=SafeString(128, key=True))
    user_id: str = Field(sa_type=SafeString(128, key=True))
    token: str = Field(sa_type=Text)
    received_at: datetime = Field(default_factory=utcnow)
    """When the member's message carrying the token arrived (the window runs from then)."""
    sent: int = 0
    """Messages sent to the member on this token."""
    refused: bool = False
    """iLink refused a send on it (ret -2): nothing more goes to the member until they write again."""
