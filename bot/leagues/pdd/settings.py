"""The `[leagues.pdd]` table: 多多进宝's settings.

Light on purpose (pydantic only): loading the config reads it, and it must not import the league's client."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator, model_validator

from bot.config import LeagueTable

_PDD_PID = re.compile(r"^\d+_\d+$")


class PddLeagueSettings(LeagueTable):
    """拼多多 多多进宝 over the gw-api router; ../shared/reference/league-apis.md §4.3."""

    enabled: bool = False
    sandbox: bool = True
    base_url: str = "https://gw-api.pinduoduo.com/api/router"
    """The full gateway URL; with sandbox = false every call goes here and nowhere else."""
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    pid: str = ""
    """The operator's own 推广位 (e.g. `10326915_188461783`, registered/备案): the default identity;
    each group gets a PID of its own, made on first use."""
    timeout_seconds: float = Field(8.0, gt=0, le=120)
    max_retries: int = Field(3, ge=0, le=10)

    @field_validator("pid")
    @classmethod
    def _pid_shape(cls, value: str) -> str:
        if value and not _PDD_PID.match(value):
            raise ValueError("a PID such as '10326915_188461783' (多多进宝 → 推广位管理)")
        return value

    @model_validator(mode="after")
    def _credentials_for_the_real_gateway(self) -> PddLeagueSettings:
        if self.enabled and not self.sandbox:
            if not (self.client_id and self.client_secret.get_secret_value()):
                raise ValueError(
                    "client_id and client_secret (or TUIKE_PDD_CLIENT_ID / TUIKE_PDD_CLIENT_SECRET) "
                    "when sandbox = false"
                )
            if not self.pid:
                raise ValueError("pid (e.g. 10326915_188461783) when sandbox = false")
        return self
