"""The Channels league's organisation calls (带货机构): funds and their flows, the organisation's coupons,
talents' feeds and windows, and commission clues. A part of `ChannelsLeague` kept apart because it serves
the console and reconciliation, not members: the league's product and link code reads without it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.leagues.base import Coupon, LeagueConfigError, Spot
from bot.leagues.organisation import (
    COMMISSION,
    OTHER,
    WITHDRAWAL,
    Clue,
    Feed,
    FeedShare,
    FundsBalance,
    FundsFlow,
    NotPermitted,
    OrgCoupon,
    Window,
    WindowItem,
)
from bot.leagues.ttlcache import TtlCache
from bot.leagues.wechat.client import ChannelsClient, Json
from bot.leagues.wechat.errors import WechatApiError
from bot.leagues.wechat.values import as_int as _int
from bot.leagues.wechat.values import as_time as _ts

FLOW_LIFETIME = 86400.0 * 400
"""Seconds a funds flow's detail is kept: a booked flow never changes."""
WINDOW_LIFETIME = 600.0
"""Seconds the talents' windows are kept in memory: the console reads them on every view."""
WINDOW_DETAILS = 30
"""Window products per talent looked up for a title (the rest are listed by id)."""
BOOKKEEPING_ZONE = ZoneInfo("Asia/Shanghai")
"""`bookkeeping_time` carries no zone; Beijing time is the reference's best guess ([U])."""
CLUE_STATUS = {20: "pending", 100: "settled", 200: "cancelled"}
NO_FUNDS = (
    "机构资金接口没有权限（48001 api unauthorized）：在视频号小店后台为带货机构申请「机构资金」接口权限，"
    "之前对账用不了"
)


def _no_funds(exc: LeagueConfigError) -> LeagueConfigError:
    """48001 on a funds call: the permission is missing (`NotPermitted`); other refusals as they are."""
    return NotPermitted(NO_FUNDS) if "48001" in str(exc) else exc


def _bookkept(value: Any) -> datetime | None:
    """`"2023-02-11 15:45:39"` (Beijing time) or Unix seconds, as UTC."""
    text = str(value or "").strip()
    if text.isdigit():
        return _ts(text)
    try:
        local = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return local.replace(tzinfo=BOOKKEEPING_ZONE).astimezone(UTC)


def _flow(raw: Json) -> FundsFlow | None:
    """A flow's detail as a domain flow. The sign of a withdrawal is not documented: the amount is
    taken unsigned, its direction from `flow_type` (2 支出) or, without it, `funds_type` (1 提现)."""
    time = _bookkept(raw.get("bookkeeping_time"))
    if not raw.get("flow_id") or time is None:
        return None
    funds_type, flow_type = _int(raw.get("funds_type")), _int(raw.get("flow_type"))
    kind = {1: WITHDRAWAL, 2: COMMISSION}.get(funds_type, OTHER)
    outgoing = flow_type == 2 if flow_type in (1, 2) else kind == WITHDRAWAL
    amount = abs(_int(raw.get("amount")))
    balance = raw.get("balance")
    return FundsFlow(
        flow_id=str(raw["flow_id"]),
        amount_fen=-amount if outgoing else amount,
        time=time,
        type=kind,
        order_id=str(raw.get("order_id") or ""),
        balance_fen=_int(balance) if balance is not None else None,
        remark=str(raw.get("remark") or ""),
    )


