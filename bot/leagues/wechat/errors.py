"""WeChat errcodes and what each means for us."""

from __future__ import annotations

from bot.leagues.base import LeagueConfigError, LeagueError, LeagueUnavailable, ProductNotFound
from bot.leagues.base import QuotaExhausted as BaseQuotaExhausted
from bot.leagues.http import ResponseTooLarge as ResponseTooLarge

TOKEN_STALE = frozenset({40001, 42001})
RETRYABLE = frozenset({-1, 45011})
QUOTA = 45009
NOT_FOUND = frozenset({10024004, 10024006})

OPERATOR_FIXES = {
    40013: "appid 不对 (invalid appid): check [leagues.channels] appid",
    40125: "secret 不对 (invalid appsecret): check [leagues.channels] secret / TUIKE_CHANNELS_SECRET",
    40164: "本机 IP 不在白名单 (IP not whitelisted): add this server's IP in the WeChat backend",
    45035: "本机 IP 不在小店白名单 (IP not whitelisted in the Channels shop backend)",
    61004: "本机 IP 不在白名单 (IP not whitelisted)",
    48001: "接口未授权 (API not authorised): apply for this API in the WeChat backend",
}


class WechatApiError(LeagueError):
    def __init__(self, path: str, errcode: int, errmsg: str) -> None:
        super().__init__(f"{path}: errcode {errcode}: {errmsg}")
        self.path = path
        self.errcode = errcode
        self.errmsg = errmsg


class RetriesExhausted(LeagueUnavailable):
    """A transient fault (timeout, 5xx, -1, 45011) outlasted our retries."""


class QuotaExhausted(BaseQuotaExhausted):
    """Daily quota (45009) used up: serve from cache until it resets."""


def classify(path: str, errcode: int, errmsg: str) -> LeagueError:
    if errcode in OPERATOR_FIXES:
        return LeagueConfigError(f"{path}: {OPERATOR_FIXES[errcode]} (errcode {errcode})")
    if errcode in NOT_FOUND:
        return ProductNotFound(f"{path}: {errmsg}")
    if errcode == QUOTA:
        return QuotaExhausted(f"{path}: daily quota used up (45009)")
    return WechatApiError(path, errcode, errmsg)
