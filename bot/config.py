"""Typed settings, loaded from one TOML file plus a few environment variables.

Every setting has a default that makes the embedded default work (console channel, sandbox league,
SQLite under ./data). Unknown keys are errors, not silently ignored, because a misspelt key in an
operator's config would otherwise leave a feature quietly off.

Secrets may come from the environment instead of the file:

    TUIKE_DATABASE_URL         [database] url
    TUIKE_WECHATY_TOKEN        [chat.wechaty] token
    TUIKE_GATEWAY_TOKEN        [chat.gateway] token
    TUIKE_ILINK_TOKEN          [chat.ilink] token

and each league's credentials, under the names its plug-in declares (`LeaguePlugin.env`, listed in
config.example.toml beside each `[leagues.<name>]` table, e.g. `TUIKE_TAOBAO_APP_SECRET`).

The `[leagues.<name>]` tables are validated by each league's own settings model, found through the
league registry (`bot.leagues.registry`) by name when settings are read: this module stays the lowest
layer and names no league.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import socket
import tomllib
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Protocol

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from bot.redact import MASK, mask_url

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = PROJECT_ROOT / "config.example.toml"
CONFIG_ENV = "TUIKE_CONFIG"

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Section = _Section
"""A settings table: unknown keys are errors, values are frozen. Plug-ins' own tables extend it."""


class LeagueTable(_Section):
    """What every `[leagues.<name>]` table has; each league's settings model (in its package) extends it."""

    enabled: bool = False
    sandbox: bool = True
    """Talk to the local simulator (`tuike_sandbox`) instead of the real gateway."""
    timeout_seconds: float = Field(8.0, gt=0, le=120)
    max_retries: int = Field(3, ge=0, le=10)

    @field_validator("base_url", "storefront", check_fields=False)
    @classmethod
    def _http_url(cls, value: str, info: ValidationInfo) -> str:
        """Every league's `base_url` (and a shop's `storefront`): http(s):// with a host and no spaces,
        the trailing slash dropped; empty means "not set". The error shows the field's default as the
        example of what to write."""
        if value and not re.fullmatch(r"https?://[^\s/]+(?:/\S*)?", value):
            default = cls.model_fields[info.field_name or ""].default
            example = default if isinstance(default, str) and default else "https://shop.example.com"
            raise ValueError(f"an http(s):// URL such as '{example}'")
        return value.rstrip("/")


class _LeagueDeclaration(Protocol):
    """What config needs of a league plug-in (`bot.leagues.plugin.LeaguePlugin`)."""

    @property
    def name(self) -> str: ...

    @property
    def settings(self) -> type[LeagueTable]: ...

    @property
    def env(self) -> dict[str, str]: ...

    @property
    def section(self) -> str: ...

    @property
    def searches(self) -> bool: ...


REGISTRY = "bot.leagues.registry"


def league_declarations() -> Sequence[_LeagueDeclaration]:
    """The registered leagues, in registry order, found by module name (plug-in discovery, as entry
    points do it): the registry imports each league's light plug-in module, never its client."""
    registry = importlib.import_module(REGISTRY)
    return registry.LEAGUES  # type: ignore[no-any-return]


def league_names() -> tuple[str, ...]:
    return tuple(plugin.name for plugin in league_declarations())


def searching_league_names() -> tuple[str, ...]:
    """The registered leagues that answer 找 with products (a takeout league gives only 外卖 links)."""
    return tuple(plugin.name for plugin in league_declarations() if plugin.searches)


@cache
def _tables_model(base: type[_PluginTables]) -> type[_PluginTables]:
    fields: dict[str, Any] = {
        plugin.name: (plugin.settings, Field(default_factory=plugin.settings))
        for plugin in league_declarations()
        if plugin.section == base.section
    }
    return create_model(base.__name__.removesuffix("Tables") + "Settings", __base__=base, **fields)


