"""Access tokens: cached in memory and in the store, refreshed ahead of expiry, one refresh at a time.

The token endpoints have a daily cap, so a restart reuses the stored token and a crowd of callers
waiting on an expired one causes exactly one refresh (single flight).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot import redact
from bot.leagues.wechat.errors import classify
from bot.store.models import LeagueToken

log = logging.getLogger(__name__)

REFRESH_AHEAD = timedelta(minutes=5)

Fetch = Callable[[str, str, dict[str, Any] | None, dict[str, str] | None], Awaitable[dict[str, Any]]]
"""(method, path, json body, query) → decoded JSON; raises on transport trouble."""


def _now() -> datetime:
    return datetime.now(UTC)


class TokenManager:
    def __init__(
        self,
        fetch: Fetch,
        appid: str,
        secret: str,
        *,
        mode: Literal["stable", "classic"] = "stable",
        engine: Engine | None = None,
        league: str = "channels",
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._fetch = fetch
        self.appid = appid
        self._secret = secret
        self.mode = mode
        self.engine = engine
        self.league = league
        self.clock = clock
        self._token: str | None = None
        self._expires = datetime.min.replace(tzinfo=UTC)
        self._refreshing: asyncio.Task[str] | None = None
        self._loaded = False
        self.requests = 0
        """Token endpoint calls made by this process (for the bench and for tests)."""

    def __repr__(self) -> str:  # never show the secret or the token
        return f"TokenManager(appid={self.appid!r}, mode={self.mode!r})"

    async def token(self) -> str:
        if not self._loaded:
            self._loaded = True
            await self._load()
        if self._token and self.clock() < self._expires - REFRESH_AHEAD:
            return self._token
        return await self.refresh(stale=None)

    async def refresh(self, stale: str | None) -> str:
        """A fresh token; `stale` is the one that was just refused (no refresh if it was already replaced)."""
        if stale is not None and self._token is not None and stale != self._token:
            return self._token
        if self._refreshing is None:
            self._refreshing = asyncio.ensure_future(self._request(force=stale is not None))
            self._refreshing.add_done_callback(lambda _task: setattr(self, "_refreshing", None))
        return await asyncio.shield(self._refreshing)

    async def _request(self, force: bool) -> str:
        self.requests += 1
        if self.mode == "stable":
            body: dict[str, Any] = {
                "grant_type": "client_credential",
                "appid": self.appid,
                "secret": self._secret,
            }
            if force:
                body["force_refresh"] = True
            data = await self._fetch("POST", "/cgi-bin/stable_token", body, None)
        else:
            query = {"grant_type": "client_credential", "appid": self.appid, "secret": self._secret}
            data = await self._fetch("GET", "/cgi-bin/token", None, query)
        errcode = int(data.get("errcode", 0) or 0)
        if errcode or "access_token" not in data:
            raise classify(
                "token",
                errcode,
                str(data.get("errmsg", "no access_token in response")),
                league=self.league,
                appid=self.appid,
            )
        self._token = str(data["access_token"])
        redact.register(self._token)
        self._expires = self.clock() + timedelta(seconds=int(data.get("expires_in", 7200)))
        log.info(
            "new %s access token for %s, valid until %s", self.mode, self.appid, self._expires.isoformat()
        )
        await self._save()
        return self._token

    async def _load(self) -> None:
        if self.engine is None:
            return
        engine = self.engine

        def read() -> LeagueToken | None:
            with Session(engine) as session:
                statement = select(LeagueToken).where(
                    LeagueToken.league == self.league,
                    LeagueToken.appid == self.appid,
                    LeagueToken.mode == self.mode,
                )
                return session.exec(statement).first()

        row = await asyncio.to_thread(read)
        if row is not None and row.expires_at > self.clock():
            self._token, self._expires = row.token, row.expires_at
            redact.register(row.token)

    async def _save(self) -> None:
        if self.engine is None or self._token is None:
            return
        engine, token, expires = self.engine, self._token, self._expires

        def write() -> None:
            with Session(engine) as session:
                statement = select(LeagueToken).where(
                    LeagueToken.league == self.league,
                    LeagueToken.appid == self.appid,
                    LeagueToken.mode == self.mode,
                )
                row = session.exec(statement).first() or LeagueToken(
                    league=self.league, appid=self.appid, mode=self.mode, token=token, expires_at=expires
                )
                row.token, row.expires_at = token, expires
                session.add(row)
                try:
                    session.commit()
                except IntegrityError:
                    session.rollback()

        await asyncio.to_thread(write)
