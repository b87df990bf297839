"""The iPad-protocol gateway channel's `[chat.gateway]` table, its plug-in, and its login health.

Light on purpose (pydantic only): the config loader reads it; bot/chat/gateway.py (httpx, Starlette)
is imported only when the channel is built.
"""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator, model_validator

from bot.chat.plugin import Capabilities, ChannelPlugin, ChannelSection

_LISTEN = re.compile(r"(?P<host>[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:]+\]):(?P<port>\d{1,5})")


class GatewaySettings(ChannelSection):
    """An iPad-protocol HTTP gateway in the GeWe shape: REST out, a webhook in (docs/wechat.md)."""

    base_url: str = ""
    """The gateway's API root; calls go to {base_url}/message/postText and so on."""
    token: SecretStr = SecretStr("")
    """Sent as X-GEWE-TOKEN on every call."""
    app_id: str = ""
    """The logged-in account's appId on the gateway. Empty on a first login: the gateway hands out a new
    appId with the login QR code, and the bot keeps it in the database and uses it from then on (the log
    says which one it kept; copy it here to pin it)."""
    listen: str = "127.0.0.1:8701"
    """host:port of the bot's webhook server."""
    callback_url: str = ""
    """The URL the gateway should call; default http://{listen}/gateway/callback."""
    welcome_on_join: bool = False
    timeout_seconds: float = Field(10.0, gt=0, le=120)
    max_body_bytes: int = Field(1_048_576, ge=1024, le=64 * 1_048_576)
    health_seconds: float = Field(300.0, ge=5, le=3600)
    """How often the bot asks the gateway whether the account is still logged in (a dropped account is
    logged, shown in the web console, and its QR login shown again)."""

    @field_validator("base_url", "callback_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not re.fullmatch(r"https?://[^\s]+", value):
            raise ValueError("an http(s):// URL")
        return value.rstrip("/")

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        found = _LISTEN.fullmatch(value)
        if not found or not 0 <= int(found["port"]) < 65536:
            raise ValueError("host:port for the webhook server, e.g. '127.0.0.1:8701'")
        return value

    @model_validator(mode="after")
    def _callback_for_a_wildcard_listen(self) -> GatewaySettings:
        if self.listen_host in ("0.0.0.0", "::") and not self.callback_url:
            raise ValueError(
                "listen on all interfaces needs callback_url: the address the gateway can reach the bot at"
            )
        return self

    @property
    def listen_host(self) -> str:
        found = _LISTEN.fullmatch(self.listen)
        assert found is not None
        return found["host"].strip("[]")

    @property
    def listen_port(self) -> int:
        found = _LISTEN.fullmatch(self.listen)
        assert found is not None
        return int(found["port"])

    @property
    def account(self) -> str:
        """The chat account this table configures, as the channel names it in the store."""
        return f"gateway:{self.app_id}"

    def missing(self) -> str:
        missing = [
            key
            for key, value in (
                ("base_url", self.base_url),
                ("token (or TUIKE_GATEWAY_TOKEN)", self.token.get_secret_value()),
            )
            if not value
        ]
        return 'kind = "gateway" needs [chat.gateway] ' + ", ".join(missing) if missing else ""


PLUGIN = ChannelPlugin(
    kind="gateway",
    settings=GatewaySettings,
    factory="bot.chat.gateway:build",
    capabilities=Capabilities(
        sends_cards=True,
        sends_images=True,
        lists_groups=True,
        has_webhook=True,
        login_health=True,
        welcome="paced",
    ),
    env={"TUIKE_GATEWAY_TOKEN": "token"},
    health="bot.chat.gateway_check:login_health",
    probe="bot.chat.gateway_check:probe",
)
