"""WeChat errcodes and what each means for us.

The Channels league and the mini-program union share WeChat's errcode envelope and token endpoints but
each has its own appid/secret, so an operator message names the config section (and env vars) of the
league whose credential is wrong.
"""

from __future__ import annotations

from bot.leagues.base import LeagueConfigError, LeagueError, LeagueUnavailable, ProductNotFound
from bot.leagues.base import QuotaExhausted as BaseQuotaExhausted
from bot.leagues.http import ResponseTooLarge as ResponseTooLarge

TOKEN_STALE = frozenset({40001, 42001})
RETRYABLE = frozenset({-1, 45011})
QUOTA = 45009
NOT_FOUND = frozenset({10024004, 10024006})

OPERATOR_FIXES = {
    40013: "appid 不对 (invalid appid): check [leagues.{league}] appid",
    40125: "secret 不对 (invalid appsecret): check [leagues.{league}] secret / TUIKE_{LEAGUE}_SECRET",
    40164: "本机 IP 不在白名单 (IP not whitelisted): add this server's IP in the WeChat backend",
    45035: "本机 IP 不在小店白名单 (IP not whitelisted in the Channels shop backend)",
    61004: "本机 IP 不在白名单 (IP not whitelisted)",
    48001: "接口未授权 (API not authorised): apply for this API in the WeChat backend",
}
"""Errcodes only the operator can fix; `{league}` / `{LEAGUE}` name the config section and env vars."""

LEAGUE_FIXES: dict[str, dict[int, str]] = {
    "union": {
        48001: (
            "接口未授权：[leagues.union] appid {appid} 的 access_token 没有小程序联盟推客接口权限 "
            "(48001 api unauthorized)。[leagues.union] appid/secret "
            "(TUIKE_UNION_APPID / TUIKE_UNION_SECRET) 要填联盟推客账号自己的，"
            "不是视频号机构 [leagues.channels] 的"
        ),
    },
}
"""Per-league wording where the generic one would send the operator to the wrong place."""


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


def operator_fix(errcode: int, league: str = "channels", appid: str = "") -> str | None:
    """What the operator must change for this errcode, naming the league's credential; None if not theirs."""
    text = LEAGUE_FIXES.get(league, {}).get(errcode) or OPERATOR_FIXES.get(errcode)
    if text is None:
        return None
    return text.format(league=league, LEAGUE=league.upper(), appid=appid or "(未填)")


def classify(path: str, errcode: int, errmsg: str, league: str = "channels", appid: str = "") -> LeagueError:
    fix = operator_fix(errcode, league, appid)
    if fix is not None:
        return LeagueConfigError(f"{path}: {fix} (errcode {errcode})")
    if errcode in NOT_FOUND:
        return ProductNotFound(f"{path}: {errmsg}")
    if errcode == QUOTA:
        return QuotaExhausted(f"{path}: daily quota used up (45009)")
    return WechatApiError(path, errcode, errmsg)
