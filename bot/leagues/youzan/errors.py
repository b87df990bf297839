"""What Youzan's envelopes mean for us.

Three shapes (docs/shops.md): 1.x/4.x `{"success": bool, "code", "message", "data"}`, 3.x
`{"response": …}` or `{"error_response": {"code", "msg"}}`, and the gateway's own refusals in any
version, `{"gw_err_resp": {"err_code", "err_msg"}}` (4001/4003 token invalid or expired, 4005 capability
not enabled, 4007 caller IP not whitelisted). Other codes are not public: they are recognised by their
words, and anything unknown stays a `YouzanApiError` the member hears as "稍后再试". The sandbox sends the
codes in `CODES` (chosen there where the reference is silent, with the same words).
"""

from __future__ import annotations

from bot.leagues.base import LeagueConfigError, LeagueError, LeagueUnavailable, ProductNotFound

TOKEN_CODES = frozenset({4001, 4003})

CODES = {
    "token_invalid": 4001,
    "token_expired": 4003,
    "not_enabled": 4005,
    "ip": 4007,
    "throttle": 4009,
    "parameter": 40001,
    "auth": 40010,
    "item_gone": 141500101,
    "salesman_missing": 341007204,
    "salesman_exists": 341007201,
}
"""The codes the sandbox sends (4001/4003/4005/4007 and 341007204 from public clients; the others
chosen there, [U] for the real platform: recognised by their words below)."""

_THROTTLE = ("limit", "throttl", "frequen", "限流", "频繁", "频率", "超限")
_BUSY = ("busy", "timeout", "繁忙", "系统异常", "系统错误")
_GONE = ("不存在", "已下架", "已删除", "not exist", "not found")
_EXISTS = ("已是销售员", "已经是销售员", "已存在", "already")
_TOKEN = ("access_token", "token")


def _has(text: str, words: tuple[str, ...]) -> bool:
    low = text.lower()
    return any(w in low for w in words)


class YouzanApiError(LeagueError):
    def __init__(self, api: str, code: object, message: str) -> None:
        super().__init__(f"有赞云 {api}: {code}: {message}")
        self.api = api
        self.code = code
        self.message = message


class YouzanUnavailable(LeagueUnavailable):
    """Timeouts, 5xx, malformed answers or throttling outlasted our retries."""


class YouzanGone(ProductNotFound):
    """The item is not (or no longer) in the shop: deleted or taken off sale."""


class SalesmanExists(LeagueError):
    """`salesman.account.add` for someone who already is a salesman of the shop."""


class SalesmanMissing(LeagueError):
    """A salesman call for someone who is not (or no longer) a salesman of the shop (341007204)."""


class TokenRefused(Exception):
    """The gateway refused the access token (4001/4003): ask for a new one once."""


def is_throttled(code: object, message: str) -> bool:
    return code == CODES["throttle"] or _has(message, _THROTTLE)


def is_busy(message: str) -> bool:
    return _has(message, _BUSY)


def gateway(api: str, code: object, message: str) -> Exception:
    """A `gw_err_resp` refusal: the token (retry once with a new one) or what the operator must fix."""
    if code in TOKEN_CODES or (_has(message, _TOKEN) and not is_throttled(code, message)):
        return TokenRefused(f"{code}: {message}")
    if code == CODES["not_enabled"]:
        return LeagueConfigError(
            f"有赞云 {api}: 应用没有开通这个接口的权限：在有赞云控制台 → 应用 → 接口授权里开通 ({code}: {message})"
        )
    if code == CODES["ip"]:
        return LeagueConfigError(
            f"有赞云 {api}: 本机 IP 不在应用的白名单里：在有赞云控制台加上本机出口 IP ({code}: {message})"
        )
    return classify(api, code, message)


def classify(api: str, code: object, message: str) -> LeagueError:
    """A business refusal (`error_response`, `success: false`)."""
    if code == CODES["salesman_missing"]:
        return SalesmanMissing(f"有赞云 {api}: 销售员不存在 ({code}: {message})")
    if code == CODES["salesman_exists"] or _has(message, _EXISTS):
        return SalesmanExists(f"有赞云 {api}: {message}")
    if code == CODES["item_gone"] or _has(message, _GONE):
        return YouzanGone(f"有赞店铺的商品{message or '不存在'}")
    if code == CODES["auth"]:
        return LeagueConfigError(
            f"有赞云 {api}: 应用未获这个店铺授权：确认 [shops.youzan] kdt_id 是授权给应用的店铺 ({code}: {message})"
        )
    if is_throttled(code, message):
        return YouzanUnavailable(f"有赞云 {api}: 调用太频繁 ({code}: {message})")
    return YouzanApiError(api, code, message)
