"""What a chat channel declares about itself: its kind, its `[chat.<kind>]` settings model, how it is
built, and what it can do. The registry (bot/chat/registry.py) lists one of these per channel; nothing
outside bot/chat/ names a channel kind or branches on one: it asks the channel's capabilities.

Kept light (pydantic and the standard library): the config loader reads the settings models through
the registry, and `tuike --help` must not pay for httpx, Starlette or the wechaty extra. The factory
and the login-health check are named by module path and imported only when called.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bot.chat.base import ChatChannel, JoinHook, LoginHealth


class ChannelSection(BaseModel):
    """A `[chat.<kind>]` table: unknown keys are errors, and the settings never change once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def missing(self) -> str:
        """What this table still lacks when its channel is chosen (one line naming the keys), or ''."""
        return ""

    def per_account(self) -> tuple[Self, ...]:
        """Each chat account this table configures, as a table of its own: one channel is built per
        entry, and `tuike check` and the console's health card look at each (one, unless the channel
        serves several accounts from one table, as `[[chat.gateway.accounts]]`)."""
        return (self,)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a channel can do; the composition, the CLI and the console decide by these, not by kind."""

    can_push: bool = True
    """Carries daily deals, live reminders and broadcasts (iLink may only answer a member who just wrote)."""
    may_write_first: bool = True
    """May open a conversation (e.g. tell a member their bound order is paid)."""
    sends_cards: bool = False
    """Sends link and mini-program cards as cards (elsewhere they turn into text)."""
    sends_images: bool = False
    """Sends pictures as pictures."""
    lists_groups: bool = False
    """Can list the groups its account is in (`ListsGroups`)."""
    has_webhook: bool = False
    """The platform calls the bot: the channel serves a webhook (`tuike check` probes it)."""
    login_health: bool = False
    """Records whether its account is logged in; the web console reads it (`ChannelPlugin.login_health`)."""
    paced: bool = True
    """Its sends go through a rate limit with jitter (a real account has a ban risk to protect)."""
    real: bool = True
    """Reaches real WeChat users: refused beside a sandbox league (simulated links in real chats)."""
    needs_store: bool = True
    """Keeps its state in the store, so the store opens before it starts, and it starts listening once
    everything is built. Without: it may answer 帮助 while the rest is still being built."""
    welcome: Literal["", "itself", "paced"] = ""
    """How it greets new members when `welcome_on_join` is set: "itself" (the factory is given the hook
    and the channel sends its answer), "paced" (the composition hands it a hook that sends through the
    account's paced sender once that exists), "" (never)."""


@dataclass(frozen=True, slots=True)
class ChannelContext:
    """What a channel's factory may use beside its own `[chat.<kind>]` table."""

    bot_name: str
    data_dir: Path
    log_level: str = "INFO"
    engine: Engine | None = None
    """The store, for a channel that keeps state in it (None in a few CLI probes and tests)."""
    welcome: JoinHook | None = None
    """Greets new members (the `welcome` template); given when the composition has a renderer."""
    may_be_request: Callable[[str], bool] | None = None
    """The router's test for a group line that does not @mention the bot: False when it can get no
    answer. A channel that receives every line of every group (a webhook) drops those before queueing."""
    replica_id: str = ""
    """This process's name among replicas sharing one database (`[cluster] replica_id`; '' lets the
    channel take host name + "-" + pid): a gateway's `callback_url` may name it as `{replica}`."""
    shared: dict[str, Any] = field(default_factory=dict)
    """What the channels of one kind built for one process share, kept by their factory (the gateway's
    one webhook server on `listen`, serving every account)."""


Factory = Callable[[Any, ChannelContext], "ChatChannel"]
HealthCheck = Callable[[Any, "Engine"], "LoginHealth"]


def _by_path(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True, slots=True)
class ChannelPlugin:
    """One chat channel, as the registry lists it."""

    kind: str
    """The name in `[chat] kind` and the `[chat.<kind>]` table."""
    settings: type[BaseModel]
    """The model of its `[chat.<kind>]` table (every key has a default)."""
    factory: str
    """"module:function" taking (its settings, ChannelContext) and returning the channel; imported only
    when the channel is built, so a platform's libraries load only when it is chosen."""
    capabilities: Capabilities = Capabilities()
    env: Mapping[str, str] = field(default_factory=dict)
    """Environment variable → key of its table, for secrets kept out of the file (e.g. a token)."""
    health: str = ""
    """"module:function" taking (its settings, an Engine) and returning `LoginHealth` (with
    `capabilities.login_health`): what the channel last recorded in the store, so the web console can
    tell even when it runs in another process than the channel."""
    check: str = ""
    """"module:function" taking its settings and returning `tuike check` lines [(ok, text)] that need no
    network (e.g. an optional extra installed)."""
    probe: str = ""
    """"module:function", async, taking (its settings, an Engine or None, seconds per call) and
    returning `tuike check` lines from one cheap call to the platform (each call given that timeout)."""

    def build(self, settings: Any, context: ChannelContext) -> ChatChannel:
        factory: Factory = _by_path(self.factory)
        return factory(settings, context)

    def login_health(self, settings: Any, engine: Engine) -> LoginHealth | None:
        """Whether the configured account is logged in, as last recorded; None without the capability.
        Reads the store: call it off the event loop."""
        if not (self.capabilities.login_health and self.health):
            return None
        check: HealthCheck = _by_path(self.health)
        return check(settings, engine)

    def check_offline(self, settings: Any) -> list[tuple[bool, str]]:
        """`tuike check` lines that need no network (none when the channel declares no check)."""
        return list(_by_path(self.check)(settings)) if self.check else []

    async def check_online(
        self, settings: Any, engine: Engine | None, call_seconds: float
    ) -> list[tuple[bool, str]]:
        """`tuike check` lines from one cheap call to the platform (none without a probe)."""
        return list(await _by_path(self.probe)(settings, engine, call_seconds)) if self.probe else []
