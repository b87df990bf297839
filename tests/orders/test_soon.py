"""The embedded default's money loop (bot.orders.soon): a sync soon after a link is issued, one before
an owner's 佣金 when the last is stale, never two at once; and through `tuike run` on the console with
the sandbox the app starts itself, 佣金 right after a purchase shows the order (issue 30)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.orders.soon import SoonSync
from tests.e2e import running_console
from tests.helpers import wait_until


class Syncs:
    def __init__(self) -> None:
        self.count = 0
        self.done = asyncio.Event()
        self.gate: asyncio.Event | None = None

    async def __call__(self) -> None:
        if self.gate is not None:
            await self.gate.wait()
        self.count += 1
        self.done.set()


async def test_a_new_link_brings_a_sync_once_its_orders_can_exist() -> None:
    syncs = Syncs()
    soon = SoonSync(syncs, after=(0.0,))
    soon.link_issued()
    soon.link_issued()  # a burst of links: one sync covers them
    await asyncio.wait_for(syncs.done.wait(), 10)
    await asyncio.wait_for(soon._worker, 10)  # type: ignore[arg-type]
    assert syncs.count == 1
    assert soon.last is not None
    await soon.aclose()


async def test_commission_syncs_first_only_when_the_last_sync_is_stale() -> None:
    now = [1000.0]
    syncs = Syncs()
    soon = SoonSync(syncs, stale=60.0, clock=lambda: now[0])
    await soon.fresh(5.0)
    assert syncs.count == 1, "never synced: sync before answering"
    now[0] += 30
    await soon.fresh(5.0)
    assert syncs.count == 1, "synced half a minute ago: answer at once"
    now[0] += 31
    await soon.fresh(5.0)
    assert syncs.count == 2


async def test_a_slow_sync_leaves_the_answer_to_what_is_stored_and_runs_on() -> None:
    syncs = Syncs()
    syncs.gate = asyncio.Event()
    soon = SoonSync(syncs)
    await soon.fresh(0.01)  # returns at its deadline
    assert syncs.count == 0
    syncs.gate.set()
    await asyncio.wait_for(syncs.done.wait(), 10)
    assert syncs.count == 1, "the sync went on and finished"
    await soon.aclose()


async def test_in_the_embedded_default_commission_right_after_a_purchase_shows_the_order(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make run`'s setup: sandbox leagues served by the bot itself. The sandbox places an order a
    minute after a link is issued; its clock runs six minutes behind here, so the member has bought by
    the time the owner asks. Before: 「还没有订单」 until the 15-minute sync."""
    from tuike_sandbox.server import SandboxServer

    *others, _clock = SandboxServer.__init__.__defaults__ or ()
    monkeypatch.setattr(SandboxServer.__init__, "__defaults__", (*others, lambda: time.time() - 360))
    leagues = "".join(
        f"[leagues.{name}]\nenabled = true\nsandbox = true\n" for name in ("taobao", "jd", "pdd")
    )
    config = write_config(
        "[deals]\nanswer_deadline_seconds = 20\n[leagues.channels]\nsandbox = true\nsandbox_port = 0\n"
        + leagues
    )
    async with running_console(config) as console:
        console.type("找 蓝牙耳机\n")
        await wait_until(lambda: "蓝牙耳机" in console.out.getvalue(), 60)  # answered: links issued
        console.type("/owner\n佣金\n")
        await wait_until(lambda: "📊" in console.out.getvalue(), 60)
    report = console.out.getvalue().split("📊", 1)[1]
    assert "【今天】还没有订单" not in report and "【今天】🧾" in report, report


def test_orders_sync_says_plainly_when_it_runs_against_a_fresh_sandbox(
    write_config: Callable[..., Path],
) -> None:
    config = write_config("[leagues.channels]\nsandbox = true\nsandbox_port = 0\n")
    result = CliRunner().invoke(cli, ["--config", str(config), "orders", "sync"])
    assert result.exit_code == 0, result.output
    assert "全新的沙盒" in result.output and "取到 0 条是正常的" in result.output


async def test_a_link_made_by_the_league_says_so_and_a_cached_one_does_not(engine: object) -> None:
    """What the embedded default hooks its sync to: a new link (the sandbox will place an order for
    it), not one read from the cache."""
    from bot.leagues.base import PromotionLink, Spot
    from bot.leagues.linkcache import LinkCache

    links = LinkCache(engine)  # type: ignore[arg-type]
    made: list[str] = []
    links.on_created = lambda: made.append("new")
    spot = Spot("jd", pid="1_2_3", tag="g1")

    async def create() -> PromotionLink:
        return PromotionLink(product_id="1001", spot=spot, http_short_link="https://u.jd.com/Ab3dEf7")

    await links.get_or_create("jd", "1001", spot, create)
    await links.get_or_create("jd", "1001", spot, create)
    assert made == ["new"]
