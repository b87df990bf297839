"""The `[leagues.jd]` table: 京东联盟's settings.

Light on purpose (pydantic only): loading the config reads it, and it must not import the league's client."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from bot.config import LeagueTable


class JdLeagueSettings(LeagueTable):
    """京东联盟 over the JOS gateway (routerjson); ../shared/reference/league-apis.md §4.1–4.2."""

    enabled: bool = False
    sandbox: bool = True
    base_url: str = "https://api.jd.com/routerjson"
    """The full gateway URL; with sandbox = false every call goes here and nowhere else."""
    app_key: str = ""
    app_secret: SecretStr = SecretStr("")
    site_id: str = ""
    """The 推广媒体 id (网站/APP 或社交媒体) the links are made for."""
    position_id: str = ""
    """The 推广位 id; each group's links also carry the group's own subUnionId."""
    link_api: Literal["bysubunionid", "common"] = "bysubunionid"
    """`bysubunionid` (社交媒体转链, must be applied for) or `common` (网站/APP positions, needs site_id)."""
    timeout_seconds: float = Field(8.0, gt=0, le=120)
    max_retries: int = Field(3, ge=0, le=10)

    @field_validator("site_id", "position_id")
    @classmethod
    def _digits(cls, value: str) -> str:
        if value and not value.isdigit():
            raise ValueError("digits, as the 京东联盟 backend shows it (推广管理 → 推广位)")
        return value

    @model_validator(mode="after")
    def _credentials_for_the_real_gateway(self) -> JdLeagueSettings:
        if self.enabled and not self.sandbox:
            if not (self.app_key and self.app_secret.get_secret_value()):
                raise ValueError(
                    "app_key and app_secret (or TUIKE_JD_APP_KEY / TUIKE_JD_APP_SECRET) when sandbox = false"
                )
            if self.link_api == "common" and not self.site_id:
                raise ValueError("site_id (a website/APP 推广媒体) when link_api = 'common'")
        return self
