"""Order sync against the sandbox's league faces over HTTP: windows with overlaps, restarts and a
crash mid-sync leave exactly one row per league order line; each order is credited to its group."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.leagues.base import LeagueUnavailable
from bot.orders import sync as sync_module
from bot.orders.sync import OrderSync, SyncBusy
from bot.store import orders as store
from bot.store.job_lock import JobLock
from bot.store.models import OrderRow
from tests.orders.conftest import LEAGUES, ROOMS, Shop, now
from tuike_sandbox.union_face import PREFIX, UnionFace

SMALL = {name: timedelta(minutes=2) for name in LEAGUES}


def _sandbox_lines(shop: Shop) -> dict[str, set[tuple[str, str]]]:
    """What the sandbox sold, per league, by (order id, sku) as each league reports its lines."""
    top = shop.sandbox.face("/router/rest")
    return {
        "channels": {(o["order_id"], o["sku_id"]) for o in shop.sandbox.state.orders()},
        "union": {(o["orderId"], o["productList"][0]["skuId"]) for o in _union_face(shop).orders()},
        "taobao": {(o.trade_id, o.trade_id[:-1] + "0") for o in top.orders},
        "jd": {(str(o["orderId"]), str(o["skuId"])) for o in shop.sandbox.face("/routerjson").orders()},
        "pdd": {(o["order_sn"], o["goods_sign"]) for o in shop.sandbox.face("/api/router").orders()},
    }


def _union_face(shop: Shop) -> UnionFace:
    face = shop.sandbox.face(PREFIX + "order/search")
    assert isinstance(face, UnionFace)
    return face


def _stored(shop: Shop) -> dict[str, set[tuple[str, str]]]:
    with Session(shop.engine) as session:
        rows = session.exec(select(OrderRow)).all()
    out: dict[str, set[tuple[str, str]]] = {}
    for row in rows:
        out.setdefault(row.league, set()).add((row.order_id, row.sku_id))
    return out


def _sync(shop: Shop, **kw: object) -> OrderSync:
    options: dict[str, object] = {
        "overlap": timedelta(minutes=3),
        "lookback": timedelta(minutes=20),
        "windows": SMALL,
    }
    options.update(kw)
    return OrderSync(shop.engine, shop.leagues, **options)  # type: ignore[arg-type]


async def _sell_everywhere(shop: Shop) -> None:
    for league in ("union", "taobao", "jd", "pdd"):
        for room in ROOMS:
            await shop.sell(league, room, count=2)


async def test_windows_overlaps_and_restarts_store_every_order_once(shop: Shop) -> None:
    await _sell_everywhere(shop)
    expected = _sandbox_lines(shop)
    assert all(expected[name] for name in ("union", "taobao", "jd", "pdd"))

    first = await _sync(shop).run()
    assert all(r.ok for r in first), first
    assert all(r.windows >= 10 for r in first)  # 20 minutes in 2-minute windows
    assert _stored(shop) == {name: lines for name, lines in expected.items() if lines}
    total = store.count_orders(shop.engine)
    assert total == sum(len(lines) for lines in expected.values())

    # a restart (a new process) re-reads an overlap that holds every order: nothing new, nothing twice
    for _ in range(3):
        again = await _sync(shop, overlap=timedelta(minutes=15)).run()
        assert all(r.ok and r.new == 0 for r in again), again
        assert all(r.fetched > 0 for r in again if expected[r.league])  # the overlap was read again
    assert store.count_orders(shop.engine) == total


async def test_a_crash_mid_sync_loses_nothing_and_counts_nothing_twice(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _sell_everywhere(shop)
    expected = _sandbox_lines(shop)
    real = store.store_window
    calls = {"n": 0}

    def dies_on_the_sixth_window(*args: object, **kw: object) -> store.Stored:
        calls["n"] += 1
        if calls["n"] == 6:
            raise OSError("disk gone (simulated crash before the window's commit)")
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "store_window", dies_on_the_sixth_window)
    crashed = await _sync(shop).sync_league("jd", shop.leagues["jd"])
    assert not crashed.ok and crashed.windows == 5
    cursor = store.read_cursor(shop.engine, "jd")
    assert cursor is not None and cursor < now()
    monkeypatch.setattr(store, "store_window", real)

    # the league itself fails mid-window on the next try: the cursor stays, nothing half-stored
    jd = shop.leagues["jd"]
    original = jd.orders_since
    seen = {"n": 0}

    async def flaky(since, until=None):  # type: ignore[no-untyped-def]
        seen["n"] += 1
        if seen["n"] == 2:
            raise LeagueUnavailable("timed out")
        return await original(since, until=until)

    monkeypatch.setattr(jd, "orders_since", flaky)
    failed = await _sync(shop).sync_league("jd", jd)
    assert not failed.ok and failed.windows == 1
    monkeypatch.setattr(jd, "orders_since", original)

    done = await _sync(shop).run()
    assert all(r.ok for r in done)
    assert _stored(shop) == {name: lines for name, lines in expected.items() if lines}
    assert store.count_orders(shop.engine) == sum(len(v) for v in expected.values())


async def test_each_order_is_credited_to_the_group_whose_link_sold_it(shop: Shop) -> None:
    await shop.sell("taobao", ROOMS[0], count=1)
    await shop.sell("jd", ROOMS[0], count=1)
    await shop.sell("pdd", ROOMS[1], count=1)
    await shop.sell("jd", ROOMS[1], keyword="手机", count=1)
    await shop.sell("union", ROOMS[0], count=1)
    await shop.sell("union", ROOMS[1], keyword="手机", count=1)
    await _sync(shop).run()
    with Session(shop.engine) as session:
        rows = session.exec(select(OrderRow)).all()
    by_league: dict[str, set[int | None]] = {}
    for row in rows:
        by_league.setdefault(row.league, set()).add(row.group_id)
    a, b = (shop.groups[room] for room in ROOMS)
    assert by_league["taobao"] == {a}
    assert by_league["jd"] == {a, b}
    assert by_league["pdd"] == {b}
    assert by_league["union"] == {a, b}  # each group's own promotion spot


async def test_one_process_syncs_at_a_time(shop: Shop) -> None:
    holder = _sync(shop)
    async with JobLock(shop.engine, sync_module.LOCK, holder="other-process").hold():
        with pytest.raises(SyncBusy):
            await holder.run()
    assert all(r.ok for r in await holder.run())


async def test_status_changes_are_kept_as_history_and_a_refund_stops_counting(shop: Shop) -> None:
    from bot.store.orders import figures, history

    await shop.sell("taobao", ROOMS[0], count=1)
    top = shop.sandbox.face("/router/rest")
    [order] = top.orders
    line = (order.trade_id, order.trade_id[:-1] + "0")
    syncer = _sync(shop, overlap=timedelta(minutes=15))
    await syncer.run()
    a = shop.groups[ROOMS[0]]
    [month] = figures(shop.engine, group_ids=[a])
    assert (month.orders, month.settled_fen) == (1, 0) and month.estimated_fen > 0

    order.status, order.modified = 3, order.modified + timedelta(seconds=30)  # the league settles it
    await syncer.run()
    [settled] = figures(shop.engine, group_ids=[a])
    assert settled.settled_fen == settled.estimated_fen == month.estimated_fen

    order.status, order.modified = 13, order.modified + timedelta(seconds=30)  # then refunds it
    await syncer.run()
    await syncer.run()  # read again: no new history
    [refunded] = figures(shop.engine, group_ids=[a])
    assert (refunded.orders, refunded.estimated_fen, refunded.cancelled) == (0, 0, 1)
    assert [e.status for e in history(shop.engine, "taobao", *line)] == ["pending", "settled", "cancelled"]
    assert store.count_orders(shop.engine) == 1


async def test_channels_orders_go_to_the_group_whose_owner_bound_the_sharer(shop: Shop) -> None:
    from bot.leagues.base import SearchQuery, Spot
    from bot.store.models import Group

    sharer = shop.sandbox.state.catalogue.sharers[0].sharer_appid
    a = shop.groups[ROOMS[0]]
    with Session(shop.engine) as session:
        group = session.get(Group, a)
        assert group is not None
        group.channels_sharer_appid = sharer
        session.add(group)
        session.commit()
    channels = shop.leagues["channels"]
    [product] = await channels.search(SearchQuery(keyword="耳机", limit=1))
    await channels.promote(product, Spot("channels", sharer_appid=sharer))  # the bound owner's link
    await channels.promote(product, Spot("channels", sharer_appid="wx_operator_default"))
    await _sync(shop).run()
    with Session(shop.engine) as session:
        rows = session.exec(select(OrderRow).where(OrderRow.league == "channels")).all()
    assert {r.group_id for r in rows if r.sharer_appid == sharer} == {a}
    assert {r.group_id for r in rows if r.sharer_appid != sharer} == {None}


async def test_union_settlements_and_refunds_are_read_again_by_order_id(shop: Shop) -> None:
    """The union lists orders by payment time only: a later settlement or refund would never show in
    a window, so the orders still open are read again by id."""
    from bot.store.orders import figures, history

    await shop.sell("union", ROOMS[0], count=4)
    face = _union_face(shop)
    first = await _sync(shop).run("union")
    assert [r.league for r in first] == ["union"] and first[0].ok
    with Session(shop.engine) as session:
        pending = session.exec(
            select(OrderRow).where(OrderRow.league == "union", OrderRow.status == "pending")
        ).all()
    opened = {p.order_id for p in pending}
    assert len(opened) >= 2, "the sandbox sold too little still pending"
    settles, refunds = (next(p for p in pending if p.order_id == o) for o in sorted(opened)[:2])
    total = store.count_orders(shop.engine)
    a = shop.groups[ROOMS[0]]
    [before] = figures(shop.engine, group_ids=[a])

    no_overlap = _sync(shop, overlap=timedelta(0))  # the payment windows are not read again
    face.settle(settles.order_id)
    [settled] = await no_overlap.run("union")
    assert settled.ok and settled.refreshed >= len(opened) and (settled.new, settled.changed) == (0, 1)
    face.refund(refunds.order_id)
    await no_overlap.run("union")
    again = await no_overlap.run("union")  # read again: no new history
    assert again[0].changed == 0 and again[0].refreshed == len(opened) - 2

    def statuses(line: OrderRow) -> list[str]:
        return [e.status for e in history(shop.engine, "union", line.order_id, line.sku_id)]

    assert statuses(settles) == ["pending", "settled"]
    assert statuses(refunds) == ["pending", "cancelled"]
    [after] = figures(shop.engine, group_ids=[a])
    assert after.settled_fen == before.settled_fen + settles.commission_fen
    assert (after.orders, after.cancelled) == (before.orders - 1, before.cancelled + 1)
    assert store.count_orders(shop.engine) == total
    still_open = set(store.open_order_ids(shop.engine, "union", now() - timedelta(days=1)))
    assert still_open == opened - {settles.order_id, refunds.order_id}
