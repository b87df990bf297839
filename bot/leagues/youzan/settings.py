"""The `[shops.youzan]` table: the operator's Youzan shop (有赞云 self-use app).

Light on purpose (pydantic only): loading the config reads it, and it must not import the client."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator, model_validator

from bot.config import LeagueTable


class YouzanShopSettings(LeagueTable):
    """有赞云 self-use app (自用型) acting for one shop; docs/shops.md."""

    enabled: bool = False
    sandbox: bool = True
    base_url: str = "https://open.youzanyun.com"
    """The open platform: tokens from `/auth/token`, calls to `/api/{name}/{version}`; with
    sandbox = false every call goes here and nowhere else."""
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    kdt_id: str = ""
    """The shop's id (店铺 ID, `kdt_id`): the `grant_id` of the silent token."""
    margin_percent: int = Field(0, ge=0, le=100)
    """The operator's margin shown as a product's commission (own goods pay no affiliate commission);
    what a group's salesman earns on an order comes back with the order."""

    @field_validator("kdt_id")
    @classmethod
    def _digits(cls, value: str) -> str:
        if value and not value.strip().isdigit():
            raise ValueError("the shop's numeric id (有赞后台 → 设置 → 店铺信息 → 店铺 ID)")
        return value.strip()

    @model_validator(mode="after")
    def _credentials_for_the_real_platform(self) -> YouzanShopSettings:
        complete = self.client_id and self.client_secret.get_secret_value() and self.kdt_id
        if self.enabled and not self.sandbox and not complete:
            raise ValueError(
                "client_id, client_secret and kdt_id (or TUIKE_YOUZAN_CLIENT_ID / "
                "TUIKE_YOUZAN_CLIENT_SECRET) when sandbox = false (有赞云控制台 → 应用管理)"
            )
        return self
