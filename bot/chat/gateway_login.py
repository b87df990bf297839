"""Logging the gateway's account in: the QR code in the terminal, a first login's appId kept in the
store, and the account's login state kept for the console. A part of `GatewayChannel`, kept apart so the
channel's own module reads as messages in and out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from sqlalchemy import Engine

from bot.chat.gateway_client import GatewayClient, GatewayError
from bot.chat.gateway_settings import DEFAULT_ACCOUNT
from bot.chat.qr import show_login_qr
from bot.store import chat_state

if TYPE_CHECKING:
    from bot.chat.gateway_settings import GatewaySettings

log = logging.getLogger("bot.chat.gateway")


class GatewayLogin:
    """Mixed into `GatewayChannel`, which holds the state below."""

    client: GatewayClient
    app_id: str
    account: str
    account_name: str
    engine: Engine | None
    terminal: TextIO | None
    login_poll_seconds: float
    self_id: str
    bot_names: set[str]
    _stopping: asyncio.Event
    _status_online: bool | None

    def _pause(self, seconds: float) -> Awaitable[None]:
        raise NotImplementedError  # GatewayChannel's

    async def _record_status(self, online: bool, why: str = "") -> None:
        """Keep the account's login state for the web console when it changes; a store that cannot take
        it costs only the console's notice, never the channel."""
        if self.engine is None or self._status_online is online:
            return
        status = chat_state.AccountStatus(online, datetime.now(UTC), why)
        try:
            await asyncio.to_thread(chat_state.put_status, self.engine, self.account, status)
        except Exception as exc:
            log.warning("gateway account %s status not stored: %s", self.app_id, type(exc).__name__)
            return
        self._status_online = online

    async def _login(self) -> None:
        """Show the gateway's login QR code in the terminal and wait until the account is logged in."""
        while not self._stopping.is_set():
            data = await self.client.call("/login/getLoginQrCode", retry=False)
            if not isinstance(data, dict) or not data.get("uuid"):
                raise GatewayError("/login/getLoginQrCode", "no QR code in the answer")
            qr, uuid = str(data.get("qrData") or ""), str(data["uuid"])
            if not self.app_id:
                given = str(data.get("appId") or "")
                if not given:
                    raise GatewayError("/login/getLoginQrCode", "no appId in the answer to a first login")
                await self._keep_app_id(given)
            show_login_qr(
                qr, "请用要当机器人的微信扫码登录网关账号 (scan with the bot's WeChat):", self.terminal
            )
            log.warning(
                "gateway account %s is not logged in: scan the QR code shown in the terminal", self.app_id
            )
            await self._record_status(False, "等待扫码登录")
            while not self._stopping.is_set():
                await self._pause(self.login_poll_seconds)
                status = await self.client.call("/login/checkLogin", {"uuid": uuid}, retry=False)
                status = status if isinstance(status, dict) else {}
                info = status.get("loginInfo") or {}
                if status.get("status") == 2 or (isinstance(info, dict) and info.get("wxid")):
                    if isinstance(info, dict):
                        self.self_id = str(info.get("wxid") or self.self_id)
                        if info.get("nickName"):
                            self.bot_names.add(str(info["nickName"]))
                    log.info("gateway account %s logged in", self.app_id)
                    return
                expires = status.get("expiredTime")
                if isinstance(expires, int | float) and expires <= 0:
                    log.info("login QR code expired; showing a new one")
                    break

    async def _keep_app_id(self, app_id: str) -> None:
        """A first login's appId, from now on this channel's: its calls, its account, and the store (the
        next start uses it while `[chat.gateway] app_id` stays empty)."""
        self.app_id = self.client.app_id = app_id
        self.account = f"gateway:{app_id}"
        if self.engine is not None:
            key = kept_app_id_key(self.account_name)
            await asyncio.to_thread(chat_state.put, self.engine, FIRST_LOGIN_ACCOUNT, key, app_id)
        log.warning(
            "gateway first login: the gateway gave account %s appId %s; kept it in the database (%s) and "
            'uses it from now on: write app_id = "%s" in its config table to pin it',
            self.account_name,
            app_id,
            "used on every start while app_id is empty"
            if self.engine is not None
            else "not stored: no database",
            app_id,
        )


FIRST_LOGIN_ACCOUNT, KEPT_APP_ID = "gateway:", "app_id"
"""Where a first login's appId is kept (`chat_state`): under the account an empty app_id names."""


def kept_app_id_key(account_name: str) -> str:
    """The `chat_state` key of a first login's appId: the single form's as it always was, a named
    account's with its name (so two accounts' first logins never share one)."""
    return KEPT_APP_ID if account_name == DEFAULT_ACCOUNT else f"{KEPT_APP_ID}:{account_name}"


def kept_app_id(settings: GatewaySettings, engine: Engine | None) -> str:
    """The configured appId, else the one a first login kept in the store ('' when none yet)."""
    if settings.app_id or engine is None:
        return settings.app_id
    return chat_state.get(engine, FIRST_LOGIN_ACCOUNT, kept_app_id_key(settings.account_name)) or ""