class _PluginTables(_Section):
    """One table per registered plug-in of a section (`[leagues.<name>]`, `[shops.<name>]`), each
    validated by that plug-in's settings model; reached by attribute (`settings.leagues.<name>`)."""

    section: ClassVar[str]

    @model_validator(mode="wrap")
    @classmethod
    def _by_registry(cls, value: Any, handler: Any) -> Any:
        if cls in (LeagueTables, ShopTables):
            model = _tables_model(cls)
            if isinstance(value, model):
                return value
            return model.model_validate(value if value is not None else {})
        return handler(value)

    def tables(self) -> dict[str, LeagueTable]:
        return {name: getattr(self, name) for name in type(self).model_fields}

    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any: ...


class LeagueTables(_PluginTables):
    """`[leagues]`: the affiliate leagues' tables."""

    section = "leagues"


class ShopTables(_PluginTables):
    """`[shops]`: the operator's own shops' tables (a shop is a league that sells its own goods)."""

    section = "shops"


def plugin_tables(settings: Settings) -> dict[str, LeagueTable]:
    """Every registered league's and shop's table, by plug-in name."""
    return {**settings.leagues.tables(), **settings.shops.tables()}


def _known_league(name: str) -> str:
    known = league_names()
    if name not in known:
        quoted = [repr(k) for k in known]
        expected = f"{', '.join(quoted[:-1])} or {quoted[-1]}" if len(quoted) > 1 else "".join(quoted)
        raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected})
    return name


class BotSettings(_Section):
    name: str = Field("推客小助手", min_length=1, max_length=32)
    timezone: str = "Asia/Shanghai"
    data_dir: Path = Path("data")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    operators: tuple[str, ...] = ()
    admin_chat: str = ""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("an IANA time zone such as 'Asia/Shanghai'") from exc
        return value


_LISTEN = re.compile(r"(?P<host>[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:]+\]):(?P<port>\d{1,5})")

CHAT_REGISTRY = "bot.chat.registry"
"""Where the chat channels are listed: each one's `[chat.<kind>]` model, secrets from the environment and
capabilities. Found by name when settings are validated (plug-in discovery), so this, the lowest layer,
never imports bot.chat; that module and the models it names import pydantic only."""


def _channels() -> dict[str, Any]:
    """Kind → the channel's plug-in (`bot.chat.plugin.ChannelPlugin`), in the registry's order."""
    return dict(importlib.import_module(CHAT_REGISTRY).CHANNELS)


def _kinds_error(value: object) -> PydanticCustomError:
    kinds = [repr(kind) for kind in _channels()]
    listed = ", ".join(kinds[:-1]) + f" or {kinds[-1]}" if len(kinds) > 1 else "".join(kinds)
    return PydanticCustomError(
        "literal_error", "Input should be {expected}", {"expected": f"{listed} (or a list of them)"}
    )


def _nested(kind: str, exc: ValidationError) -> ValidationError:
    """`exc` from validating `[chat.<kind>]`, its errors located under `kind` (so under chat.<kind>)."""
    errors: list[InitErrorDetails] = []
    for error in exc.errors():
        moved = InitErrorDetails(type=error["type"], loc=(kind, *error["loc"]), input=error["input"])
        if "ctx" in error:
            moved["ctx"] = error["ctx"]
        errors.append(moved)
    return ValidationError.from_exception_data(exc.title, errors)


