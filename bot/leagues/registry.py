"""The leagues this bot speaks: one line per league package.

Order matters: it is the default order of `[deals] leagues` (which leagues a search asks first), and
the first league is the default source of daily pushes. Adding a league is a package with a
`plugin.py` (its `LeaguePlugin`), its settings model, a builder — and one line here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.leagues.eleme.plugin import ELEME
from bot.leagues.jd.plugin import JD
from bot.leagues.meituan.plugin import MEITUAN
from bot.leagues.pdd.plugin import PDD
from bot.leagues.plugin import LeaguePlugin
from bot.leagues.shopify.plugin import SHOPIFY
from bot.leagues.taobao.plugin import TAOBAO
from bot.leagues.union.plugin import UNION
from bot.leagues.vip.plugin import VIP
from bot.leagues.wechat.plugin import CHANNELS
from bot.leagues.youzan.plugin import YOUZAN

if TYPE_CHECKING:
    from bot.config import Settings

LEAGUES: tuple[LeaguePlugin, ...] = (
    CHANNELS,
    UNION,
    TAOBAO,
    JD,
    PDD,
    VIP,
    ELEME,
    MEITUAN,
    YOUZAN,
    SHOPIFY,
)

BY_NAME: dict[str, LeaguePlugin] = {plugin.name: plugin for plugin in LEAGUES}

FIRST_LEAGUE: str = LEAGUES[0].name
"""The league a bare product id belongs to unless told (`tuike promote 123`)."""

SHARER_LEAGUE: str = next((plugin.name for plugin in LEAGUES if plugin.sharers_in_chat), "")
"""The league whose group identities are sharers bound in chat (`LeaguePlugin.sharers_in_chat`): the
console's category tree, `绑定分享员` and the built-in daily deals are its."""
assert sum(plugin.sharers_in_chat for plugin in LEAGUES) <= 1, "one league binds sharers in chat"


def plugin(name: str) -> LeaguePlugin | None:
    """The league called `name`, or None (an order row of a league no longer registered)."""
    return BY_NAME.get(name)


def short_name(name: str) -> str:
    """How the console and charts label a league (its own name when unknown)."""
    found = BY_NAME.get(name)
    return found.short_name if found else name


def display_name(name: str) -> str:
    """What members read for a league (its own name when unknown)."""
    found = BY_NAME.get(name)
    return found.display_name if found else name


def takeout_on(settings: Settings) -> bool:
    """A takeout league (外卖 links, no 找) is enabled: 外卖 answers, 订阅 外卖 and its console times work."""
    return any(not plugin.searches and plugin.enabled(settings) for plugin in LEAGUES)
