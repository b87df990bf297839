"""The vip league's plug-in: 唯品会联盟 over the vop gateway: search, links with a PID per group, orders."""

from __future__ import annotations

from datetime import timedelta

from bot.leagues.plugin import LeaguePlugin
from bot.leagues.vip.links import HOSTS
from bot.leagues.vip.settings import VipLeagueSettings

VIP = LeaguePlugin(
    name="vip",
    display_name="唯品会",
    short_name="唯品会",
    settings=VipLeagueSettings,
    build="bot.leagues.vip.build:build_vip",
    default_spot="bot.leagues.vip.build:vip_spot",
    env={"TUIKE_VIP_APP_KEY": "app_key", "TUIKE_VIP_APP_SECRET": "app_secret"},
    order_window=timedelta(days=1),
    color="#e8368f",
    link_hosts=HOSTS,
    links="bot.leagues.vip.links:recognise_link",
)