class ChatSettings(_Section):
    """`[chat]`: which channels serve, and what holds for all of them. Each channel's own table
    (`[chat.gateway]`, …) is validated by the model its plug-in declares and read as an attribute
    (`settings.chat.gateway.base_url`), every channel's table present whether chosen or not."""

    model_config = ConfigDict(extra="allow", frozen=True)

    kind: str | tuple[str, ...] = "console"
    """One channel, or a list: one `tuike run` can serve a gateway account and an iLink bot together."""
    allowed_groups: tuple[str, ...] = ()
    allow_sandbox_with_real_chat: bool = False
    """A real chat channel with a sandbox league posts simulated links into real chats: refused unless set."""

    if TYPE_CHECKING:

        def __getattr__(self, kind: str) -> Any: ...

    @field_validator("kind", mode="before")
    @classmethod
    def _known_kinds(cls, value: object) -> object:
        kinds = [value] if isinstance(value, str) else value
        if not isinstance(kinds, list | tuple) or not kinds:
            raise _kinds_error(value)
        known = _channels()
        for kind in kinds:
            if kind not in known:
                raise _kinds_error(kind)
        if len(set(kinds)) != len(kinds):
            raise ValueError("each chat kind at most once")
        return value if isinstance(value, str) else tuple(kinds)

    @property
    def kinds(self) -> tuple[str, ...]:
        return (self.kind,) if isinstance(self.kind, str) else self.kind

    @property
    def real(self) -> tuple[str, ...]:
        """The kinds that reach real WeChat users."""
        channels = _channels()
        return tuple(k for k in self.kinds if channels[k].capabilities.real)

    def of(self, kind: str) -> Any:
        """The `[chat.<kind>]` table of a channel kind."""
        return getattr(self, kind)

    @model_validator(mode="after")
    def _channel_tables(self) -> ChatSettings:
        tables = self.__pydantic_extra__ if self.__pydantic_extra__ is not None else {}
        channels = _channels()
        for key, value in tables.items():
            if key not in channels:
                raise ValidationError.from_exception_data(
                    "ChatSettings", [{"type": "extra_forbidden", "loc": (key,), "input": value}]
                )
        for kind, channel in channels.items():
            try:
                tables[kind] = channel.settings.model_validate(tables.get(kind, {}))
            except ValidationError as exc:
                raise _nested(kind, exc) from None
        for kind in self.kinds:
            missing = tables[kind].missing()
            if missing:
                raise ValueError(missing)
        return self


class DatabaseSettings(_Section):
    url: str = ""

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str) -> str:
        expected = "'sqlite:///path.db' or 'postgresql+psycopg://user@host/db'"
        if value and not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ValueError(expected)
        if value:
            # SQLAlchemy only when a URL is set: reading the config stays cheap
            from sqlalchemy.engine import make_url

            try:
                make_url(value)
            except Exception:  # e.g. a port that is not a number: the parser's text would echo the URL
                raise ValueError(expected) from None
        return value


class TemplateSettings(_Section):
    dir: Path | None = None
    max_message_chars: int = Field(1500, ge=100, le=10000)


LeagueName = Annotated[str, AfterValidator(_known_league)]
"""A registered league's name (`bot.leagues.registry`); checked against the registry when settings load."""


class DealSettings(_Section):
    """How the bot answers members' requests (issue: members ask, the bot answers)."""

    results_per_search: int = Field(3, ge=1, le=10)
    max_links_per_message: int = Field(3, ge=1, le=10)
    keyword_needs_mention: bool = True
    member_requests: int = Field(5, ge=1, le=1000)
    member_window_seconds: int = Field(60, ge=1, le=86400)
    group_requests: int = Field(20, ge=1, le=10000)
    group_window_seconds: int = Field(60, ge=1, le=86400)
    search_cache_seconds: int = Field(120, ge=0, le=86400)
    link_ttl_hours: int = Field(12, ge=1, le=24 * 30)
    answer_deadline_seconds: float = Field(5.0, gt=0, le=60)
    """A member hears back within this, whatever the leagues do (the friendly fallback if need be)."""
    late_answer_grace_seconds: float = Field(20.0, ge=0, le=600)
    """A real answer finished this long after the deadline still follows (once); later, it is only cached."""
    searching_notice_seconds: float = Field(2.0, ge=0, le=60)
    """A keyword search still running after this long first sends "正在帮你找…" (template `searching`); 0 = off."""
    searching_notice_in_groups: bool = False
    """The notice is for private chats; in a busy group an extra line per search is noise unless wanted."""
    leagues: tuple[LeagueName, ...] = Field(default_factory=searching_league_names)
    """Which leagues a keyword search asks, in this order (only enabled ones count); default: every
    registered league that searches products, in registry order."""
    rank_by: Literal["weighted", "final_price", "commission", "sales"] = "weighted"
    """How search results and daily deals are ordered (bot/leagues/ranking.py)."""
    own_store_first: bool = False
    """The operator's own shops' products (`[shops.*]`) come before affiliate deals in answers and
    pushes when they match (else they rank with them)."""
    with_image: bool = False
    """Send the product's picture before the answer (a keyword search: the top product's)."""

    link_card: bool = False
    """Send a link card (picture, title, price) after a single-product answer whose link is a web URL;
    channels that cannot send cards leave it out (the text carries the link anyway)."""


