"""The sandbox's Ele.me face: the alsc methods on the sandbox's TOP gateway (`/router/rest`).

Ele.me is reached through the same gateway as Taobao, so this face does not answer HTTP itself: it
mounts its two methods on the `TopFace` (`top_gateway`), which checks the app key, timestamp and
signature exactly as for Taobao's methods (with the Taobao league's own `verify`) and wraps the answer
in `<method with dots as underscores>_response`.

* `alibaba.alsc.union.eleme.promotion.officialactivity.get`: one `query_request` JSON string (40 without
  it, 41 when it is no JSON object); links that encode (pid, activity, sid), a mini-program path; an
  unknown activity or one in `ended` answers a non-zero `result_code`; a sid outside `[A-Za-z0-9_-]{1,50}`
  or in `refused_sids` is refused (15 `isv.invalid-parameter:sid`).
* `alibaba.alsc.union.kbcpx.positive.order.get`: orders by time window (at most 31 days), 50 a page,
  pages 1–50. A link issued with a sid gets one order a minute later; tests add more (`add_order`).
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from bot.leagues.eleme.sandbox_account import SANDBOX_APP_KEY, SANDBOX_APP_SECRET
from tuike_sandbox.catalogue import Catalogue
from tuike_sandbox.top_face import TopError, TopFace

GMT8 = timezone(timedelta(hours=8))
B62 = string.digits + string.ascii_letters
OFFICIAL_ACTIVITY = "alibaba.alsc.union.eleme.promotion.officialactivity.get"
ORDERS = "alibaba.alsc.union.kbcpx.positive.order.get"
ACTIVITIES = {
    "20150318019998877": ("饿了么外卖 · 天天领红包", "每天可领，最高立减 20 元"),
    "20150318020002192": ("饿了么微信专享红包", "微信里打开，领大额红包"),
    "1585018034441": ("饿了么商超 · 超市便利红包", "买菜买水果，30 分钟送达"),
}
SID = re.compile(r"^[A-Za-z0-9_-]{1,50}$")
PID = re.compile(r"^(alsc|mm)_\d+_\d+_\d+$")
MAX_WINDOW = timedelta(days=31)
TIME = "%Y-%m-%d %H:%M:%S"


def _code(seed: str, length: int = 8) -> str:
    value = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    out = []
    for _ in range(length):
        value, rem = divmod(value, 62)
        out.append(B62[rem])
    return "".join(out)


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


@dataclass
class ElemeLink:
    code: str
    activity_id: str
    pid: str
    sid: str
    at: datetime


@dataclass
class ElemeOrder:
    biz_order_id: str
    activity_id: str
    pid: str
    sid: str
    pay_fen: int
    commission_fen: int
    order_state: int
    settle_state: int
    created: datetime
    modified: datetime
    shop_name: str = "沙箱麻辣烫（科技园店）"


class ElemeFace:
    """Ele.me's methods and state; `mount` puts them on a `TopFace`."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.started = clock()
        self.calls: Counter[str] = Counter()
        self.queries: list[dict[str, Any]] = []
        """Every `query_request` as sent (decoded), for tests to see the sid each group's link asked for."""
        self.issued: dict[str, ElemeLink] = {}
        self.orders: list[ElemeOrder] = []
        self.ended: set[str] = set()
        """Activities that are over: a non-zero `result_code`."""
        self.refused_sids: set[str] = set()

    def mount(self, top: TopFace) -> None:
        top.extra_methods[OFFICIAL_ACTIVITY] = self.official_activity
        top.extra_methods[ORDERS] = self.order_report
        top.apps[SANDBOX_APP_KEY] = SANDBOX_APP_SECRET
        top.extensions["eleme"] = self

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    # -- links -------------------------------------------------------------------------------------

    def official_activity(self, form: dict[str, str]) -> dict[str, Any]:
        self.calls[OFFICIAL_ACTIVITY] += 1
        raw = form.get("query_request", "")
        if not raw:
            raise TopError(
                40,
                "Missing Required Arguments",
                "isv.missing-parameter:query_request",
                "缺少参数 query_request",
            )
        try:
            query = json.loads(raw)
        except ValueError:
            query = None
        if not isinstance(query, dict):
            raise TopError(
                41, "Invalid Arguments", "isv.invalid-parameter:query_request", "query_request 不是 JSON 对象"
            )
        self.queries.append(query)
        pid, activity_id, sid = (str(query.get(k) or "") for k in ("pid", "activity_id", "sid"))
        for name, value in (("pid", pid), ("activity_id", activity_id)):
            if not value:
                raise TopError(
                    40, "Missing Required Arguments", f"isv.missing-parameter:{name}", f"缺少 {name}"
                )
        if not PID.match(pid):
            raise TopError(
                15, "Remote service error", "isv.invalid-parameter:pid", "PID 不存在或不属于该媒体"
            )
        if sid and (not SID.match(sid) or sid in self.refused_sids):
            raise TopError(15, "Remote service error", "isv.invalid-parameter:sid", "sid 不合法")
        if activity_id not in ACTIVITIES:
            return {"result_code": 1001, "message": "活动不存在"}
        if activity_id in self.ended:
            return {"result_code": 1002, "message": "活动已结束"}
        code = _code(f"{pid}|{activity_id}|{sid}")
        if code not in self.issued:
            self.issued[code] = ElemeLink(code, activity_id, pid, sid, self._now())
            if sid:
                self._order_for(self.issued[code])
        title, description = ACTIVITIES[activity_id]
        start = datetime.fromtimestamp(self.started, UTC) - timedelta(days=1)
        short = f"https://s.click.ele.me/{code}"
        path = f"pages/sharePid/web/index?scene={short}"
        return {
            "result_code": 0,
            "message": "success",
            "data": {
                "id": activity_id,
                "title": title,
                "description": description,
                "picture": f"https://img.ele.me/sandbox/{activity_id}.jpg",
                "start_time": int(start.timestamp()),
                "end_time": int((start + timedelta(days=31)).timestamp()),
                "link": {
                    "h5_url": f"https://h5.ele.me/adminiappsub/pages/h5/index?scene={code}",
                    "h5_short_link": short,
                    "wx_appid": "wxece3a9a4c82f58c9",
                    "wx_path": path,
                    "ele_scheme_url": f"eleme://web?url=https%3A%2F%2Fh5.ele.me%2F%3Fscene%3D{code}",
                    "tb_qr_code": f"https://img.ele.me/sandbox/qr/{code}.png",
                    "picture": f"https://img.ele.me/sandbox/{activity_id}.jpg",
                    "h5_promotion": {"h5_url": f"https://h5.ele.me/?scene={code}", "short_link": short},
                    "wx_promotion": {
                        "wx_app_id": "wxece3a9a4c82f58c9",
                        "wx_path": path,
                        "h5_short_link": short,
                    },
                },
            },
        }

    # -- orders ------------------------------------------------------------------------------------

    def _order_for(self, link: ElemeLink) -> None:
        seed = int(hashlib.sha256(link.code.encode()).hexdigest()[:8], 16)
        pay = 1500 + seed % 4000
        self.add_order(link.sid, pay_fen=pay, at=link.at + timedelta(minutes=1), activity_id=link.activity_id)

    def add_order(
        self,
        sid: str,
        *,
        pay_fen: int = 3280,
        at: datetime | None = None,
        activity_id: str = "20150318019998877",
        order_state: int = 2,
        settle_state: int = 2,
        pid: str = "",
    ) -> ElemeOrder:
        at = at or self._now()
        number = 8000000000000000000 + len(self.orders) + 1
        order = ElemeOrder(
            str(number),
            activity_id,
            pid or "alsc_23456789_1000001_2000001",
            sid,
            pay_fen,
            pay_fen * 6 // 100,
            order_state,
            settle_state,
            at,
            at,
        )
        self.orders.append(order)
        return order

    def order_report(self, form: dict[str, str]) -> dict[str, Any]:
        self.calls[ORDERS] += 1
        try:
            start = datetime.strptime(form.get("start_date", ""), TIME).replace(tzinfo=GMT8)
        except ValueError:
            raise TopError(
                40, "Missing Required Arguments", "isv.missing-parameter:start_date", "缺少 start_date"
            ) from None
        try:
            end = (
                datetime.strptime(form["end_date"], TIME).replace(tzinfo=GMT8)
                if form.get("end_date")
                else self._now()
            )
        except ValueError:
            raise TopError(
                41, "Invalid Arguments", "isv.invalid-parameter:end_date", "时间格式 yyyy-MM-dd HH:mm:ss"
            ) from None
        if end < start or end - start > MAX_WINDOW:
            raise TopError(15, "Remote service error", "isv.time-span-too-long", "查询时间跨度不能超过31天")
        size, number, date_type = (
            _int(form, name, default, high)
            for name, default, high in (("page_size", 10, 50), ("page_number", 1, 50), ("date_type", 1, 4))
        )

        def key(o: ElemeOrder) -> datetime:
            return o.modified if date_type == 4 else o.created

        hits = sorted(
            (o for o in self.orders if start <= key(o) <= end), key=lambda o: (key(o), o.biz_order_id)
        )
        chunk = hits[(number - 1) * size : number * size]
        return {
            "result_success": True,
            "result_code": 0,
            "message": "success",
            "total_count": len(hits),
            "result": {"order_detail_report_d_t_o": [self._row(o) for o in chunk]},
        }

    @staticmethod
    def _row(o: ElemeOrder) -> dict[str, Any]:
        when = o.created.astimezone(GMT8).strftime(TIME)
        return {
            "biz_order_id": o.biz_order_id,
            "parent_order_id": o.biz_order_id,
            "title": ACTIVITIES.get(o.activity_id, ("饿了么",))[0],
            "shop_name": o.shop_name,
            "pay_amount": _yuan(o.pay_fen),
            "settle_amount": _yuan(o.pay_fen),
            "commission_rate": "0.06",
            "commission_fee": _yuan(o.commission_fen),
            "income": _yuan(o.commission_fen),
            "settle": _yuan(o.commission_fen) if o.settle_state == 1 else "0.00",
            "order_state": o.order_state,
            "settle_state": o.settle_state,
            "tk_create_time": when,
            "pay_time": when,
            "gmt_modified": o.modified.astimezone(GMT8).strftime(TIME),
            "pid": o.pid,
            "sid": o.sid,
            "activity_id": o.activity_id,
            "flow_type": 1,
        }


def _int(form: dict[str, str], name: str, default: int, high: int) -> int:
    raw = form.get(name, "")
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise TopError(41, "Invalid Arguments", f"isv.invalid-parameter:{name}", f"{name} 不是数字") from None
    if not 1 <= value <= high:
        raise TopError(41, "Invalid Arguments", f"isv.invalid-parameter:{name}", f"{name} 超出 1-{high}")
    return value


def top_gateway(catalogue: Catalogue, clock: Callable[[], float]) -> TopFace:
    """The sandbox's TOP gateway: Taobao's face with Ele.me's methods mounted on it."""
    top = TopFace(catalogue, clock)
    ElemeFace(clock).mount(top)
    return top
