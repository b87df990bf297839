"""The eleme league's plug-in: 饿了么 coupon links made per group (sid) through TOP, and their orders."""

from __future__ import annotations

from datetime import timedelta

from bot.leagues.eleme.settings import ElemeLeagueSettings
from bot.leagues.plugin import LeaguePlugin

ELEME = LeaguePlugin(
    name="eleme",
    display_name="饿了么",
    short_name="饿了么",
    settings=ElemeLeagueSettings,
    build="bot.leagues.eleme.build:build_eleme",
    default_spot="bot.leagues.eleme.build:eleme_spot",
    env={"TUIKE_ELEME_APP_KEY": "app_key", "TUIKE_ELEME_APP_SECRET": "app_secret"},
    searches=False,
    order_window=timedelta(days=1),
    color="#0a8cf0",
)
