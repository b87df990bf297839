"""The union league's plug-in: The WeChat mini-program union (小程序联盟 推客): products, a pid per group, orders."""

from __future__ import annotations

from datetime import timedelta

from bot.leagues.plugin import LeaguePlugin
from bot.leagues.union.links import HOSTS
from bot.leagues.union.settings import UnionLeagueSettings

UNION = LeaguePlugin(
    name="union",
    display_name="小程序联盟",
    short_name="小程序联盟",
    settings=UnionLeagueSettings,
    build="bot.leagues.union.build:build_union",
    default_spot="bot.leagues.union.build:union_spot",
    env={"TUIKE_UNION_APPID": "appid", "TUIKE_UNION_SECRET": "secret"},
    order_window=timedelta(hours=24),
    color="#2b8a3e",
    converts_links=False,
    link_hosts=HOSTS,
    links="bot.leagues.union.links:recognise",
)