class OrganisationCalls:
    """Mixed into `ChannelsLeague`, which provides the client, the caches and the two lookups below."""

    client: ChannelsClient
    mini_program_appid: str
    talent_names: dict[str, str]
    talent_finders: dict[str, str]
    _windows: TtlCache
    _flows: TtlCache
    _gate: asyncio.Semaphore

    async def _kept(
        self,
        kind: str,
        key: str,
        lifetime: float,
        ask: Callable[[], Awaitable[Json]],
        index: Callable[[Json], list[tuple[str, str, Json, float]]] | None = None,
    ) -> Json:
        raise NotImplementedError  # ChannelsLeague's

    async def _coupon(self, coupon_id: str, price_fen: int) -> Coupon | None:
        raise NotImplementedError  # ChannelsLeague's

    async def funds_balance(self) -> FundsBalance:
        try:
            data = await self.client.funds_balance()
        except LeagueConfigError as exc:
            raise _no_funds(exc) from None
        return FundsBalance(_int(data.get("available_amount")), _int(data.get("pending_amount")))

    async def funds_flows(self, since: datetime, until: datetime) -> list[FundsFlow]:
        """The ledger's flows booked in [since, until], oldest first. A flow's detail is one call and is
        kept for good (a booked flow never changes), so the next reconciliation asks only new ones."""
        try:
            ids = [
                i
                async for i in self.client.funds_flow_ids(
                    start=int(since.timestamp()), end=int(until.timestamp())
                )
            ]

            async def detail(flow_id: str) -> Json:
                known = self._flows.get(flow_id)
                if known is not None:
                    return known  # type: ignore[no-any-return]

                async def ask() -> Json:
                    async with self._gate:
                        return await self.client.funds_flow_detail(flow_id)

                data = await self._kept("flow", flow_id, FLOW_LIFETIME, ask)
                self._flows.put(flow_id, data)
                return data

            details = await asyncio.gather(*(detail(i) for i in dict.fromkeys(ids)))
        except LeagueConfigError as exc:
            raise _no_funds(exc) from None
        flows = [_flow(d.get("funds_flow") or {}) for d in details]
        return sorted((f for f in flows if f is not None), key=lambda f: (f.time, f.flow_id))

    async def org_coupons(self) -> list[OrgCoupon]:
        """The organisation's 定向券 then 公开券, each with its detail (remaining stock included)."""
        out: list[OrgCoupon] = []
        for cooperative in (True, False):
            listed = [c async for c in self.client.coupons(cooperative=cooperative)]
            ids = list(dict.fromkeys(str(c.get("coupon_id")) for c in listed if c.get("coupon_id")))
            coupons = await asyncio.gather(*(self._coupon(cid, 0) for cid in ids))
            out += [OrgCoupon(c, cooperative) for c in coupons if c is not None]
        return out

    async def coupon_share_link(self, coupon_id: str, spot: Spot) -> str:
        """The coupon's short link for `spot`'s sharer (the organisation's own without one)."""
        data = await self.client.coupon_short_link(coupon_id, spot.sharer_appid)
        return str(data.get("short_link") or "")

    async def feeds(self, talent_appids: Sequence[str]) -> list[Feed]:
        out: list[Feed] = []
        for talent in talent_appids:
            async for item in self.client.feeds(talent):
                product = item.get("product_info") or {}
                if isinstance(product, list):  # documented as one object; a list is read leniently
                    product = product[0] if product else {}
                price = str(product.get("product_mini_price") or "").strip()
                out.append(
                    Feed(
                        export_id=str(item.get("export_id", "")),
                        talent_appid=str(item.get("talent_appid") or talent),
                        talent_name=self.talent_names.get(talent, ""),
                        title=str(product.get("product_name", "")),
                        products=(str(product["product_id"]),) if product.get("product_id") else (),
                        image=str(product.get("product_img_url", "")),
                        price_fen=int(price) if price.isdigit() else None,
                        predict_commission_fen=_int(item.get("predict_commission_amount")),
                    )
                )
        return out

    async def feed_shares(self, talent_appid: str, export_ids: Sequence[str], spot: Spot) -> list[FeedShare]:
        """Shares for `spot`'s sharer of the feeds still there (a removed one is not in the answer)."""
        if not self.mini_program_appid or not export_ids:
            return []
        data = await self.client.feed_promotion(
            talent_appid, self.mini_program_appid, list(export_ids), spot.sharer_appid
        )
        return [
            FeedShare(
                str(f.get("export_id", "")),
                str(f.get("feed_token", "")),
                str(f.get("promoter_share_link", "")),
            )
            for f in data.get("feed_list") or []
            if f.get("export_id")
        ]

    async def windows(self) -> list[Window]:
        """Each followed talent's window (those with an openfinderid configured); a talent whose window
        cannot be read says why instead. Kept a few minutes."""
        cached = self._windows.get("all")
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        out = [await self._window(talent, finder) for talent, finder in self.talent_finders.items() if finder]
        self._windows.put("all", out)
        return out

    async def _window(self, talent: str, finder: str) -> Window:
        name = self.talent_names.get(talent, "")
        try:
            listed = [item async for item in self.client.window_products(finder)]
        except WechatApiError as exc:
            why = {10024011: "达人还没有授权橱窗给机构", 10024001: "openfinderid 不对"}.get(
                exc.errcode, str(exc)
            )
            return Window(talent, name, error=why)

        async def titled(item: Json) -> WindowItem:
            product_id = str(item.get("product_id", ""))
            try:
                async with self._gate:
                    data = await self.client.window_product(finder, product_id)
            except WechatApiError:  # removed since the list: show the id
                return WindowItem(product_id, str(item.get("appid", "")))
            info = (data.get("product_detail") or {}).get("product_info") or {}
            images = info.get("head_imgs") or [""]
            return WindowItem(
                product_id, str(item.get("appid", "")), str(info.get("title", "")), str(images[0])
            )

        head = await asyncio.gather(*(titled(item) for item in listed[:WINDOW_DETAILS]))
        rest = [
            WindowItem(str(i.get("product_id", "")), str(i.get("appid", ""))) for i in listed[WINDOW_DETAILS:]
        ]
        return Window(talent, name, (*head, *rest), total=len(listed))

    async def clues(self, since: datetime, until: datetime) -> list[Clue]:
        out: list[Clue] = []
        async for item in self.client.clues(since=int(since.timestamp()), until=int(until.timestamp())):
            data = await self.client.clue_detail(str(item.get("order_id")), str(item.get("sku_id")))
            raw = data.get("commssion_clue") or data.get("commission_clue") or {}
            detail = raw.get("clue_detail") or {}
            product = detail.get("product_info") or {}
            sharer = detail.get("sharer_info") or {}
            out.append(
                Clue(
                    order_id=str(raw.get("order_id", "")),
                    sku_id=str(raw.get("sku_id", "")),
                    product_id=str(product.get("product_id", "")),
                    title=str(product.get("title", "")),
                    paid_fen=_int(product.get("actual_payment")),
                    status=CLUE_STATUS.get(_int(raw.get("status")), str(raw.get("status", ""))),
                    sharer_appid=str(sharer.get("sharer_appid", "")),
                    sharer_name=str(sharer.get("nickname", "")),
                    created_at=_ts(raw.get("create_time")) or since,
                )
            )
        return out
