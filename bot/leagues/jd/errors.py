"""What JD's two error layers mean for us.

Layer one is the JOS gateway: `{"error_response": {"code": "…", "zh_desc": "…", "en_desc": "…"}}` for a bad
key, signature, timestamp, method or call rate. Layer two is the union API's inner result
`{"code": 200, "message": "success", …}`: any other code is a business error (403 = this API was not
applied for). The reference captured neither table in full ([U]); the codes below are the ones seen in
public clients, and anything unknown stays a plain `JdApiError` that the member hears as "稍后再试".
"""

from __future__ import annotations

from bot.leagues.base import LeagueConfigError, LeagueError, LeagueUnavailable, ProductNotFound

# Gateway codes (strings on the wire).
GATEWAY_OPERATOR_FIXES = {
    "19": "access_token 无效：检查 [leagues.jd] 的授权（联盟接口一般不需要 access_token）",
    "21": "app_key 不对：检查 [leagues.jd] app_key / TUIKE_JD_APP_KEY",
    "22": "签名不对，多半是 app_secret 错了：检查 [leagues.jd] app_secret / TUIKE_JD_APP_SECRET",
    "15": "接口名不存在：这个版本的推客用了京东没有的方法，请升级",
    "43": "时间戳超出允许范围：校准本机时间（京东只接受前后几分钟内的请求）",
}
GATEWAY_THROTTLED = frozenset({"67", "68", "69"})
"""Call-rate limits: retried with backoff, then the league is unavailable for a while. [U]"""

# Inner business codes.
INNER_OK = 200
INNER_NO_PERMISSION = 403
INNER_NOT_PROMOTABLE = frozenset({2001503, 2002211})
"""The item is not a union item / not on promotion now. [U]"""
INNER_COUPON = frozenset({2001901, 2001902, 2001903, 2001904, 2001906})
"""Coupon link refused (wrong host, used up, expired): convert again without the coupon."""
INNER_BUSY = frozenset({500, 2001000})
INNER_SITE_TYPE = frozenset({2002113})
"""common.get was given a social-media site: it wants a website/APP `siteId`. [U]"""


class JdApiError(LeagueError):
    def __init__(self, method: str, code: str | int, message: str) -> None:
        super().__init__(f"{method}: code {code}: {message}")
        self.method = method
        self.code = str(code)
        self.message = message


class JdRetriesExhausted(LeagueUnavailable):
    """Timeouts, 5xx, malformed answers or rate limits outlasted our retries."""


class JdNotPromotable(ProductNotFound):
    """The item exists but is not a JD union item, or has no commission: nothing to promote."""


class JdCouponRefused(JdApiError):
    """The coupon link in the request was refused (expired, used up, not this item's)."""


def classify_gateway(method: str, code: str, message: str) -> LeagueError:
    if code in GATEWAY_OPERATOR_FIXES:
        return LeagueConfigError(f"京东联盟 {method}: {GATEWAY_OPERATOR_FIXES[code]} (code {code})")
    if code in GATEWAY_THROTTLED:
        return JdRetriesExhausted(f"京东联盟 {method}: 调用太频繁 (code {code})")
    return JdApiError(method, code, message)


def classify_inner(method: str, code: int, message: str) -> LeagueError:
    if code == INNER_NO_PERMISSION:
        return LeagueConfigError(
            f"京东联盟没有给这个账号开通 {method} 的权限：到 union.jd.com 的「我的工具 → 我的API」申请该接口"
            f" ({message or 'no permission'}, code 403)"
        )
    if code in INNER_SITE_TYPE:
        return LeagueConfigError(
            f"京东联盟 {method}: [leagues.jd] site_id 不是网站/APP 类型的推广媒体"
            f"（社交媒体推广位请用 bysubunionid 转链） ({message}, code {code})"
        )
    if code in INNER_NOT_PROMOTABLE:
        return JdNotPromotable(f"{method}: {message} (code {code})")
    if code in INNER_COUPON:
        return JdCouponRefused(method, code, message)
    if code in INNER_BUSY:
        return JdRetriesExhausted(f"京东联盟 {method}: 服务繁忙 (code {code})")
    return JdApiError(method, code, message)
