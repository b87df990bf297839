"""The Meituan league: each configured activity's links made for a group's sid, and orders by sid.

`get_referral_link` is asked once per activity with `linkTypeList` [2, 4]: the H5 short link and the
WeChat mini-program path, in one call. Clients disagree on whether the path comes under 3 or 4, so a
path (it starts with `/` or `pages`) is taken from either, with 美团外卖's appid (the API gives none).
The API gives no title: the link is titled after the activity.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bot.leagues.base import LeagueError, Order, Spot
from bot.leagues.meituan.client import ActivityEnded, Json, MeituanClient
from bot.leagues.takeout import SidRejected, TakeoutLeague, TakeoutLink, fen_of

log = logging.getLogger(__name__)

MEITUAN_MINI_APPID = "wxde8ac0a21135c07d"
"""美团外卖's WeChat mini program (the API returns only the path)."""
TITLE = "美团外卖红包"
MAX_PAGES = 100


class MeituanLeague(TakeoutLeague):
    name = "meituan"
    platform = "meituan"

    def __init__(self, client: MeituanClient, *, act_ids: tuple[str, ...]) -> None:
        self.client = client
        self.act_ids = act_ids

    async def aclose(self) -> None:
        await self.client.aclose()

    async def takeout_links(self, spot: Spot) -> list[TakeoutLink]:
        """One link per configured activity, made for the spot's sid; raises the first failure when
        no activity gave a link."""
        links: list[TakeoutLink] = []
        trouble: LeagueError | None = None
        for index, act_id in enumerate(self.act_ids):
            try:
                link = await self._activity(act_id, spot.tag)
            except ActivityEnded as exc:
                log.info("meituan: activity %s left out: %s", act_id, exc)
                continue
            except LeagueError as exc:
                trouble = trouble or exc
                continue
            if link is not None:
                title = TITLE if index == 0 else f"{TITLE} {index + 1}"
                links.append(replace(link, title=title))
        if not links and trouble is not None:
            raise trouble
        return links

    async def _activity(self, act_id: str, sid: str) -> TakeoutLink | None:
        try:
            data = await self.client.referral_link(act_id=act_id, sid=sid)
        except SidRejected as exc:
            if not sid:
                raise
            log.warning(
                "meituan: sid %s refused (%s): link made without it, its orders stay unattributed", sid, exc
            )
            data = await self.client.referral_link(act_id=act_id)
            sid = ""
        return link_of(act_id, sid, data)

    async def orders_since(self, since: datetime, until: datetime | None = None) -> list[Order]:
        """Orders updated in [since, until], page by page on the answer's `scrollId`."""
        end = until or datetime.now(UTC)
        out: list[Order] = []
        scroll = ""
        for page in range(1, MAX_PAGES + 1):
            data = await self.client.orders(since, end, scroll_id=scroll, page=page)
            rows = _rows(data)
            out.extend(order_of(row) for row in rows)
            scroll = str(data.get("scrollId") or "") if isinstance(data, dict) else ""
            if len(rows) < 100 or not scroll:
                break
        return out


def _is_path(value: str) -> bool:
    return value.startswith(("/", "pages/", "index/"))


def link_of(act_id: str, sid: str, data: Any) -> TakeoutLink | None:
    """The link from either answer shape: the link itself (one `linkType`) or `referralLinkMap`."""
    if isinstance(data, str):
        links = {"2": data}
    elif isinstance(data, dict):
        found = data.get("referralLinkMap", data)
        links = {str(k): str(v) for k, v in found.items() if v} if isinstance(found, dict) else {}
    else:
        links = {}
    url = next((links[k] for k in ("2", "1") if links.get(k, "").startswith("http")), "")
    if not url:
        url = next((v for v in links.values() if v.startswith("http")), "")
    if not url:
        return None
    path = next((links[k] for k in ("4", "3") if _is_path(links.get(k, ""))), "")
    return TakeoutLink(
        platform="meituan",
        title=TITLE,
        url=url,
        mini_appid=MEITUAN_MINI_APPID if path else "",
        mini_path=path,
        activity_id=act_id,
        sid=sid,
    )


def _rows(data: Any) -> list[Json]:
    rows = data.get("dataList") if isinstance(data, dict) else data
    return [row for row in rows or [] if isinstance(row, dict)]


def _text(value: object) -> str:
    text = "" if value is None else str(value)
    return "" if text == "null" else text


def _when(value: object) -> datetime | None:
    try:
        seconds = int(_text(value) or 0)
    except ValueError:
        return None
    if seconds > 10**11:  # milliseconds
        seconds //= 1000
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None


PAID, DONE, CANCELLED, REFUNDED, SETTLED = "2", "3", "4", "5", "6"


def order_status(row: Json) -> str:
    """ "2" paid → pending; "3" done / "6" settled → settled; "4" / "5" cancelled or refunded."""
    status = _text(row.get("status"))
    if status in (CANCELLED, REFUNDED):
        return "cancelled"
    if status in (DONE, SETTLED):
        return "settled"
    return "pending"


def order_of(row: Json) -> Order:
    status = order_status(row)
    created = _when(row.get("payTime")) or datetime.now(UTC)
    updated = _when(row.get("updateTime")) or created
    commission = fen_of(_text(row.get("profit")) or None) + fen_of(_text(row.get("cpaProfit")) or None)
    if status != "cancelled" and _text(row.get("refundProfit")):
        commission -= fen_of(_text(row.get("refundProfit")))
    return Order(
        order_id=_text(row.get("orderId")),
        sku_id="",
        product_id=_text(row.get("productId")),
        title=_text(row.get("productName")) or "美团订单",
        paid_fen=fen_of(_text(row.get("payPrice")) or None),
        commission_fen=0 if status == "cancelled" else max(commission, 0),
        status=status,
        sharer_appid="",
        created_at=created,
        updated_at=updated,
        tag=_text(row.get("sid")),
    )
