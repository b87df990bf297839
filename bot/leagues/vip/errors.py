"""What a vop envelope's `returnCode` / `returnMessage` mean for us.

Success is `{"returnCode": "0", "result": …}`; anything else carries `returnMessage`. The only code the
public clients show is `vipapis.miss-parameter`; the codes for a bad key, a bad signature, an expired
token or throttling are not public (docs/vip.md), so they are recognised by the words of the code and
the message, and anything unknown stays a plain `VipApiError` that the member hears as "稍后再试".
The sandbox answers with the codes named in `CODES` (chosen there, the same words).
"""

from __future__ import annotations

from bot.leagues.base import LeagueConfigError, LeagueError, LeagueUnavailable, ProductNotFound

OK = "0"

CODES = {
    "app_key": "vipapis.appkey-invalid",
    "sign": "vipapis.sign-invalid",
    "timestamp": "vipapis.timestamp-invalid",
    "token": "vipapis.token-invalid",
    "method": "vipapis.method-not-exist",
    "throttle": "vipapis.request-limit",
    "busy": "vipapis.system-error",
    "parameter": "vipapis.miss-parameter",
    "goods_gone": "union.goods-not-exist",
    "pid": "union.pid-invalid",
}
"""The codes the sandbox sends ([U] for the real gateway: recognised by their words below)."""

_THROTTLE_WORDS = (
    "request-limit",
    "rate-limit",
    "ratelimit",
    "throttl",
    "frequen",
    "flow-control",
    "限流",
    "频率",
    "频繁",
)
_BUSY_WORDS = ("system-error", "system.error", "busy", "timeout", "繁忙", "系统异常", "系统错误")
_SIGN_WORDS = ("sign", "签名")
_KEY_WORDS = ("appkey", "app-key", "app_key", "app key")
_TOKEN_WORDS = ("token", "oauth", "授权")
_TIME_WORDS = ("timestamp", "时间戳")
_GONE_WORDS = (
    "goods-not-exist",
    "url-invalid",
    "链接无效",
    "已失效",
    "商品不存在",
    "已下架",
    "下架",
    "售罄",
    "不在推广",
    "非联盟",
    "不支持推广",
)
_PID_WORDS = ("pid", "chantag", "推广位")


class VipApiError(LeagueError):
    def __init__(self, method: str, code: str, message: str) -> None:
        super().__init__(f"唯品会联盟 {method}: {code}: {message}")
        self.method = method
        self.code = code
        self.message = message


class VipRetriesExhausted(LeagueUnavailable):
    """Timeouts, 5xx, malformed answers or a busy gateway outlasted our retries."""


class VipThrottled(VipRetriesExhausted):
    """The gateway kept refusing for call rate after our retries: the league cools down (degraded)."""


class VipGoodsGone(ProductNotFound):
    """The goods is not (or no longer) on the union: removed, sold out, or never promoted."""


def _has(text: str, words: tuple[str, ...]) -> bool:
    return any(w in text for w in words)


def is_throttled(code: str, message: str) -> bool:
    return _has(f"{code} {message}".lower(), _THROTTLE_WORDS)


def is_busy(code: str, message: str) -> bool:
    return _has(f"{code} {message}".lower(), _BUSY_WORDS)


def classify(method: str, code: str, message: str) -> LeagueError:
    """The error for a refused call (`returnCode` other than "0")."""
    text = f"{code} {message}".lower()
    where = f"唯品会联盟 {method}"
    if _has(text, _SIGN_WORDS):
        return LeagueConfigError(
            f"{where}: 签名不对，多半是 app_secret 错了：检查 [leagues.vip] app_secret / TUIKE_VIP_APP_SECRET "
            f"({code}: {message})"
        )
    if _has(text, _KEY_WORDS):
        return LeagueConfigError(
            f"{where}: appKey 不对或应用未启用：检查 [leagues.vip] app_key / TUIKE_VIP_APP_KEY ({code}: {message})"
        )
    if _has(text, _TOKEN_WORDS):
        return LeagueConfigError(
            f"{where}: accessToken 无效或已过期：重新授权后更新 [leagues.vip] access_token，"
            f"或清空它改用开发者自己的账号 ({code}: {message})"
        )
    if _has(text, _TIME_WORDS):
        return LeagueConfigError(f"{where}: 时间戳超出允许范围：校准本机时间 ({code}: {message})")
    if _has(text, _GONE_WORDS):
        return VipGoodsGone(f"{where}: {message or code}")
    if _has(text, _PID_WORDS) and ("invalid" in text or "不存在" in text or "无效" in text):
        return LeagueConfigError(
            f"{where}: 推广位 (chanTag) 不是这个账号的：只能用 genPid / queryPid 给出的 PID ({code}: {message})"
        )
    if is_throttled(code, message):
        return VipThrottled(f"{where}: 调用太频繁 ({code}: {message})")
    if is_busy(code, message):
        return VipRetriesExhausted(f"{where}: 服务繁忙 ({code}: {message})")
    return VipApiError(method, code, message)
