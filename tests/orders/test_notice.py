"""The paid-order notice (`[rebate] notify_paid`): after a sync over the sandbox's Taobao face, a member
whose bound order newly became paid hears 「订单已跟踪，确认收货后返 ¥x.xx」 once in private chat — not
again on the next sync, nor after a restart, and not at all when the 绑定 answer already told them."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from bot.chat.base import Incoming
from bot.handlers.rebate import RebateHandler
from bot.orders.notice import notify_paid
from bot.orders.sync import LeagueSync, OrderSync
from bot.render.engine import Renderer
from bot.store import rebate as ledger
from bot.store.models import RebateEntry
from tests.orders.conftest import ROOMS, Shop


class Inbox:
    """What the app's `send(chat_id, text)` was handed."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def __call__(self, chat_id: str, text: str) -> None:
        self.sent.append((chat_id, text))


def _syncer(shop: Shop, inbox: Inbox) -> OrderSync:
    async def after(_results: list[LeagueSync]) -> None:
        await notify_paid(shop.engine, inbox, Renderer(None))

    return OrderSync(
        shop.engine,
        {"taobao": shop.leagues["taobao"]},
        overlap=timedelta(minutes=15),
        lookback=timedelta(minutes=20),
        rebate=True,
        after=after,
    )


async def _bind(shop: Shop, member: str, order_id: str, account: str = "") -> str:
    rebates = RebateHandler(engine=shop.engine, share_percent=50)
    said = Incoming("1", member, member, member, member, f"绑定 {order_id}", is_group=False, account=account)
    reply = await rebates(said)
    assert reply is not None
    return reply.parts[0].text  # type: ignore[attr-defined,no-any-return]


async def test_a_bound_order_that_becomes_paid_is_told_once(shop: Shop) -> None:
    await shop.sell("taobao", ROOMS[0], count=2)
    top = shop.sandbox.face("/router/rest")
    late, early = top.orders[0], top.orders[1]
    ratio = late.ratio_ppm
    late.ratio_ppm = 0  # the league has not estimated this one's commission yet
    inbox = Inbox()
    await _syncer(shop, inbox).run()
    assert inbox.sent == []

    assert "绑定成功" in await _bind(shop, "wx_amy", late.trade_id)
    told = await _bind(shop, "wx_bob", early.trade_id)
    assert "确认收货后返 ¥" in told  # the answer already says it: no notice for this one later

    late.ratio_ppm, late.modified = ratio, late.modified + timedelta(seconds=30)  # now it counts
    await _syncer(shop, inbox).run()
    rebate = late.paid_fen * ratio // 1_000_000 // 2
    assert inbox.sent == [
        ("wx_amy", f"订单已跟踪，确认收货后返 ¥{rebate // 100}.{rebate % 100:02d}\n订单号：{late.trade_id}")
    ]

    await _syncer(shop, inbox).run()  # the next sync, in a process started afresh
    late.modified += timedelta(seconds=30)
    await _syncer(shop, inbox).run()
    assert len(inbox.sent) == 1

    # the record moves no money: balances are still the sums of the credits
    assert ledger.balance(shop.engine, "wx_amy")[ledger.PENDING] == rebate
    with Session(shop.engine) as session:
        notices = session.exec(select(RebateEntry).where(RebateEntry.kind == ledger.PAID_NOTICE)).all()
    assert len(notices) == 2 and {n.amount_fen for n in notices} == {0}


async def test_a_notice_that_cannot_be_sent_is_not_retried_and_others_still_go(shop: Shop) -> None:
    await shop.sell("taobao", ROOMS[0], count=2)
    top = shop.sandbox.face("/router/rest")
    ratios = [o.ratio_ppm for o in top.orders]
    for order in top.orders:
        order.ratio_ppm = 0
    await _syncer(shop, Inbox()).run()
    for member, order in zip(("wx_amy", "wx_bob"), top.orders, strict=True):
        await _bind(shop, member, order.trade_id)
    for order, ratio in zip(top.orders, ratios, strict=True):
        order.ratio_ppm, order.modified = ratio, order.modified + timedelta(seconds=30)

    sent: list[str] = []

    async def flaky(chat_id: str, text: str) -> None:
        if chat_id == "wx_amy":
            raise RuntimeError("sender is closed")
        sent.append(chat_id)

    assert await notify_paid(shop.engine, flaky) == 0  # nothing synced yet: nothing to tell
    syncer = _syncer(shop, Inbox())
    syncer.after = None
    await syncer.run()
    assert await notify_paid(shop.engine, flaky) == 1
    assert sent == ["wx_bob"]
    assert await notify_paid(shop.engine, flaky) == 0  # at most once, even for the one that failed


async def test_each_member_is_told_through_the_account_they_bound_through(shop: Shop) -> None:
    """A member id means nothing on another account's platform: the notice goes back the way the member
    came; one who came through an account this process cannot write first with (iLink) is left unclaimed."""
    await shop.sell("taobao", ROOMS[0], count=3)
    top = shop.sandbox.face("/router/rest")
    ratios = [o.ratio_ppm for o in top.orders]
    for order in top.orders:
        order.ratio_ppm = 0
    await _syncer(shop, Inbox()).run()
    members = (("wx_amy", "gateway:wx_app"), ("o9x_bob@im.wechat", "ilink:bot"), ("wx_cat", ""))
    for (member, account), order in zip(members, top.orders, strict=True):
        await _bind(shop, member, order.trade_id, account)
    for order, ratio in zip(top.orders, ratios, strict=True):
        order.ratio_ppm, order.modified = ratio, order.modified + timedelta(seconds=30)
    syncer = _syncer(shop, Inbox())
    syncer.after = None
    await syncer.run()

    gateway, unrecorded = Inbox(), Inbox()
    assert await notify_paid(shop.engine, unrecorded, via={"gateway:wx_app": gateway}) == 2
    assert [to for to, _ in gateway.sent] == ["wx_amy"]
    assert [to for to, _ in unrecorded.sent] == ["wx_cat"], "bound before accounts were recorded"
    ilink = Inbox()
    assert await notify_paid(shop.engine, unrecorded, via={"ilink:bot": ilink}) == 1, "still unclaimed"
    assert [to for to, _ in ilink.sent] == ["o9x_bob@im.wechat"]
