"""The meituan league's plug-in: 美团 coupon links made per group (sid) through the CPS open API, and orders."""

from __future__ import annotations

from datetime import timedelta

from bot.leagues.meituan.settings import MeituanLeagueSettings
from bot.leagues.plugin import LeaguePlugin

MEITUAN = LeaguePlugin(
    name="meituan",
    display_name="美团",
    short_name="美团",
    settings=MeituanLeagueSettings,
    build="bot.leagues.meituan.build:build_meituan",
    default_spot="bot.leagues.meituan.build:meituan_spot",
    env={"TUIKE_MEITUAN_APP_KEY": "app_key", "TUIKE_MEITUAN_APP_SECRET": "app_secret"},
    searches=False,
    order_window=timedelta(days=1),
    color="#ffc300",
)
