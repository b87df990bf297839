"""Orders from the operator's own shops come back through order sync, attributed to the group whose link
they came through — Youzan by the group's salesman, Shopify by the group's discount code or else the UTM
campaign of the buyer's visit — and show in `tuike report`'s rows with the owner's share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.config import parse_settings
from bot.leagues.setup import default_spots
from bot.leagues.shopify.build import build_shopify
from bot.leagues.youzan.build import build_youzan
from bot.orders.report import report_rows
from bot.orders.sync import OrderSync
from bot.services.attribution import GroupSpots
from bot.store.groups import ensure_group
from bot.store.models import OrderRow
from tuike_sandbox.server import SandboxServer
from tuike_sandbox.shopify_face import ShopifyFace
from tuike_sandbox.shopify_face import status as shopify_status
from tuike_sandbox.youzan_face import YouzanFace, item_id, listed


async def test_shop_orders_are_attributed_to_the_groups_whose_links_sold(engine: Engine) -> None:
    settings = parse_settings(
        {"shops": {"youzan": {"enabled": True}, "shopify": {"enabled": True, "discount_percent": 5}}}
    )
    start = datetime.now(UTC)
    async with SandboxServer() as sandbox:
        youzan = build_youzan(settings, sandbox.base_url, engine)
        shopify = build_shopify(settings, sandbox.base_url, engine)
        leagues = {"youzan": youzan, "shopify": shopify}
        spots = GroupSpots(engine, default_spots(settings), issuers=leagues)  # type: ignore[arg-type]
        a = ensure_group(engine, "a@chatroom", "宝妈群")
        b = ensure_group(engine, "b@chatroom", "数码群")
        yz_face, sp_face = sandbox.face("/youzan"), sandbox.face("/shopify")
        assert isinstance(yz_face, YouzanFace) and isinstance(sp_face, ShopifyFace)
        try:
            yz_product = await youzan.product(str(item_id(next(p for p in yz_face.shop if listed(p)))))
            sp_node = next(
                p for p in sp_face.shop if shopify_status(p) == "ACTIVE" and sp_face.inventory(p) > 0
            )
            sp_product = await shopify.product(sp_face.product_node(sp_node)["legacyResourceId"])
            for group in (a, b):
                await youzan.promote(yz_product, await spots.for_group(group, "youzan"))
            code_link = await shopify.promote(sp_product, await spots.for_group(a, "shopify"))
            spot_b = await spots.for_group(b, "shopify")
            sp_face.buy(code_link.best_url)
            sp_face.buy(
                f"https://{sp_face.shop_domain}/products/{sp_product.shop_id}?utm_source=tuike&utm_campaign={spot_b.tag}",
                quantity=3,
            )
            yz_face.clock = lambda: datetime.now(UTC).timestamp() + 600  # buyers come a few minutes later

            later = datetime.now(UTC) + timedelta(minutes=20)
            sync = OrderSync(engine, leagues, clock=lambda: later, lookback=timedelta(hours=1))
            results = await sync.run()
            open_before = [r for r in _rows(engine) if r.league == "youzan" and r.status == "pending"]
            yz_face.settle_everything = True  # days later: what was paid is done and settled
            hour_on = later + timedelta(
                hours=1
            )  # past the first sync: only the refresh of open orders sees them
            again = await OrderSync(
                engine, leagues, clock=lambda: hour_on, lookback=timedelta(days=1), overlap=timedelta(0)
            ).run()
        finally:
            await youzan.aclose()
            await shopify.aclose()
    assert all(r.ok for r in results), [r.error for r in results]
    rows = _rows(engine)
    refreshed = {r.order_id: r.status for r in rows if r.league == "youzan"}
    assert open_before and all(refreshed[r.order_id] == "settled" for r in open_before)
    assert next(r for r in again if r.league == "youzan").refreshed >= len(open_before)
    by_league = {name: [r for r in rows if r.league == name] for name in ("youzan", "shopify")}
    assert by_league["youzan"] and {r.group_id for r in by_league["youzan"]} == {a.id, b.id}
    shopify_groups = [
        (r.group_id, r.paid_fen) for r in sorted(by_league["shopify"], key=lambda r: r.order_id)
    ]
    price = sp_product.price_fen
    assert shopify_groups == [(a.id, price - price * 5 // 100), (b.id, 3 * price)], "code, then campaign"

    report = report_rows(
        engine, start - timedelta(hours=1), later + timedelta(hours=1), owner_share_percent=50
    )
    by_group = {row["group"]: row for row in report}
    youzan_a = sum(
        r.commission_fen for r in by_league["youzan"] if r.group_id == a.id and r.status != "cancelled"
    )
    assert by_group["a@chatroom"]["estimated_fen"] >= youzan_a > 0
    assert by_group["a@chatroom"]["owner_share_fen"] == by_group["a@chatroom"]["estimated_fen"] // 2


def _rows(engine: Engine) -> list[OrderRow]:
    with Session(engine) as session:
        return list(session.exec(select(OrderRow)).all())
