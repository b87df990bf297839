"""The legacy Wechaty channel's `[chat.wechaty]` table and its plug-in. Light on purpose: the wechaty
extra is imported only when bot/chat/wechaty.py builds the channel."""

from __future__ import annotations

import re

from pydantic import SecretStr, field_validator

from bot.chat.plugin import Capabilities, ChannelPlugin, ChannelSection


class WechatySettings(ChannelSection):
    endpoint: str = ""
    token: SecretStr = SecretStr("")
    welcome_on_join: bool = False

    @field_validator("endpoint")
    @classmethod
    def _host_port(cls, value: str) -> str:
        if value and not re.fullmatch(r"[A-Za-z0-9.\-\[\]:]+:\d{1,5}", value):
            raise ValueError("host:port of the puppet service, e.g. '127.0.0.1:8788'")
        return value

    def missing(self) -> str:
        """What a `kind = "wechaty"` config still lacks ('' when nothing)."""
        # Without an endpoint python-wechaty would ask a public discovery service; we never do that.
        if not self.endpoint:
            return (
                'kind = "wechaty" needs [chat.wechaty] endpoint, the host:port of your puppet-service gateway'
            )
        if not self.token.get_secret_value():
            return (
                'kind = "wechaty" needs [chat.wechaty] token (or TUIKE_WECHATY_TOKEN) of the puppet service'
            )
        return ""


PLUGIN = ChannelPlugin(
    kind="wechaty",
    settings=WechatySettings,
    factory="bot.chat.wechaty:build",
    capabilities=Capabilities(sends_cards=True, sends_images=True, lists_groups=True, welcome="itself"),
    env={"TUIKE_WECHATY_TOKEN": "token"},
    check="bot.chat.wechaty:check",
)
