"""The `[leagues.taobao]` table: 淘宝联盟's settings.

Light on purpose (pydantic only): loading the config reads it, and it must not import the league's client."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from bot.config import LeagueTable

_TAOBAO_PID = re.compile(r"^mm_\d+_\d+_\d+$")


class TaobaoLeagueSettings(LeagueTable):
    """淘宝联盟 over the Taobao Open Platform (TOP) gateway; ../shared/reference/league-apis.md §3."""

    enabled: bool = False
    sandbox: bool = True
    base_url: str = "https://eco.taobao.com/router/rest"
    """The full gateway URL; with sandbox = false every call goes here and nowhere else."""
    app_key: str = ""
    app_secret: SecretStr = SecretStr("")
    sign_method: Literal["md5", "hmac", "hmac-sha256"] = "hmac-sha256"
    pid: str = ""
    """The operator's PID `mm_<member>_<site>_<adzone>`: the default identity."""
    session: SecretStr = SecretStr("")
    """Only for APIs marked 需要授权 (the sc.* family); the dg.* methods used here do not need it."""
    adzones: tuple[str, ...] = ()
    """Per-group 推广位 (adzone ids under the PID's member and site): each group takes one, once."""
    timeout_seconds: float = Field(8.0, gt=0, le=120)
    max_retries: int = Field(3, ge=0, le=10)

    @field_validator("pid")
    @classmethod
    def _pid_shape(cls, value: str) -> str:
        if value and not _TAOBAO_PID.match(value):
            raise ValueError("a PID such as 'mm_123456789_2233445_110987654321' (淘宝联盟 → 推广位)")
        return value

    @field_validator("adzones")
    @classmethod
    def _adzone_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if not str(item).isdigit():
                raise ValueError("adzone ids as strings of digits, e.g. ['110987654322', '110987654323']")
        if len(set(value)) != len(value):
            raise ValueError("each adzone id once")
        return value

    @model_validator(mode="after")
    def _credentials_for_the_real_gateway(self) -> TaobaoLeagueSettings:
        if self.enabled and not self.sandbox:
            if not (self.app_key and self.app_secret.get_secret_value()):
                raise ValueError(
                    "app_key and app_secret (or TUIKE_TAOBAO_APP_KEY / TUIKE_TAOBAO_APP_SECRET) "
                    "when sandbox = false"
                )
            if not self.pid:
                raise ValueError("pid (mm_<member>_<site>_<adzone>) when sandbox = false")
        return self
