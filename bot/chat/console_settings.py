"""The console channel's `[chat.console]` table and its plug-in (bot/chat/console.py builds it)."""

from __future__ import annotations

from pydantic import Field

from bot.chat.plugin import Capabilities, ChannelPlugin, ChannelSection


class ConsoleSettings(ChannelSection):
    room: str = Field("测试群", min_length=1)
    member: str = Field("小明", min_length=1)
    owner: str = Field("群主", min_length=1)


PLUGIN = ChannelPlugin(
    kind="console",
    settings=ConsoleSettings,
    factory="bot.chat.console:build",
    capabilities=Capabilities(
        lists_groups=True,
        paced=False,  # no account to protect
        real=False,
        needs_store=False,  # answers 帮助 while the leagues are still being built
    ),
)
