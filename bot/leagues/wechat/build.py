"""`build_channels`: the Channels league from its settings (the sandbox's URL when it serves it)."""

from __future__ import annotations

from sqlalchemy import Engine

from bot.config import Settings
from bot.leagues.answers import StoredAnswers
from bot.leagues.base import Spot
from bot.leagues.wechat.client import ChannelsClient
from bot.leagues.wechat.league import ChannelsLeague

SANDBOX_APPID = "wx_sandbox_org"
SANDBOX_SHARER = "wx_sharer_demo01"


def channels_spot(settings: Settings) -> Spot:
    channels = settings.leagues.channels
    return Spot(
        "channels", sharer_appid=channels.sharer_appid or (SANDBOX_SHARER if channels.sandbox else "")
    )


def build_channels(settings: Settings, sandbox_base_url: str | None, engine: Engine | None) -> ChannelsLeague:
    channels = settings.leagues.channels
    base_url, appid, secret = channels.base_url, channels.appid, channels.secret.get_secret_value()
    if sandbox_base_url is not None:
        base_url, appid, secret = sandbox_base_url, appid or SANDBOX_APPID, secret or "sandbox"
    client = ChannelsClient(
        base_url,
        appid,
        secret,
        token_mode=channels.token_mode,
        # The sandbox forgets its tokens when the process ends: a stored one would only be refused
        # (a spurious "token refused (40001)" on every start).
        engine=None if sandbox_base_url is not None else engine,
        timeout=channels.timeout_seconds,
        max_retries=channels.max_retries,
    )
    return ChannelsLeague(
        client,
        mini_program_appid=channels.mini_program_appid or ("wx_sandbox_mp" if channels.sandbox else ""),
        talent_names={t.appid: t.name for t in channels.talents if t.name},
        talent_finders={t.appid: t.openfinderid for t in channels.talents if t.openfinderid},
        followed_talents=[t.appid for t in channels.talents],
        answers=StoredAnswers(engine, "channels"),
    )
