"""The channels league's plug-in: WeChat Channels 推客 (视频号/微信小店): products, links, coupons, lives, sharers, orders."""

from __future__ import annotations

from datetime import timedelta

from bot.leagues.plugin import LeaguePlugin
from bot.leagues.wechat.links import HOSTS
from bot.leagues.wechat.settings import ChannelsLeagueSettings

CHANNELS = LeaguePlugin(
    name="channels",
    display_name="微信小店",
    short_name="微信小店",
    settings=ChannelsLeagueSettings,
    build="bot.leagues.wechat.build:build_channels",
    default_spot="bot.leagues.wechat.build:channels_spot",
    env={"TUIKE_CHANNELS_APPID": "appid", "TUIKE_CHANNELS_SECRET": "secret"},
    order_window=timedelta(hours=24),
    identity_label="视频号",
    color="#e8590c",
    always_spot=True,
    sharers_in_chat=True,
    link_hosts=HOSTS,
    links="bot.leagues.wechat.links:recognise",
)
