"""The 推送 page: upcoming slots, recent results with reasons and filters, "立即发送" through the push
service (today's slot, once, the schedule does not repeat it) and "试运行" (shown, not sent, not recorded).

The chat side is wired as `tuike run` wires it: a console channel (printing to a StringIO), its paced
sender and push service, and the console served beside them."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.chat.console import ConsoleChannel
from bot.compose import build_sender
from bot.leagues.base import League
from bot.leagues.linkcache import LinkCache
from bot.push import claims
from bot.push.sender import PacedSender
from bot.push.service import PushService, group_spot
from bot.render.engine import Renderer
from bot.store import subscriptions
from bot.store.groups import ensure_group
from bot.store.models import Group, PushLog
from tests.web.conftest import Console, console_settings, serve_console

NOW = datetime(2026, 11, 22, 0, 40, tzinfo=UTC)  # 08:40 in Shanghai


@dataclass
class Wired:
    """The console served inside a bot: what the console channel printed, its sender and push service."""

    console: Console
    out: io.StringIO
    push: PushService
    sender: PacedSender

    def sends_to(self, room_id: str) -> int:
        return self.out.getvalue().count(f"── 发往「{room_id}」──")


@asynccontextmanager
async def chat_console(
    tmp_path: Path, engine: Engine, league: League | None = None, clock: Any = None
) -> AsyncIterator[Wired]:
    """The console beside a console-channel bot, wired as bot/app.py wires `tuike run`."""
    settings = console_settings(tmp_path)
    out = io.StringIO()
    channel = ConsoleChannel(
        bot_name="推客小助手",
        room="测试群",
        member="小明",
        owner="群主",
        stdin=io.StringIO(""),
        stdout=out,
        interactive=False,
    )
    renderer = Renderer(settings.templates_dir, timezone=settings.bot.timezone)
    sender = build_sender(settings, channel)
    sender.start()
    extra: dict[str, Any] = {"clock": clock} if clock else {}
    push = PushService(
        settings,
        engine,
        league,
        renderer,
        sender,
        LinkCache(engine),
        group_spot(settings),
        account=channel.account,
        **extra,
    )
    await push.start_broadcasts()
    leagues = {"channels": league} if league is not None else {}
    try:
        async for console in serve_console(
            tmp_path,
            engine,
            settings=settings,
            renderer=renderer,
            pushes={"console": push},
            leagues=leagues,
            **extra,
        ):
            yield Wired(console, out, push, sender)
    finally:
        await sender.close()
        await push.stop()


def subscribed(engine: Engine, room: str, name: str, at_time: str) -> Group:
    group = ensure_group(engine, room, name, account="console")
    assert group.id is not None
    subscriptions.subscribe(engine, group.id, "daily", at_time, now=NOW - timedelta(days=3))
    return group


def log_rows(engine: Engine, group_id: int) -> list[PushLog]:
    with Session(engine) as session:
        return list(session.exec(select(PushLog).where(PushLog.group_id == group_id)).all())


async def test_send_now_sends_todays_slot_once_and_the_schedule_does_not_send_it_again(
    tmp_path: Path, engine: Engine, channels_league: League
) -> None:
    group = subscribed(engine, "deals@chatroom", "好物群", "20:00")
    assert group.id is not None
    async with chat_console(tmp_path, engine, channels_league, clock=lambda: NOW) as wired:
        client = await wired.console.logged_in()
        page = await client.get("/pushes")
        assert page.status_code == 200
        assert "好物群" in page.text and "11-22 20:00" in page.text  # the next run, in Shanghai time

        sent = await client.post(f"/pushes/{group.id}/send")
        assert sent.status_code == 303, sent.text
        shown = await client.get(sent.headers["location"])
        assert "已开始给「好物群」发送 11-22 20:00 这一期" in shown.text
        await wired.push.stop()  # writes the "sent" mark
        [row] = log_rows(engine, group.id)
        assert (row.slot, row.status) == ("daily:2026-11-22T20:00", claims.SENT)
        assert wired.sends_to("deals@chatroom") == 1 and "今日好物" in wired.out.getvalue()

        again = await client.post(f"/pushes/{group.id}/send")
        assert again.status_code == 409
        assert "11-22 20:00 这一期已经有记录了（已发送），不会重复发送" in again.text
        # 20:00 comes: the scheduled tick finds the slot claimed and sends nothing
        assert await wired.push.tick(now=NOW + timedelta(hours=11, minutes=21)) == 0
        assert wired.sends_to("deals@chatroom") == 1
        assert len(log_rows(engine, group.id)) == 1


async def test_dry_run_shows_the_message_and_sends_and_records_nothing_even_alone(
    tmp_path: Path, engine: Engine, channels_league: League
) -> None:
    group = subscribed(engine, "dry@chatroom", "试运行群", "09:00")
    assert group.id is not None
    async for console in serve_console(tmp_path, engine, leagues={"channels": channels_league}):
        client = await console.logged_in()
        page = await client.get("/pushes")
        assert "单独运行" in page.text  # the page says why "立即发送" cannot work here
        dry = await client.post(f"/pushes/{group.id}/dry-run")
        assert dry.status_code == 200, dry.text
        assert "试运行：「试运行群」" in dry.text and "今日好物" in dry.text and "👉" in dry.text
        assert "什么都没有发送，也没有记录" in dry.text
        refused = await client.post(f"/pushes/{group.id}/send")
        assert refused.status_code == 409
        assert "单独运行" in refused.text and "发不出消息" in refused.text
        assert log_rows(engine, group.id) == []


async def test_dry_run_without_any_league_says_so(console: Console) -> None:
    group = subscribed(console.engine, "none@chatroom", "没联盟的群", "09:00")
    client = await console.logged_in()
    response = await client.post(f"/pushes/{group.id}/dry-run")
    assert response.status_code == 409 and "没有可用的联盟" in response.text


async def test_a_blocked_group_is_not_sent_to_now(tmp_path: Path, store: Engine) -> None:
    group = subscribed(store, "blocked@chatroom", "屏蔽的群", "09:00")
    with Session(store) as session:
        row = session.get(Group, group.id)
        assert row is not None
        row.blocked = True
        session.add(row)
        session.commit()
    async with chat_console(tmp_path, store) as wired:
        client = await wired.console.logged_in()
        response = await client.post(f"/pushes/{group.id}/send")
        assert response.status_code == 409 and "已屏蔽" in response.text
        assert group.id is not None and log_rows(store, group.id) == []
        assert (await client.post("/pushes/99999/send")).status_code == 404


async def test_results_show_reasons_in_chinese_filter_by_status_and_group_and_paginate(
    console: Console,
) -> None:
    engine = console.engine
    a = subscribed(engine, "a@chatroom", "甲群", "08:30")
    b = subscribed(engine, "b@chatroom", "乙群", "12:00")
    assert a.id is not None and b.id is not None
    for day in range(1, 56):
        claims.claim(
            engine,
            a.id,
            f"daily:2026-09-{day:02d}T08:30" if day <= 30 else f"daily:2026-10-{day - 30:02d}T08:30",
            "h/1",
            claims.SENT,
        )
    claims.claim(engine, b.id, "daily:2026-11-20T12:00", "h/1", claims.CLAIMED)
    claims.mark(engine, b.id, "daily:2026-11-20T12:00", claims.FAILED, detail="ChatError: 群不存在")
    claims.claim(
        engine, b.id, "daily:2026-11-21T12:00", "h/1", claims.SKIPPED, "missed by 3:12:00.5: too late to send"
    )
    claims.claim(engine, b.id, "broadcast:7", "h/1", claims.SENDING)
    claims.recover_interrupted(engine, "h/")
    client = await console.logged_in()

    everything = await client.get("/pushes")
    assert "共 58 条" in everything.text and "下一页" in everything.text
    assert "甲群" in everything.text and "乙群" in everything.text

    problems = (await client.get("/pushes?status=problems")).text
    assert "共 2 条" in problems
    assert "ChatError: 群不存在" in problems and ">失败<" in problems
    assert ">中断<" in problems and "发送途中机器人停了" in problems and "群发 #7" in problems

    skipped = (await client.get("/pushes?status=skipped")).text
    assert "共 1 条" in skipped and "错过了 3:12:00，太晚了，没有补发" in skipped

    only_a = (await client.get(f"/pushes?group={a.id}")).text
    assert "共 55 条" in only_a and "只看「甲群」" in only_a
    second = (await client.get(f"/pushes?group={a.id}&page=2")).text
    assert "上一页" in second and "下一页" not in second
    week_ago = datetime.now(UTC) - timedelta(days=7)
    assert (
        claims.counts_lately(engine, week_ago)
        == claims.counts_since(engine, week_ago)
        == {
            claims.SENT: 55,
            claims.FAILED: 1,
            claims.SKIPPED: 1,
            claims.INTERRUPTED: 1,
        }
    )
