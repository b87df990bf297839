"""The `[leagues.channels]` table: the WeChat Channels 推客 league's settings.

Light on purpose (pydantic only): loading the config reads it, and it must not import the league's client."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from bot.config import LeagueTable, Section


class Talent(Section):
    """A followed 带货达人: the appid the API wants and the name members see (never the appid)."""

    appid: str = Field(min_length=1)
    name: str = ""
    openfinderid: str = ""
    """What the window (橱窗) APIs name the talent by, from the window authorisation; empty: its
    window is not read."""


class ChannelsLeagueSettings(LeagueTable):
    enabled: bool = True
    sandbox: bool = True
    sandbox_port: int = Field(0, ge=0, le=65535)
    sandbox_latency_ms: int = Field(0, ge=0, le=60_000)
    sandbox_error_rate: float = Field(0.0, ge=0.0, le=1.0)
    sandbox_token_lifetime: int = Field(7200, ge=60, le=7200)
    base_url: str = "https://api.weixin.qq.com"
    appid: str = ""
    secret: SecretStr = SecretStr("")
    token_mode: Literal["stable", "classic"] = "stable"
    sharer_appid: str = ""
    mini_program_appid: str = ""
    head_supplier_appid: str = ""
    talents: tuple[Talent, ...] = ()
    """`"wx…"` or `{ appid = "wx…", name = "小鹿爱好物" }`: a talent without a name is never shown by appid."""
    timeout_seconds: float = Field(8.0, gt=0, le=120)
    max_retries: int = Field(3, ge=0, le=10)

    @field_validator("talents", mode="before")
    @classmethod
    def _talent_from_a_bare_appid(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [{"appid": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _credentials_for_the_real_api(self) -> ChannelsLeagueSettings:
        if self.enabled and not self.sandbox and not (self.appid and self.secret.get_secret_value()):
            raise ValueError(
                "appid and secret (or TUIKE_CHANNELS_APPID / TUIKE_CHANNELS_SECRET) when sandbox = false"
            )
        return self
