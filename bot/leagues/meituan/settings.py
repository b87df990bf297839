"""The `[leagues.meituan]` table: 美团联盟's settings.

Light on purpose (pydantic only): loading the config reads it, and it must not import the league's client."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator, model_validator

from bot.config import LeagueTable


class MeituanLeagueSettings(LeagueTable):
    """美团联盟 over the CPS open API (`get_referral_link`, `query_coupon`, `query_order`); docs/takeout.md.

    Individual accounts are often refused by Meituan: the bot works with this league off."""

    enabled: bool = False
    sandbox: bool = True
    base_url: str = "https://media.meituan.com/cps_open/common/api/v1"
    """The API's base; each method is POSTed to `{base_url}/<method>`. With sandbox = false every call
    goes here and nowhere else."""
    app_key: str = ""
    app_secret: SecretStr = SecretStr("")
    act_ids: tuple[str, ...] = ()
    """The 活动物料 ids (media console → 活动列表) whose links a group gets; each costs one call per group
    per day. The sandbox has its own when none is set."""
    timeout_seconds: float = Field(8.0, gt=0, le=120)
    max_retries: int = Field(3, ge=0, le=10)

    @field_validator("act_ids", mode="before")
    @classmethod
    def _ids_as_strings(cls, value: object) -> object:
        if isinstance(value, list | tuple):
            return tuple(str(item) for item in value)
        return value

    @field_validator("act_ids")
    @classmethod
    def _act_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if not item.isdigit():
                raise ValueError("activity ids as numbers, e.g. [33] (美团联盟 媒体后台 → 活动列表)")
        if len(set(value)) != len(value):
            raise ValueError("each activity id once")
        return value

    @model_validator(mode="after")
    def _credentials_for_the_real_api(self) -> MeituanLeagueSettings:
        if self.enabled and not self.sandbox:
            if not (self.app_key and self.app_secret.get_secret_value()):
                raise ValueError(
                    "app_key and app_secret (or TUIKE_MEITUAN_APP_KEY / TUIKE_MEITUAN_APP_SECRET) when "
                    "sandbox = false (media.meituan.com; individual accounts are often refused: leave "
                    "enabled = false without one)"
                )
            if not self.act_ids:
                raise ValueError("act_ids (美团联盟 媒体后台 → 活动列表) when sandbox = false")
        return self
