"""The taobao league's plug-in: 淘宝联盟 over the TOP gateway: search, 万能转链, 淘口令, an adzone per group, orders (≤ 3 h windows)."""

from __future__ import annotations

from datetime import timedelta

from bot.leagues.plugin import LeaguePlugin
from bot.leagues.taobao.links import HOSTS
from bot.leagues.taobao.settings import TaobaoLeagueSettings

TAOBAO = LeaguePlugin(
    name="taobao",
    display_name="淘宝/天猫",
    short_name="淘宝",
    settings=TaobaoLeagueSettings,
    build="bot.leagues.taobao.build:build_taobao",
    default_spot="bot.leagues.taobao.build:taobao_spot",
    env={"TUIKE_TAOBAO_APP_KEY": "app_key", "TUIKE_TAOBAO_APP_SECRET": "app_secret"},
    order_window=timedelta(hours=3),
    color="#1c7ed6",
    link_hosts=HOSTS,
    links="bot.leagues.taobao.links:recognise",
)
