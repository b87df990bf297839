"""The Ele.me client: the Taobao league's TOP client (same gateway, signing, retries and error
envelope) with the two alsc methods this league needs.

`alibaba.alsc.union.eleme.promotion.officialactivity.get` takes ONE business parameter, `query_request`,
an object sent as one JSON string (sent as separate fields the gateway sees no `query_request` and
answers 40). Its answer also carries `result_code` (0 = OK) and `message`: a non-zero code is a
business failure (an ended activity, a PID that is not ours, a sid it will not take), as is a 15 /
`isv.*` error envelope; both are handled. Orders come from `alibaba.alsc.union.kbcpx.positive.order.get`
with plain top-level parameters, 50 rows a page, pages 1–50.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.leagues.base import LeagueConfigError, LeagueError
from bot.leagues.takeout import SidRejected
from bot.leagues.taobao.client import TopClient, top_time
from bot.leagues.taobao.errors import TopApiError

Json = dict[str, Any]

OFFICIAL_ACTIVITY = "alibaba.alsc.union.eleme.promotion.officialactivity.get"
ORDERS = "alibaba.alsc.union.kbcpx.positive.order.get"
PAGE_SIZE = 50
MAX_PAGES = 50


class ElemeBusinessError(LeagueError):
    """A non-zero `result_code`: the call went through, the league said no."""


class ActivityEnded(ElemeBusinessError):
    """The activity is over (or not one this PID may promote): its link is left out."""


_ENDED_HINTS = ("结束", "下线", "过期", "ended", "expired", "not exist", "不存在", "offline")


def _mentions_sid(text: str) -> bool:
    return "sid" in text.lower()


class ElemeClient(TopClient):
    league = "eleme"

    def __repr__(self) -> str:  # never the secret
        return f"ElemeClient({self.url!r}, app_key={self.app_key!r}, sign_method={self.sign_method!r})"

    async def call(self, method: str, params: Any = None) -> Json:
        """A TOP call whose operator hints name this league's table, not Taobao's."""
        try:
            return await super().call(method, params)
        except LeagueConfigError as exc:
            text = (
                str(exc)
                .replace("[leagues.taobao]", "[leagues.eleme]")
                .replace("TUIKE_TAOBAO_", "TUIKE_ELEME_")
            )
            raise LeagueConfigError(text) from None
        except TopApiError as exc:
            detail = f"{exc.fault.sub_code} {exc.fault.sub_msg} {exc.fault.msg}"
            if _mentions_sid(exc.fault.sub_code) or _mentions_sid(exc.fault.sub_msg):
                raise SidRejected(f"{method}: {exc.fault}") from None
            if any(hint in detail.lower() for hint in _ENDED_HINTS):
                raise ActivityEnded(f"{method}: {exc.fault}") from None
            raise

    async def official_activity(
        self, *, pid: str, activity_id: str, sid: str = "", include_wx_img: bool = False
    ) -> Json:
        """The activity's links for (pid, sid): the answer's `data` (links under `data.link`)."""
        query: dict[str, object] = {"pid": pid, "activity_id": activity_id}
        if sid:
            query["sid"] = sid
        query["include_wx_img"] = include_wx_img
        body = await self.call(
            OFFICIAL_ACTIVITY,
            {"query_request": json.dumps(query, ensure_ascii=False, separators=(",", ":"))},
        )
        _business(OFFICIAL_ACTIVITY, body)
        data = body.get("data")
        if not isinstance(data, dict):
            raise ElemeBusinessError(f"{OFFICIAL_ACTIVITY}: no data in the answer")
        return data

    async def orders(
        self, start: datetime, end: datetime, *, page_number: int = 1, date_type: int = 4
    ) -> Json:
        """One page of orders whose `date_type` time (4: last update) is in [start, end]."""
        body = await self.call(
            ORDERS,
            {
                "start_date": top_time(start),
                "end_date": top_time(end),
                "date_type": date_type,
                "biz_unit": 2,
                "page_size": PAGE_SIZE,
                "page_number": page_number,
            },
        )
        _business(ORDERS, body)
        return body


def _business(method: str, body: Json) -> None:
    """Raise the business failure a non-zero `result_code` says."""
    code = body.get("result_code", 0)
    try:
        failed = int(code) != 0
    except (TypeError, ValueError):
        failed = True
    if body.get("result_success") is False:
        failed = True
    if not failed:
        return
    message = str(body.get("message") or body.get("msg_info") or "")
    text = f"{method}: result_code {code} {message}".strip()
    if _mentions_sid(message):
        raise SidRejected(text)
    if any(hint in message.lower() for hint in _ENDED_HINTS):
        raise ActivityEnded(text)
    raise ElemeBusinessError(text)
