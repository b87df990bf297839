"""The `[leagues.union]` table: the mini-program union's settings.

Light on purpose (pydantic only): loading the config reads it, and it must not import the league's client."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from bot.config import LeagueTable


class UnionLeagueSettings(LeagueTable):
    """The WeChat mini-program union (小程序联盟 推客); ../shared/reference/league-apis.md §2.

    Same base URL and token endpoints as Channels, but the promoter account's own appid/secret.
    """

    enabled: bool = False
    sandbox: bool = True
    base_url: str = "https://api.weixin.qq.com"
    """Token endpoints and /union/promoter/* are under it; with sandbox = false, the only host called."""
    appid: str = ""
    secret: SecretStr = SecretStr("")
    token_mode: Literal["stable", "classic"] = "stable"
    timeout_seconds: float = Field(8.0, gt=0, le=120)
    max_retries: int = Field(3, ge=0, le=10)

    @model_validator(mode="after")
    def _credentials_for_the_real_api(self) -> UnionLeagueSettings:
        if self.enabled and not self.sandbox and not (self.appid and self.secret.get_secret_value()):
            raise ValueError(
                "appid and secret of the 联盟推客 account (or TUIKE_UNION_APPID / TUIKE_UNION_SECRET) "
                "when sandbox = false"
            )
        return self
