"""The pdd league's plug-in: 拼多多 多多进宝 over the gw-api router: search, a PID per group, orders."""

from __future__ import annotations

from datetime import timedelta

from bot.leagues.pdd.links import HOSTS
from bot.leagues.pdd.settings import PddLeagueSettings
from bot.leagues.plugin import LeaguePlugin

PDD = LeaguePlugin(
    name="pdd",
    display_name="拼多多",
    short_name="拼多多",
    settings=PddLeagueSettings,
    build="bot.leagues.pdd.build:build_pdd",
    default_spot="bot.leagues.pdd.build:pdd_spot",
    env={"TUIKE_PDD_CLIENT_ID": "client_id", "TUIKE_PDD_CLIENT_SECRET": "client_secret"},
    order_window=timedelta(hours=24),
    color="#ae3ec9",
    link_hosts=HOSTS,
    links="bot.leagues.pdd.links:recognise",
)
