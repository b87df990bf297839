"""The `[leagues.vip]` table: 唯品会联盟's settings.

Light on purpose (pydantic only): loading the config reads it, and it must not import the league's client."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from bot.config import LeagueTable


class VipLeagueSettings(LeagueTable):
    """唯品会联盟 over the vop gateway (`com.vip.adp.api.open.service.*`); docs/vip.md."""

    enabled: bool = False
    sandbox: bool = True
    base_url: str = "https://vop.vipapis.com"
    """The gateway (calls are POSTed to its root); with sandbox = false every call goes here and nowhere
    else. `https://gw.vipapis.com` is the same gateway under the name most SDKs use."""
    app_key: str = ""
    app_secret: SecretStr = SecretStr("")
    access_token: SecretStr = SecretStr("")
    """Only for acting for an authorised union user (the `*WithOauth` methods); usually empty."""
    timeout_seconds: float = Field(8.0, gt=0, le=120)
    max_retries: int = Field(3, ge=0, le=10)

    @model_validator(mode="after")
    def _credentials_for_the_real_gateway(self) -> VipLeagueSettings:
        if self.enabled and not self.sandbox and not (self.app_key and self.app_secret.get_secret_value()):
            raise ValueError(
                "app_key and app_secret (or TUIKE_VIP_APP_KEY / TUIKE_VIP_APP_SECRET) when sandbox = false "
                "(vop.vip.com → 应用管理)"
            )
        return self