class PushSettings(_Section):
    """Daily deals and live reminders, and how fast the bot may send."""

    enabled: bool = True
    league: LeagueName = Field(default_factory=lambda: league_names()[0])
    """Where daily deals come from (an enabled league; live reminders are always Channels)."""
    default_time: str = "08:30"
    deals_per_push: int = Field(5, ge=1, le=20)
    rate_per_minute: int = Field(20, ge=1, le=600)
    jitter_min_seconds: float = Field(3.0, ge=0, le=600)
    jitter_max_seconds: float = Field(8.0, ge=0, le=600)
    max_send_attempts: int = Field(3, ge=1, le=10)
    grace_hours: float = Field(2.0, ge=0, le=48)
    repeat_days: int = Field(7, ge=0, le=90)
    live_poll_seconds: int = Field(300, ge=30, le=86400)
    live_remind_minutes: int = Field(15, ge=1, le=24 * 60)
    with_image: bool = False
    channels_coupons: bool = False
    """Daily pushes lead with the organisation's coupons (机构券: 定向券/公开券), shared for the group's sharer."""
    channels_feeds: int = Field(0, ge=0, le=5)
    """Feeds (视频号 videos with a product) of the followed talents a daily push carries, shared for the
    group's sharer: a mini-program card where the chat channel can send one. 0: none."""
    instance: str = ""
    push_share: float = Field(0.25, ge=0, le=1)
    """While pushes wait, at least this share of the account's sends goes to them (replies take the rest)."""
    league_budget_seconds: float = Field(120.0, gt=0, le=3600)
    """How long composing one push (its league calls, retries included) may take."""
    own_store_deals: int = Field(0, ge=0, le=10)
    """Products of the operator's own shops (`[shops.*]`, enabled ones) a daily push carries beside the
    deals from `league`, each with the group's own link; first when `[deals] own_store_first`. 0: none."""

    @field_validator("default_time")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError("a time of day as HH:MM, e.g. '08:30'")
        return value

    @model_validator(mode="after")
    def _jitter_order(self) -> PushSettings:
        if self.jitter_min_seconds > self.jitter_max_seconds:
            raise ValueError("jitter_min_seconds must not be larger than jitter_max_seconds")
        if self.live_poll_seconds > self.live_remind_minutes * 60:
            # a live starting between two polls would be seen only once it is on air: no reminder
            raise ValueError("live_poll_seconds must not be longer than live_remind_minutes (in seconds)")
        return self


class OrderSettings(_Section):
    """Order sync: every enabled league's orders, read incrementally and attributed to groups."""

    enabled: bool = True
    """Sync on a schedule inside `tuike run` (one process of many does it: a database lock decides)."""
    sync_minutes: int = Field(15, ge=1, le=24 * 60)
    lookback_days: int = Field(62, ge=1, le=90)
    """How far back the first sync of a league reads (this month and last month for 佣金)."""
    overlap_minutes: int = Field(30, ge=0, le=24 * 60)
    """Each sync re-reads this much before where the last one stopped: late league updates are caught."""
    budget_seconds: float = Field(600.0, gt=0, le=6 * 3600)
    """How long one league's sync may take before it stops (what it stored so far stays)."""
    funds_days: int = Field(30, ge=1, le=365)
    """Reconciliation (对账): how many days of the organisation's funds flows are set against the orders
    sync counted as settled in the same days."""
    funds_tolerance_fen: int = Field(100, ge=0)
    """A reconciliation difference up to this many fen is not raised under 需要处理 (flows booked a
    little after the order settled fall on the other side of the period's edge)."""


