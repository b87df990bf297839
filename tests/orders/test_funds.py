"""Reconciliation (对账) against the sandbox over real HTTP: the Channels organisation's funds flows set
against a seeded order set — a match, a missing flow, an extra flow — on SQLite and PostgreSQL; the
missing permission; and `tuike funds --json` as scripts read it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from bot.cli import cli
from bot.leagues.base import Spot
from bot.leagues.wechat.league import ChannelsLeague
from bot.orders.funds import forget, kept, reconcile, reconciled
from bot.store import db
from bot.store.groups import ensure_group
from bot.store.orders import store_window
from tests.e2e import channels_section
from tuike_sandbox.server import SandboxServer

SHARER = Spot("channels", sharer_appid="wx_sharer_demo01")


async def _seed(sandbox: SandboxServer, league: ChannelsLeague, engine: Engine, count: int = 4) -> list[str]:
    """Members bought through `count` of the group's links; every order settled, and synced."""
    products = [p for p in sandbox.state.catalogue.products if p.status == 1 and p.plan_type == 2][:count]
    for p in products:
        await league.promote(await league.product(str(p.product_id), p.shop_appid), SHARER)
    state = sandbox.state
    for order in state.orders():
        state.order_status[order["order_id"]] = 100
    synced = await league.orders_since(datetime.now(UTC) - timedelta(days=1))
    group = await asyncio.to_thread(ensure_group, engine, "a@chatroom", "福利群")
    await asyncio.to_thread(
        store_window, engine, "channels", [(o, group.id) for o in synced], datetime.now(UTC)
    )
    return sorted({o.order_id for o in synced})


def _window() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(days=1), now + timedelta(hours=1)  # the sandbox's orders settle minutes ahead


async def test_every_settled_order_has_its_flow(
    sandbox: SandboxServer, channels_league: ChannelsLeague, store: Engine
) -> None:
    orders = await _seed(sandbox, channels_league, store)
    result = await reconcile(store, channels_league, *_window())
    assert result.ok and result.difference_fen == 0
    assert result.settled_orders_fen == result.commission_flows_fen > 0
    assert {o.order_id for o in result.settled} == set(orders)
    assert not result.missing_flows and not result.extra_flows
    assert result.available_fen == sandbox.state.flows()[-1]["balance"]


async def test_a_settled_order_without_its_flow_explains_the_difference(
    sandbox: SandboxServer, channels_league: ChannelsLeague, store: Engine
) -> None:
    orders = await _seed(sandbox, channels_league, store)
    sandbox.state.withheld_flows.add(orders[0])
    result = await reconcile(store, channels_league, *_window(), tolerance_fen=0)
    [missing] = result.missing_flows
    assert missing.order_id == orders[0] and missing.group == "福利群"
    assert result.difference_fen == -missing.commission_fen < 0
    assert result.beyond_tolerance and not result.extra_flows


async def test_a_flow_for_no_settled_order_explains_the_difference(
    sandbox: SandboxServer, channels_league: ChannelsLeague, store: Engine
) -> None:
    await _seed(sandbox, channels_league, store)
    sandbox.state.add_flow(1234, order_id="3900000000999")  # an order sync never saw
    result = await reconcile(store, channels_league, *_window(), tolerance_fen=2000)
    [extra] = result.extra_flows
    assert extra.flow.order_id == "3900000000999" and extra.order is None
    assert result.difference_fen == 1234 and not result.beyond_tolerance  # within ¥20
    assert not result.missing_flows
    withdrawal = [f for f in result.flows if f.type == "withdrawal"]
    assert all(f.amount_fen < 0 for f in withdrawal), "money out is negative"


async def test_a_flow_for_an_order_synced_as_pending_names_its_status(
    sandbox: SandboxServer, channels_league: ChannelsLeague, store: Engine
) -> None:
    orders = await _seed(sandbox, channels_league, store)
    synced = await channels_league.orders_since(datetime.now(UTC) - timedelta(days=1))
    late = [o for o in synced if o.order_id == orders[1]]
    pending = [replace(o, status="pending") for o in late]
    await asyncio.to_thread(store_window, store, "channels", [(o, None) for o in pending], datetime.now(UTC))
    result = await reconcile(store, channels_league, *_window())
    [extra] = result.extra_flows
    assert extra.order is not None and extra.order.status == "pending"
    assert result.difference_fen == sum(o.commission_fen for o in late)


async def test_without_the_funds_permission_it_says_so_once(
    sandbox: SandboxServer, channels_league: ChannelsLeague, engine: Engine
) -> None:
    sandbox.state.funds_permitted = False
    result = await reconcile(engine, channels_league, *_window())
    assert not result.ok and "48001" in result.not_permitted and "权限" in result.not_permitted
    forget()
    now = datetime.now(UTC)
    first = await reconciled(engine, channels_league, now=now, days=30, tolerance_fen=0)
    calls = sandbox.state.calls["/channels/ec/league/headsupplier/funds/balance/get"]
    again = await reconciled(
        engine, channels_league, now=now + timedelta(minutes=1), days=30, tolerance_fen=0
    )
    assert again is first is kept("channels")
    assert sandbox.state.calls["/channels/ec/league/headsupplier/funds/balance/get"] == calls, (
        "kept, not asked"
    )
    forget()


async def test_flow_details_are_asked_once(
    sandbox: SandboxServer, channels_league: ChannelsLeague, engine: Engine
) -> None:
    for n in range(12):
        sandbox.state.add_flow(10 + n, order_id=f"x{n}")
    await reconcile(engine, channels_league, *_window())
    await reconcile(engine, channels_league, *_window())
    assert sandbox.state.calls["/channels/ec/league/headsupplier/funds/flowdetail/get"] == 12


async def _tuike(config: Path, *args: str) -> tuple[int, str, str]:
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["--config", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("permitted", [True, False])
async def test_tuike_funds_json(
    sandbox: SandboxServer, write_config: Callable[..., Path], tmp_path: Path, permitted: bool
) -> None:
    config = write_config(channels_section(sandbox.base_url))
    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'tuike.db'}")
    db.upgrade(engine)
    engine.dispose()
    sandbox.state.add_flow(500, order_id="3900000000001", at=sandbox.state.clock() - 3600)
    sandbox.state.funds_permitted = permitted
    code, out, err = await _tuike(config, "funds", "--league", "channels", "--json")
    if not permitted:
        assert code == 1 and out == "" and "权限" in err
        return
    assert code == 0, err
    [row] = [json.loads(line) for line in out.splitlines()]
    assert set(row) == {
        "league",
        "available_fen",
        "pending_fen",
        "settled_orders_fen",
        "difference_fen",
        "flows",
    }
    assert row["league"] == "channels" and row["difference_fen"] == 500 and row["settled_orders_fen"] == 0
    assert all(set(f) == {"flow_id", "amount_fen", "time", "type"} for f in row["flows"])
    assert [f["type"] for f in row["flows"]] == ["withdrawal", "commission"]
    assert row["flows"][1]["amount_fen"] == 500 and row["flows"][1]["time"].endswith("+08:00")
    code, out, _ = await _tuike(config, "funds")
    assert code == 0 and "差额 ¥5.00" in out and "本地没有这笔订单" in out
