"""The Ele.me league: each configured activity's links made for a group's sid, and orders by sid.

A link made without a sid cannot be told apart on orders, so every group's link carries its own
(`choose_identity`: the same `tk_…` tag Meituan gets). When Ele.me refuses a sid, the link is made
without one (the member still gets a working link; its orders stay unattributed and the log says so).
An activity that has ended is left out; the others still answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from bot.leagues.base import LeagueError, Order, Spot
from bot.leagues.eleme.client import ActivityEnded, ElemeClient, Json
from bot.leagues.eleme.settings import OFFICIAL_ACTIVITIES
from bot.leagues.takeout import SidRejected, TakeoutLeague, TakeoutLink, fen_of
from bot.leagues.taobao.client import from_top_time

log = logging.getLogger(__name__)

ELEME_MINI_APPID = "wxece3a9a4c82f58c9"
"""饿了么's WeChat mini program, when the answer names none."""


class ElemeLeague(TakeoutLeague):
    name = "eleme"
    platform = "eleme"

    def __init__(
        self,
        client: ElemeClient,
        *,
        pid: str,
        activity_ids: tuple[str, ...],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.pid = pid
        self.activity_ids = activity_ids
        self.clock = clock

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- links -------------------------------------------------------------------------------------

    async def takeout_links(self, spot: Spot) -> list[TakeoutLink]:
        """One link per configured activity still running, made for the spot's sid; raises the first
        failure when no activity gave a link."""
        links: list[TakeoutLink] = []
        trouble: LeagueError | None = None
        for activity_id in self.activity_ids:
            try:
                link = await self._activity(activity_id, spot.tag)
            except ActivityEnded as exc:
                log.info("eleme: activity %s left out: %s", activity_id, exc)
                continue
            except LeagueError as exc:
                trouble = trouble or exc
                continue
            if link is not None:
                links.append(link)
        if not links and trouble is not None:
            raise trouble
        return links

    async def _activity(self, activity_id: str, sid: str) -> TakeoutLink | None:
        try:
            data = await self.client.official_activity(pid=self.pid, activity_id=activity_id, sid=sid)
        except SidRejected as exc:
            if not sid:
                raise
            log.warning(
                "eleme: sid %s refused (%s): link made without it, its orders stay unattributed", sid, exc
            )
            data = await self.client.official_activity(pid=self.pid, activity_id=activity_id)
            sid = ""
        return self._link(activity_id, sid, data)

    def _link(self, activity_id: str, sid: str, data: Json) -> TakeoutLink | None:
        link = _object(data.get("link")) or data
        h5, wx = _object(link.get("h5_promotion")), _object(link.get("wx_promotion"))
        url = str(
            link.get("h5_short_link") or h5.get("short_link") or link.get("h5_url") or h5.get("h5_url") or ""
        )
        if not url:
            return None
        ends_at = _epoch(data.get("end_time"))
        if ends_at is not None and ends_at.timestamp() <= self.clock():
            log.info("eleme: activity %s ended at %s: left out", activity_id, ends_at)
            return None
        path = str(link.get("wx_path") or wx.get("wx_path") or "")
        appid = str(link.get("wx_appid") or wx.get("wx_app_id") or (ELEME_MINI_APPID if path else ""))
        title = str(data.get("title") or OFFICIAL_ACTIVITIES.get(activity_id) or "饿了么红包")
        return TakeoutLink(
            platform="eleme",
            title=title,
            url=url,
            mini_appid=appid,
            mini_path=path,
            activity_id=activity_id,
            sid=sid,
            ends_at=ends_at,
        )

    # -- orders ------------------------------------------------------------------------------------

    async def orders_since(self, since: datetime, until: datetime | None = None) -> list[Order]:
        """Orders updated in [since, until] (pages of 50, at most 50 pages a window)."""
        end = until or datetime.now(UTC)
        out: list[Order] = []
        for page in range(1, 51):
            body = await self.client.orders(since, end, page_number=page)
            rows = _rows(body)
            out.extend(order_of(row) for row in rows)
            total = _int(body.get("total_count"), -1)
            if len(rows) < 50 or (total >= 0 and page * 50 >= total):
                break
        return out


def _object(value: object) -> Json:
    return value if isinstance(value, dict) else {}


def _rows(body: Json) -> list[Json]:
    result = body.get("result")
    rows = result.get("order_detail_report_d_t_o") if isinstance(result, dict) else result
    if isinstance(rows, dict):  # some gateways wrap a list once more
        rows = next((v for v in rows.values() if isinstance(v, list)), [])
    return [row for row in rows or [] if isinstance(row, dict)]


def _int(value: object, default: int = 0) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


def _epoch(value: object) -> datetime | None:
    seconds = _int(value, 0)
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None


ORDER_VOID, ORDER_PLACED, ORDER_PAID, ORDER_RECEIVED = 0, 1, 2, 4
SETTLED = 1


def order_status(row: Json) -> str:
    """0 失效 → cancelled; 结算 (settle_state 1) → settled; else pending."""
    if _int(row.get("order_state"), ORDER_PAID) == ORDER_VOID:
        return "cancelled"
    if _int(row.get("settle_state"), 2) == SETTLED:
        return "settled"
    return "pending"


def order_of(row: Json) -> Order:
    """One order row (amounts in yuan strings → fen; times in GMT+8 → UTC)."""
    status = order_status(row)
    created = from_top_time(str(row.get("tk_create_time") or row.get("pay_time") or "")) or datetime.now(UTC)
    updated = from_top_time(str(row.get("gmt_modified") or row.get("settle_time") or "")) or created
    commission = fen_of(
        row.get("settle") if status == "settled" and row.get("settle") else row.get("commission_fee")
    )
    return Order(
        order_id=str(row.get("biz_order_id") or row.get("parent_order_id") or ""),
        sku_id="",
        product_id=str(row.get("activity_id") or ""),
        title=str(row.get("title") or row.get("main_item_title") or row.get("shop_name") or "饿了么订单"),
        paid_fen=fen_of(row.get("pay_amount")),
        commission_fen=0 if status == "cancelled" else commission,
        status=status,
        sharer_appid="",
        created_at=created,
        updated_at=updated,
        pid=str(row.get("pid") or ""),
        tag=str(row.get("sid") or ""),
    )