class RebateSettings(_Section):
    """Member rebates (返利): members bind their orders and get a share of the commission."""

    enabled: bool = False
    share_percent: int = Field(50, ge=0, le=100)
    owner_share_percent: int = Field(0, ge=0, le=100)
    """The share of each group's commission the operator pays its owner (by hand); 0: none. Shown in
    the owner's 佣金 and in `tuike report` (`owner_share_fen`)."""
    notify_paid: bool = False
    """After a sync, tell a member in private chat once when their bound order is paid and tracked."""


class WebSettings(_Section):
    """The operator web console (bot/web/): served by `tuike run` when enabled, or alone by `tuike web`."""

    enabled: bool = False
    listen: str = "127.0.0.1:8700"
    """host:port. Anything but a loopback address is reachable from other machines: put TLS in front."""
    session_hours: float = Field(12.0, gt=0, le=24 * 30)
    """How long a login lasts without activity."""
    login_attempts_per_minute: int = Field(5, ge=1, le=100)
    """Wrong passwords allowed per minute per client address before logins wait (and overall ×4, for
    addresses that already have a wrong one: an address with none is never turned away)."""
    trusted_proxies: list[str] = []
    """Addresses or networks (`127.0.0.1`, `10.0.0.0/8`) of reverse proxies whose `X-Forwarded-For` /
    `X-Forwarded-Proto` name the real client. Empty: no forwarded header is believed."""

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, value: list[str]) -> list[str]:
        import ipaddress

        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"not an IP address or network: {item!r}") from None
        return value

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        found = _LISTEN.fullmatch(value)
        if not found or not 0 <= int(found["port"]) < 65536:
            raise ValueError("host:port for the web console, e.g. '127.0.0.1:8700'")
        return value

    @property
    def host(self) -> str:
        found = _LISTEN.fullmatch(self.listen)
        assert found is not None
        return found["host"].strip("[]")

    @property
    def port(self) -> int:
        found = _LISTEN.fullmatch(self.listen)
        assert found is not None
        return int(found["port"])

    @property
    def loopback_only(self) -> bool:
        return self.host in ("127.0.0.1", "localhost", "::1") or self.host.startswith("127.")


def _default_replica_id() -> str:
    """Host name + "-" + process id: unique on its own, so replicas run with one config need no edit."""
    host = re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname()) or "host"
    return f"{host}-{os.getpid()}"


class ClusterSettings(_Section):
    """`[cluster]`: several `tuike run` on several hosts, one PostgreSQL, each chat account served by
    exactly one replica at a time through a lease row (bot/cluster/, docs/cluster.md). Off: one process
    serves every configured account, as always; SQLite is for that single process only."""

    enabled: bool = False
    replica_id: str = Field(
        default_factory=_default_replica_id,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
    )
    """This replica's name (letters, digits, . _ -): `tuike cluster status` shows it, and a gateway
    `callback_url` may name it as `{replica}`. Two live replicas never share one."""
    lease_seconds: int = Field(30, ge=2, le=600)
    """How long an account's lease lasts unless renewed (every third of it); a dead replica's accounts
    are served again by another within about this long."""


_QUIET = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d-(?:[01]\d|2[0-3]):[0-5]\d$")


def _names(value: tuple[str, ...], what: str) -> tuple[str, ...]:
    """Room or sender ids (or words), each stripped, none empty, each once (in the operator's order)."""
    cleaned = tuple(dict.fromkeys(item.strip() for item in value))
    if any(not item for item in cleaned):
        raise ValueError(f"非空的{what}，不能有空字符串 (no empty strings)")
    return cleaned


