"""The jd league's plug-in: 京东联盟 over JOS: search, links with a subUnionId per group, orders (≤ 1 h windows)."""

from __future__ import annotations

from datetime import timedelta

from bot.leagues.jd.links import HOSTS
from bot.leagues.jd.settings import JdLeagueSettings
from bot.leagues.plugin import LeaguePlugin

JD = LeaguePlugin(
    name="jd",
    display_name="京东",
    short_name="京东",
    settings=JdLeagueSettings,
    build="bot.leagues.jd.build:build_jd",
    default_spot="bot.leagues.jd.build:jd_spot",
    env={"TUIKE_JD_APP_KEY": "app_key", "TUIKE_JD_APP_SECRET": "app_secret"},
    order_window=timedelta(hours=1),
    color="#c92a2a",
    link_hosts=HOSTS,
    links="bot.leagues.jd.links:recognise",
)
