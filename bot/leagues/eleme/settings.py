"""The `[leagues.eleme]` table: 饿了么's settings.

Light on purpose (pydantic only): loading the config reads it, and it must not import the league's client."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from bot.config import LeagueTable

_PID = re.compile(r"^(alsc|mm)_\d+_\d+_\d+$")

TAKEOUT = "20150318019998877"
"""饿了么外卖: the official activity the group's 外卖 answer carries by default."""
OFFICIAL_ACTIVITIES = {
    TAKEOUT: "饿了么外卖",
    "20150318020002192": "饿了么微信推广",
    "1585018034441": "饿了么商超",
}
"""The official activities (ids as strings: 20150318019998877 is above 2^53)."""


class ElemeLeagueSettings(LeagueTable):
    """饿了么 through the TOP gateway's alsc methods; docs/takeout.md."""

    enabled: bool = False
    sandbox: bool = True
    base_url: str = "https://eco.taobao.com/router/rest"
    """The full TOP gateway URL; with sandbox = false every call goes here and nowhere else."""
    app_key: str = ""
    app_secret: SecretStr = SecretStr("")
    sign_method: Literal["md5", "hmac", "hmac-sha256"] = "hmac-sha256"
    pid: str = ""
    """The 渠道 PID from the Ele.me union's 推广位 (`alsc_<media>_<site>_<zone>`, or an `mm_…` PID)."""
    activity_ids: tuple[str, ...] = (TAKEOUT,)
    """The activities whose links a group gets; each one costs one call per group per day."""
    timeout_seconds: float = Field(8.0, gt=0, le=120)
    max_retries: int = Field(3, ge=0, le=10)

    @field_validator("pid")
    @classmethod
    def _pid_shape(cls, value: str) -> str:
        if value and not _PID.match(value):
            raise ValueError("a PID such as 'alsc_123_456_789' (饿了么联盟 → 推广位) or 'mm_1_2_3'")
        return value

    @field_validator("activity_ids", mode="before")
    @classmethod
    def _ids_as_strings(cls, value: object) -> object:
        if isinstance(value, list | tuple):
            return tuple(str(item) for item in value)
        return value

    @field_validator("activity_ids")
    @classmethod
    def _activity_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one activity id, e.g. ['20150318019998877'] (饿了么外卖)")
        for item in value:
            if not item.isdigit():
                raise ValueError("activity ids as strings of digits, e.g. ['20150318019998877']")
        if len(set(value)) != len(value):
            raise ValueError("each activity id once")
        return value

    @model_validator(mode="after")
    def _credentials_for_the_real_gateway(self) -> ElemeLeagueSettings:
        if self.enabled and not self.sandbox:
            if not (self.app_key and self.app_secret.get_secret_value()):
                raise ValueError(
                    "app_key and app_secret (or TUIKE_ELEME_APP_KEY / TUIKE_ELEME_APP_SECRET) when sandbox = false"
                )
            if not self.pid:
                raise ValueError("pid (饿了么联盟 推广位, alsc_<media>_<site>_<zone>) when sandbox = false")
        return self
