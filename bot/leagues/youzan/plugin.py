"""The youzan shop's plug-in: the operator's own Youzan shop (有赞): its items beside affiliate deals, a
salesman per group, the salesmen's orders."""

from __future__ import annotations

from datetime import timedelta

from bot.leagues.plugin import LeaguePlugin
from bot.leagues.youzan.links import HOSTS
from bot.leagues.youzan.settings import YouzanShopSettings

YOUZAN = LeaguePlugin(
    name="youzan",
    display_name="自营",
    short_name="有赞",
    settings=YouzanShopSettings,
    build="bot.leagues.youzan.build:build_youzan",
    default_spot="bot.leagues.youzan.build:youzan_spot",
    env={"TUIKE_YOUZAN_CLIENT_ID": "client_id", "TUIKE_YOUZAN_CLIENT_SECRET": "client_secret"},
    order_window=timedelta(days=1),
    identity_label="有赞销售员",
    color="#d4380d",
    link_hosts=HOSTS,
    links="bot.leagues.youzan.links:recognise_link",
    section="shops",
)
