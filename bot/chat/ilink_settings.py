"""The iLink channel's `[chat.ilink]` table and its plug-in. Light on purpose (pydantic only): the
config loader reads it; bot/chat/ilink.py (httpx) is imported only when the channel is built."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator

from bot.chat.plugin import Capabilities, ChannelPlugin, ChannelSection


class IlinkSettings(ChannelSection):
    """Tencent's official iLink bot API: private chats only (docs/wechat.md)."""

    base_url: str = "https://ilinkai.weixin.qq.com"
    token: SecretStr = SecretStr("")
    """The bot token; empty means log in by QR code (the token obtained is kept in the store)."""
    account: str = Field("default", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    """Names this iLink bot in the store; give each bot its own when several share one database."""
    sends_per_user: int = Field(10, ge=1, le=100)
    """Messages the bot may send a member per context window (iLink answers ret -2 beyond ~10)."""
    timeout_seconds: float = Field(10.0, gt=0, le=120)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^\s]+", value):
            raise ValueError("an http(s):// URL")
        return value.rstrip("/")


PLUGIN = ChannelPlugin(
    kind="ilink",
    settings=IlinkSettings,
    factory="bot.chat.ilink:build",
    capabilities=Capabilities(
        can_push=False,  # iLink may only answer a member who just wrote
        may_write_first=False,
        login_health=True,
    ),
    env={"TUIKE_ILINK_TOKEN": "token"},
    health="bot.chat.ilink:login_health",
    probe="bot.chat.ilink:probe",
)