class ForwardSettings(_Section):
    """线报 forwarding (issue 29): deals posted in source groups reach the target groups, every link and
    口令 remade under each target group's own identity (`bot.forward`)."""

    enabled: bool = False
    sources: tuple[str, ...] = ()
    """Room ids (a 线报 group) or sender ids (a deal account) whose messages are forwarded."""
    targets: tuple[str, ...] = ()
    """Room ids that receive the forwards; groups whose owner said `订阅 线报` are added."""
    dedupe_hours: int = Field(12, ge=1, le=24 * 30)
    """The same product (league and item id) from any source is forwarded at most once in this long."""
    block_words: tuple[str, ...] = ()
    """A source message containing any of these (case-insensitive) is dropped."""
    quiet_hours: str = ""
    """"HH:MM-HH:MM" in `[bot] timezone` (may span midnight, e.g. "23:00-07:00"); empty: no quiet hours."""
    quiet_mode: str = "hold"
    """"hold": keep quiet-hours messages until the quiet hours end; "drop": drop them."""
    max_per_hour: int = Field(6, ge=1, le=120)
    """Forwards a target group receives in any hour at most."""
    max_delay_minutes: int = Field(10, ge=1, le=24 * 60)
    """A message not sent within this long after it arrived (a league slow or down) is dropped."""

    @field_validator("sources", "targets")
    @classmethod
    def _ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _names(value, "群 ID 或发送者 ID")

    @field_validator("block_words")
    @classmethod
    def _words(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _names(value, "屏蔽词")

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return ""
        if not _QUIET.match(value):
            raise ValueError("免打扰时段 HH:MM-HH:MM，如 '23:00-07:00'；不要免打扰就留空 (a time span)")
        start, end = value.split("-")
        if start == end:
            raise ValueError("开始和结束不同的时段，如 '23:00-07:00' (start and end must differ)")
        return value

    @field_validator("quiet_mode")
    @classmethod
    def _mode(cls, value: str) -> str:
        if value not in ("hold", "drop"):
            raise ValueError("'hold'（免打扰时段攒着，结束后再发）或 'drop'（直接丢弃）")
        return value

    @model_validator(mode="after")
    def _has_sources(self) -> ForwardSettings:
        if self.enabled and not self.sources:
            raise ValueError(
                "开启了线报转发 (enabled = true) 但没有来源：在 sources 里写上线报群或发线报的人的 ID"
                " (enabled needs at least one source)"
            )
        return self


class Settings(_Section):
    bot: BotSettings = BotSettings()
    chat: ChatSettings = Field(default_factory=ChatSettings)
    database: DatabaseSettings = DatabaseSettings()
    templates: TemplateSettings = TemplateSettings()
    leagues: LeagueTables = Field(default_factory=lambda: LeagueTables.model_validate({}))
    shops: ShopTables = Field(default_factory=lambda: ShopTables.model_validate({}))
    deals: DealSettings = Field(default_factory=DealSettings)
    push: PushSettings = Field(default_factory=PushSettings)
    orders: OrderSettings = OrderSettings()
    rebate: RebateSettings = RebateSettings()
    web: WebSettings = WebSettings()
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)

    forward: ForwardSettings = ForwardSettings()

    @property
    def templates_dir(self) -> Path:
        """The operator's template folder: `[templates] dir`, else `templates/` in the data folder (where
        the web console saves edits; it may not exist yet, and then only the built-in files count)."""
        return self.templates.dir or self.bot.data_dir / "templates"

    @property
    def database_url(self) -> str:
        """The configured URL, or an SQLite file in the data folder."""
        if self.database.url:
            return self.database.url
        return f"sqlite:///{(self.bot.data_dir / 'tuike.db').as_posix()}"


def sandbox_leagues(settings: Settings) -> list[str]:
    """Enabled leagues that serve the simulated sandbox instead of the real API."""
    out = []
    for name, table in plugin_tables(settings).items():
        if table.enabled and table.sandbox:
            out.append(name)
    return out


