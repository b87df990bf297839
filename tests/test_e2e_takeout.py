"""外卖 end to end through the console channel, the app and the sandbox's Ele.me (TOP) and Meituan faces
over HTTP on 127.0.0.1: a member gets both leagues' links made for the group (its sid), another group
gets other links, asking again costs no call, and one league down leaves the other's links."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from sqlmodel import Session, select

from bot.store import db
from bot.store.models import LeagueSpot, Subscription
from tests.e2e import channels_section, run_console
from tests.takeout_config import takeout_sections
from tuike_sandbox.eleme_face import ElemeFace
from tuike_sandbox.meituan_face import MeituanFace
from tuike_sandbox.server import SandboxServer

ELEME = re.compile(r"https://s\.click\.ele\.me/[A-Za-z0-9]+")
MEITUAN = re.compile(r"https://dpurl\.cn/[0-9a-f]+")


def _config(write_config: Callable[..., Path], sandbox: SandboxServer, *, meituan: bool = True) -> Path:
    return write_config(
        channels_section(sandbox.base_url) + takeout_sections(sandbox.base_url, meituan=meituan)
    )


def _faces(sandbox: SandboxServer) -> tuple[ElemeFace, MeituanFace]:
    eleme = sandbox.face("/router/rest").extensions["eleme"]
    meituan = sandbox.face("/cps_open/common/api/v1/get_referral_link")
    assert isinstance(eleme, ElemeFace) and isinstance(meituan, MeituanFace)
    return eleme, meituan


async def test_takeout_answers_with_both_leagues_links_made_for_the_group(
    sandbox: SandboxServer, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    eleme, meituan = _faces(sandbox)
    out = await run_console(_config(write_config, sandbox), "外卖\n外卖红包\n/room 另一个群\n美团\n饿了么\n")
    replies = out.split("@小明 ")[1:]
    assert len(replies) == 4, out
    first, again, other, _ = replies
    assert "饿了么" in first and "美团" in first
    assert ELEME.findall(first) and MEITUAN.findall(first)
    assert "[小程序卡片]" in first and "appid=wxece3a9a4c82f58c9" in first
    assert ELEME.findall(again) == ELEME.findall(first), "the same group keeps its links"
    assert set(ELEME.findall(other)).isdisjoint(ELEME.findall(first)), "another group gets its own"
    assert set(MEITUAN.findall(other)).isdisjoint(MEITUAN.findall(first))
    # one league call per group (per day), however often it is asked
    assert eleme.calls["alibaba.alsc.union.eleme.promotion.officialactivity.get"] == 2
    assert meituan.calls["get_referral_link"] == 2
    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'tuike.db'}")
    with Session(engine) as session:
        kept = {
            (s.league, s.tag)
            for s in session.exec(select(LeagueSpot)).all()
            if s.league in ("eleme", "meituan")
        }
    engine.dispose()
    sids = {q["sid"] for q in eleme.queries}
    assert {tag for league, tag in kept if league == "eleme"} == sids and len(sids) == 2
    assert {tag for league, tag in kept if league == "meituan"} == {b["sid"] for b in meituan.bodies}


async def test_meituan_down_still_answers_with_eleme(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    _eleme, meituan = _faces(sandbox)
    meituan.refuse_account = True
    out = await run_console(_config(write_config, sandbox), "外卖\n")
    (reply,) = out.split("@小明 ")[1:]
    assert ELEME.findall(reply) and not MEITUAN.findall(reply)
    assert "美团暂时取不到" in reply


async def test_meituan_off_answers_with_eleme_only(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    out = await run_console(_config(write_config, sandbox, meituan=False), "外卖\n")
    (reply,) = out.split("@小明 ")[1:]
    assert ELEME.findall(reply) and "美团" not in reply


async def test_subscribe_takeout_pushes_at_that_time_on_the_test_clock(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    from datetime import UTC, datetime, timedelta

    from tests.e2e import running_console
    from tests.helpers import wait_until

    unpaced = "\n[push]\nrate_per_minute = 600\njitter_min_seconds = 0\njitter_max_seconds = 0\n"
    config = write_config(channels_section(sandbox.base_url) + takeout_sections(sandbox.base_url) + unpaced)
    eleme, _meituan = _faces(sandbox)
    async with running_console(config) as console:
        out = console.out
        console.type("/owner\n订阅 外卖 10:30\n")
        await wait_until(lambda: "每天 10:30" in out.getvalue(), 20)
        await wait_until(lambda: console.app.push is not None, 20)
        push = console.app.push
        # tomorrow, 10:30 in Shanghai: the slot is due
        today = datetime.now(UTC).astimezone(push.zone).date()
        slot = datetime(today.year, today.month, today.day, 10, 30, tzinfo=push.zone) + timedelta(days=1)
        assert await push.tick(slot - timedelta(minutes=1)) == 0
        assert await push.tick(slot) == 1
        await wait_until(lambda: "外卖红包来啦" in out.getvalue(), 20)
        assert await push.tick(slot + timedelta(minutes=1)) == 0, "never twice"
    pushed = out.getvalue().split("外卖红包来啦")[1]
    assert ELEME.findall(pushed) and MEITUAN.findall(pushed)
    assert eleme.queries[-1]["sid"].startswith("tk_")


async def test_subscription_status_says_when_each_takeout_slot_next_goes(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    """订阅状态 gives every 外卖 slot its own next run — beside a 每日好物 slot at the same time, which
    keeps its own — dated as the push job fires it (next local HH:MM, Asia/Shanghai)."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from bot.push.slots import next_slot

    zone = ZoneInfo("Asia/Shanghai")

    def when(at_time: str, now: datetime) -> str:
        moment = next_slot(at_time, now, zone).astimezone(zone)
        return f"下一次：{moment.month}月{moment.day}日 周{'一二三四五六日'[moment.weekday()]} {at_time}"

    before = datetime.now(UTC)
    out = await run_console(
        _config(write_config, sandbox),
        "/owner\n订阅 外卖 10:30\n订阅 外卖 18:00\n订阅 每日好物 10:30\n订阅状态\n",
    )
    after = datetime.now(UTC)
    status = out.split("@小明 ")[1:][-1]
    lines = [line.strip() for line in status.splitlines() if line.strip()]
    for title, at_time in (
        ("外卖红包 10:30", "10:30"),
        ("外卖红包 18:00", "18:00"),
        ("每日好物 10:30", "10:30"),
    ):
        (index,) = [i for i, line in enumerate(lines) if title in line]
        assert lines[index + 1] in {when(at_time, before), when(at_time, after)}, status
    assert status.count("下一次") == 3, status


async def test_subscribing_takeout_without_a_takeout_league_is_refused_and_says_why(
    sandbox: SandboxServer, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    """With neither 饿了么 nor 美团 on, 订阅 外卖 stores nothing (a slot that can never send would be a
    promise broken every day) and says why; 订阅状态 then lists no 外卖 slot."""
    out = await run_console(
        write_config(channels_section(sandbox.base_url)), "/owner\n订阅 外卖 10:30\n订阅状态\n"
    )
    assert "外卖红包还没开通" in out and "「订阅 外卖 10:30」" in out, out
    assert "订好啦" not in out, out
    assert "外卖红包 10:30" not in out.split("外卖红包还没开通", 1)[1], out
    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'tuike.db'}")
    try:
        with Session(engine) as session:
            assert not session.exec(select(Subscription).where(Subscription.kind == "takeout")).all()
    finally:
        engine.dispose()
