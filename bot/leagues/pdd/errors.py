"""What the PDD router's `error_response` means for us.

`{"error_response": {"error_code": N, "error_msg": "…", "sub_code": "…", "sub_msg": "…", "request_id": "…"}}`.
The reference has no code table ([U]), so errors are recognised by code where public clients agree and
by the words of the message otherwise: a signature or client_id problem is the operator's to fix, a
rate limit is retried, a PID without 备案 is an operator error that says how to register, and a goods
that left 多多进宝 is a product the member hears is gone.
"""

from __future__ import annotations

from bot.leagues.base import LeagueConfigError, LeagueError, LeagueUnavailable, ProductNotFound

REGISTER_HINT = (
    "拼多多要求推广位先完成备案（授权绑定）才能生成推广链接：运行 `tuike pdd register --group 群` 得到备案链接，"
    "用拼多多 App 打开并确认授权，再用 `tuike pdd register --group 群 --status` 查看是否已绑定"
)

SIGN_CODES = frozenset({10016, 10017})
CLIENT_CODES = frozenset({10019, 10020})
THROTTLE_CODES = frozenset({52101, 52102, 52103, 70031})
BUSY_CODES = frozenset({50000, 50001, 70000})
NOT_REGISTERED_CODES = frozenset({60107})
GOODS_GONE_CODES = frozenset({60108})


class PddApiError(LeagueError):
    def __init__(self, api: str, code: int, message: str, sub_code: str = "", sub_msg: str = "") -> None:
        detail = f"{message} / {sub_code}: {sub_msg}" if sub_code or sub_msg else message
        super().__init__(f"{api}: error_code {code}: {detail}")
        self.api = api
        self.code = code
        self.message = message
        self.sub_code = sub_code
        self.sub_msg = sub_msg


class PddRetriesExhausted(LeagueUnavailable):
    """Timeouts, 5xx, malformed answers or rate limits outlasted our retries."""


class PddNotRegistered(LeagueConfigError):
    """The PID has no 备案 for this member: links cannot be made until the operator registers it."""

    def __init__(self, api: str, pid: str, detail: str) -> None:
        super().__init__(
            f"多多进宝推广位 {pid or '(未指定)'} 还没有备案，{api} 被拒绝（{detail}）。{REGISTER_HINT}"
        )
        self.pid = pid


class PddGoodsGone(ProductNotFound):
    """The goods is no longer on 多多进宝 (off the shelf, or its promotion ended)."""


def is_throttled(code: int, text: str) -> bool:
    return code in THROTTLE_CODES or "限流" in text or "频繁" in text


def is_busy(code: int, text: str) -> bool:
    return code in BUSY_CODES or "系统繁忙" in text


def classify(api: str, code: int, message: str, sub_code: str, sub_msg: str, pid: str = "") -> LeagueError:
    text = f"{message} {sub_msg}"
    if code in NOT_REGISTERED_CODES or "备案" in text:
        return PddNotRegistered(api, pid, sub_msg or message)
    if code in SIGN_CODES or "签名" in text or "sign" in sub_code.lower():
        return LeagueConfigError(
            f"拼多多 {api}: 签名不对，多半是 client_secret 错了：检查 [leagues.pdd] client_secret / "
            f"TUIKE_PDD_CLIENT_SECRET (error_code {code})"
        )
    if code in CLIENT_CODES or "client_id" in text:
        return LeagueConfigError(
            f"拼多多 {api}: client_id 不对：检查 [leagues.pdd] client_id / TUIKE_PDD_CLIENT_ID (error_code {code})"
        )
    if "推广位" in text and ("不存在" in text or "无效" in text):
        return LeagueConfigError(
            f"拼多多 {api}: 推广位 {pid} 不存在：检查 [leagues.pdd] pid (error_code {code})"
        )
    if code in GOODS_GONE_CODES or (
        "商品" in text and any(w in text for w in ("下架", "不存在", "不在推广"))
    ):
        return PddGoodsGone(f"{api}: {sub_msg or message}")
    if is_throttled(code, text) or is_busy(code, text):
        return PddRetriesExhausted(f"拼多多 {api}: 调用太频繁或服务繁忙 (error_code {code})")
    return PddApiError(api, code, message, sub_code, sub_msg)