def sandbox_in_real_chat(settings: Settings, kinds: tuple[str, ...] | None = None) -> str:
    """Why this config must not run (a real chat channel with a sandbox league), or '' when it may.

    Sandbox links look real and lead nowhere: posted into real groups they would cost the operator
    members' trust. `[chat] allow_sandbox_with_real_chat = true` is the explicit way to test anyway."""
    channels = _channels()
    real = [k for k in (kinds or settings.chat.kinds) if k in channels and channels[k].capabilities.real]
    sandboxed = sandbox_leagues(settings)
    if not real or not sandboxed or settings.chat.allow_sandbox_with_real_chat:
        return ""
    return (
        f"真实微信渠道 ({', '.join(real)}) 不能配沙盒联盟 ({', '.join(sandboxed)}): "
        "members would get simulated links. Set the league's sandbox = false with real credentials, "
        "or [chat] allow_sandbox_with_real_chat = true to test on purpose"
    )


class ConfigError(Exception):
    """A config problem an operator can fix; the message is one line naming the key."""


@dataclass(frozen=True)
class LoadedConfig:
    settings: Settings
    path: Path
    is_example: bool


def _env_overrides(raw: dict[str, Any]) -> dict[str, Any]:
    pairs: dict[str, tuple[str, ...]] = {
        "TUIKE_DATABASE_URL": ("database", "url"),
    }
    for plugin in league_declarations():
        pairs.update({var: (plugin.section, plugin.name, key) for var, key in plugin.env.items()})
    for kind, channel in _channels().items():  # each channel names the secrets it takes from the environment
        pairs.update({var: ("chat", kind, key) for var, key in channel.env.items()})
    for var, keys in pairs.items():
        value = os.environ.get(var)
        if not value:
            continue
        node = raw
        for key in keys[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            node[keys[-1]] = value
    return raw


def _shown(key: str, value: Any) -> Any:
    """What an error message may show of a value: URLs without their password, secrets not at all."""
    if any(word in key.rsplit(".", 1)[-1].lower() for word in ("secret", "token", "password")):
        return MASK
    if isinstance(value, str) and key.endswith("url"):
        return mask_url(value) if "://" in value else MASK  # a mangled URL may be all password
    return value


def _describe(error: Any) -> str:
    key = ".".join(str(part) for part in error["loc"])
    value = _shown(key, error.get("input"))
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"unknown key '{key}' (misspelt?); see config.example.toml for the allowed keys"
    if kind == "literal_error":
        allowed = error.get("ctx", {}).get("expected", "")
        return f"{key} = {value!r} is not allowed; expected {allowed}"
    raw = str(error["msg"])
    message = raw.removeprefix("Value error, ")
    if isinstance(value, dict):
        return f"{key}: {message}"
    if raw.startswith("Value error, "):
        return f"{key} = {value!r} is not valid; expected {message}"
    return f"{key} = {value!r} is not valid: {message[:1].lower()}{message[1:]}"


def parse_settings(raw: dict[str, Any], source: str = "config") -> Settings:
    """Validate a raw TOML mapping; raise ConfigError with a one-line message on the first problem."""
    try:
        return Settings.model_validate(_env_overrides(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"{source}: {_describe(first)}") from None


def resolve_path(explicit: str | os.PathLike[str] | None) -> tuple[Path, bool]:
    """Pick the config file: --config, then $TUIKE_CONFIG, then ./config.toml, then the example."""
    chosen = explicit or os.environ.get(CONFIG_ENV)
    if chosen:
        return Path(chosen), False
    local = Path("config.toml")
    if local.exists():
        return local, False
    return EXAMPLE_CONFIG, True


def load_config(explicit: str | os.PathLike[str] | None = None) -> LoadedConfig:
    path, is_example = resolve_path(explicit)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    settings = parse_settings(raw, source=str(path))
    return LoadedConfig(settings=settings, path=path, is_example=is_example)
