"""What a league package declares about itself: one `LeaguePlugin` in its `plugin.py`.

The registry (`bot.leagues.registry`) lists them; everything outside a league's package asks the
registry — for its settings table, how to build it, its names, its order window, what it can do — instead
of spelling the league's name. A plug-in module stays light (its settings model and strings): loading
the config imports it, and the league's client is imported only when the league is built.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.config import LeagueTable

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bot.config import Settings
    from bot.leagues.base import League, Spot


Build = Callable[["Settings", "str | None", "Engine | None"], "League"]
"""`build(settings, sandbox_base_url or None, engine)`: the league, talking to the sandbox when a URL
is given (with the demo account the sandbox knows), else to the real gateway."""


def load(ref: str) -> Any:
    """`"package.module:attribute"` imported now (a league's client costs start-up only when used)."""
    module, _, attribute = ref.partition(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class LeaguePlugin:
    """One league (or shop) as the rest of the bot sees it.

    What a built league can do is not declared here but found on the object through the typed
    protocols in `bot.leagues.capabilities` (`isinstance` on `runtime_checkable` protocols): a league
    that has no lives simply is not `HasLives`.
    """

    name: str
    """The key everywhere: `[leagues.<name>]`, `Product.platform`, `Spot.league`, order rows."""
    display_name: str
    """What members read (淘宝/天猫, 京东)."""
    short_name: str
    """What the console and charts label it with (淘宝, 京东)."""
    settings: type[LeagueTable]
    """The `[leagues.<name>]` table's model."""
    build: str
    """`"module:function"` of its `Build`."""
    default_spot: str
    """`"module:function"` taking the settings and giving the operator's own `Spot` on this league."""
    env: dict[str, str] = field(default_factory=dict)
    """Environment variables that override keys of its table (secrets): `{"TUIKE_JD_APP_KEY": "app_key"}`."""
    order_window: timedelta = timedelta(hours=1)
    """The longest time window its order API accepts in one query."""
    identity_label: str = ""
    """How the console names a group's identity on it, when not by `short_name` (Channels: 视频号)."""
    color: str = ""
    """Its colour in the console's charts."""
    link_hosts: tuple[str, ...] = ()
    """The hosts (and their subdomains) whose links this league reads (`links`)."""
    links: str = ""
    """`"module:function"`: its `bot.leagues.links.Recognise` for links on `link_hosts`."""
    own_hosts: str = ""
    """`"module:function"` taking its settings table and returning more hosts its links come on, from
    the config (the operator's own shop domain): read once when the process starts."""
    converts_links: bool = True
    """A member's pasted link to it is turned into the group's own (the union's share links are not)."""
    section: str = "leagues"
    """The config section its table is under: `leagues`, or `shops` for the operator's own shop."""
    always_spot: bool = False
    """Its default spot is made even when the league is off (older callers look it up by name)."""
    searches: bool = True
    """It answers 找 with products; a takeout league (外卖 coupon links) does not."""
    sharers_in_chat: bool = False
    """A group's identity on it is a sharer the group's owner binds in chat (绑定分享员), kept on the
    group row (`Group.channels_sharer_appid`); its orders are attributed by who was the group's sharer
    when they were placed. One league at most (`registry.SHARER_LEAGUE`)."""

    def table(self, settings: Settings) -> Any:
        """This league's validated `[leagues.<name>]` table (typed by the league's own code)."""
        return getattr(getattr(settings, self.section), self.name)

    def enabled(self, settings: Settings) -> bool:
        return bool(self.table(settings).enabled)

    def make(self, settings: Settings, sandbox_base_url: str | None, engine: Engine | None) -> League:
        build: Build = load(self.build)
        return build(settings, sandbox_base_url, engine)

    def spot(self, settings: Settings) -> Spot:
        make_spot: Callable[[Settings], Spot] = load(self.default_spot)
        return make_spot(settings)

    @property
    def label(self) -> str:
        return self.identity_label or self.short_name
