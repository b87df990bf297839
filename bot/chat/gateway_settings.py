"""The iPad-protocol gateway channel's `[chat.gateway]` table, its plug-in, and its login health.

Light on purpose (pydantic only): the config loader reads it; bot/chat/gateway.py (httpx, Starlette)
is imported only when the channel is built.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, field_validator, model_validator

from bot.chat.plugin import Capabilities, ChannelPlugin, ChannelSection

_LISTEN = re.compile(r"(?P<host>[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:]+\]):(?P<port>\d{1,5})")

DEFAULT_ACCOUNT = "default"
"""The account the single `app_id`/`token` form configures."""
ACCOUNT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
"""An account name: it is a path segment of its webhook route and of the `{account}` placeholder."""
PLACEHOLDERS = ("replica", "account")
"""What `callback_url` may contain in braces: `{replica}` (this replica's id), `{account}` (the name)."""
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
CALLBACK_PATH = "/gateway/callback"
"""The webhook's path when `callback_url` is not set; a named account's is CALLBACK_PATH/<name>."""


def fill_callback(template: str, *, replica: str, account: str) -> str:
    """`callback_url` with `{replica}` and `{account}` replaced (each percent-encoded for a URL)."""
    return template.replace("{replica}", quote(replica, safe="")).replace(
        "{account}", quote(account, safe="")
    )


class GatewayAccount(BaseModel):
    """One `[[chat.gateway.accounts]]` table: a WeChat account on the shared gateway."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    """Names the account in the config, its webhook route (/gateway/callback/<name>) and `{account}`."""
    app_id: str = ""
    """Its appId on the gateway (empty: a first login gets one and keeps it, as in the single form)."""
    token: SecretStr = SecretStr("")
    """Its X-GEWE-TOKEN; empty: the shared `[chat.gateway] token`."""

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if not ACCOUNT_NAME.fullmatch(value):
            raise ValueError(
                "账号名只能用字母、数字、- 和 _，以字母或数字开头，最多 32 个字符 "
                "(a name safe in a URL path, e.g. 'sales-1')"
            )
        return value


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
    accounts: tuple[GatewayAccount, ...] = ()
    """Several accounts on the one gateway (`[[chat.gateway.accounts]]`), each with its name, app_id and
    token; the other keys hold for all of them. Empty: the single `app_id`/`token` form, one account
    named "default"."""
    _account_name: str = PrivateAttr(DEFAULT_ACCOUNT)

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

    @field_validator("callback_url")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        unknown = [name for name in _PLACEHOLDER.findall(value) if name not in PLACEHOLDERS]
        if unknown:
            raise ValueError(
                f"callback_url 里只能用 {{replica}} 和 {{account}}，不认识 {{{unknown[0]}}} "
                "(only the placeholders {replica} and {account})"
            )
        return value

    @model_validator(mode="after")
    def _several_accounts(self) -> GatewaySettings:
        if not self.accounts:
            return self
        if self.app_id:
            raise ValueError(
                "app_id 要写在各个 [[chat.gateway.accounts]] 里，不能和多账号写法同时出现在 [chat.gateway] "
                "(with [[chat.gateway.accounts]], each account's app_id goes in its own table)"
            )
        names = [a.name for a in self.accounts]
        twice = next((n for n in names if names.count(n) > 1), None)
        if twice is not None:
            raise ValueError(f"账号名 {twice!r} 用了两次：每个账号的 name 要不同 (each account name once)")
        app_ids = [a.app_id for a in self.accounts if a.app_id]
        shared = next((a for a in app_ids if app_ids.count(a) > 1), None)
        if shared is not None:
            raise ValueError(
                f"app_id {shared!r} 写在了两个账号里：一个 appId 只能是一个账号 (each app_id in one account only)"
            )
        empty = [a.name for a in self.accounts if not a.app_id]
        if len(empty) > 1:
            raise ValueError(
                f"账号 {empty[0]!r} 和 {empty[1]!r} 都没有 app_id：第一次登录一次只能有一个账号 "
                "(only one account at a time may be without app_id, for its first login)"
            )
        if len(self.accounts) > 1 and self.callback_url and "{account}" not in self.callback_url:
            raise ValueError(
                "几个账号共用 callback_url 时，地址里要有 {account}，每个账号才有自己的回调地址 "
                "(with several accounts callback_url must contain {account})"
            )
        return self

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

    @property
    def account_name(self) -> str:
        """The account's name in the config ("default" for the single form)."""
        return self._account_name

    def per_account(self) -> tuple[GatewaySettings, ...]:
        """Each account as a table of the single form (its app_id and token, the shared keys), named."""
        if not self.accounts:
            return (self,)
        tables = []
        for account in self.accounts:
            token = account.token if account.token.get_secret_value() else self.token
            table = self.model_copy(update={"app_id": account.app_id, "token": token, "accounts": ()})
            table._account_name = account.name
            tables.append(table)
        return tuple(tables)

    def missing(self) -> str:
        if self.accounts:
            lacking = [t.account_name for t in self.per_account() if not t.token.get_secret_value()]
            if lacking or not self.base_url:
                what = ["base_url"] if not self.base_url else []
                what += [f"账号 {name!r} 的 token" for name in lacking]
                return (
                    'kind = "gateway" 还缺 [chat.gateway] '
                    + "、".join(what)
                    + (
                        " (missing; an account without its own token takes [chat.gateway] token "
                        "or TUIKE_GATEWAY_TOKEN)"
                    )
                )
            return ""
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
