"""The TOP error envelope (`error_response`: code, msg, sub_code, sub_msg) mapped to our error types.

Reference §3.1: codes below 100 are the platform's; `isp.*` sub_codes are the server's trouble (retry),
`isv.*` the caller's. Throttling is code 7 or a sub_code that says "limit"; it is retried with backoff
and then reported as `Throttled`, which the league answers from cache (degraded mode).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.leagues.base import LeagueConfigError, LeagueError, LeagueUnavailable, ProductNotFound

THROTTLED = 7
INVALID_METHOD = frozenset({21, 22})

OPERATOR_FIXES = {
    11: "接口权限不足 (Insufficient ISV Permissions): apply for this API in the TOP console",
    25: "签名不对 (Invalid Signature): check [leagues.taobao] app_secret and sign_method",
    26: "session 缺失 (Missing Session): set [leagues.taobao] session for this API",
    27: "session 无效或过期 (Invalid Session): authorise the app again and update [leagues.taobao] session",
    28: "缺少 app_key (Missing App Key): set [leagues.taobao] app_key / TUIKE_TAOBAO_APP_KEY",
    29: "app_key 不存在 (Invalid App Key): check [leagues.taobao] app_key / TUIKE_TAOBAO_APP_KEY",
    30: "时间戳缺失 (Missing Timestamp)",
    31: "时间戳不对 (Invalid Timestamp): TOP accepts ±10 min; set this server's clock right",
}
_NOT_FOUND_HINTS = ("item-not-exist", "item-not-found", "item_not_found", "商品不存在", "商品已下架")


@dataclass(frozen=True, slots=True)
class TopFault:
    code: int
    msg: str
    sub_code: str = ""
    sub_msg: str = ""

    @classmethod
    def of(cls, envelope: dict[str, Any]) -> TopFault:
        try:
            code = int(envelope.get("code", -1))
        except (TypeError, ValueError):
            code = -1
        return cls(
            code,
            str(envelope.get("msg", "")),
            str(envelope.get("sub_code", "")),
            str(envelope.get("sub_msg", "")),
        )

    def __str__(self) -> str:
        sub = f" {self.sub_code}: {self.sub_msg}" if self.sub_code or self.sub_msg else ""
        return f"code {self.code} {self.msg}{sub}"

    @property
    def throttled(self) -> bool:
        sub = self.sub_code.lower()
        return self.code == THROTTLED or sub.endswith("-limit") or "limited" in sub or "call-limited" in sub

    @property
    def transient(self) -> bool:
        """The gateway's or the service's own trouble: worth another try."""
        return self.sub_code.startswith("isp.") or (
            self.code in (15, 520) and not self.sub_code.startswith("isv.")
        )


class TopApiError(LeagueError):
    def __init__(self, method: str, fault: TopFault) -> None:
        super().__init__(f"{method}: {fault}")
        self.method = method
        self.fault = fault


class Throttled(LeagueUnavailable):
    """TOP kept saying "App Call Limited" through every retry: back off and serve from cache."""


class RetriesExhausted(LeagueUnavailable):
    """Timeouts, 5xx or `isp.*` faults outlasted the retries."""


def classify(method: str, fault: TopFault) -> LeagueError:
    if fault.code in OPERATOR_FIXES:
        return LeagueConfigError(f"{method}: {OPERATOR_FIXES[fault.code]} (TOP code {fault.code})")
    if fault.sub_code.startswith("isv.permission") or "permission" in fault.sub_code:
        return LeagueConfigError(f"{method}: 接口未授权 ({fault}): apply for this API in the TOP console")
    text = f"{fault.sub_code} {fault.sub_msg} {fault.msg}".lower()
    if any(hint in text for hint in _NOT_FOUND_HINTS):
        return ProductNotFound(f"{method}: {fault}")
    if fault.throttled:
        return Throttled(f"{method}: throttled ({fault})")
    return TopApiError(method, fault)
