"""The 线报 pipeline on the real store (SQLite and PostgreSQL), real paced senders and claims, with a fake
remaker: what reaches each target group, what is dropped and why, holds, retries, the hourly cap, the
bounded queue, echoes and a restart mid-forward."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine

from bot.chat.base import Outgoing
from bot.forward import pipeline as forward_pipeline
from bot.push import claims
from bot.store import forward as log
from bot.store import subscriptions
from bot.store.groups import ensure_group, set_blocked
from bot.store.models import ForwardLog, utcnow
from tests.conftest import LoopWatchdog
from tests.forward.fakes import Chat, Clock, FakeRemaker, pipeline, said, sender, settled

T = TypeVar("T")


@pytest.fixture
async def store(store: Engine, loop_watchdog: LoopWatchdog) -> Engine:
    """The store, migrated before the watchdog starts (on PostgreSQL the fixture migrates on the loop
    thread); from then on no store call may run on the event loop."""
    return store


async def _rows(engine: Engine) -> list[ForwardLog]:
    """The log, oldest first (read off the loop, as the bot reads it)."""
    return list(reversed(await asyncio.to_thread(log.recent, engine, 500)))


async def off(work: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(work, *args)


async def test_a_source_message_reaches_both_targets_each_with_its_own_links(store: Engine) -> None:
    chat, remaker = Chat(), FakeRemaker()
    pipe = pipeline(store, chat, remaker)
    await pipe.start()
    assert await pipe.intake(said("src1@chatroom", "好价！商品:taobao:111 到手 9.9"))
    await settled(pipe)
    assert chat.texts("t1@chatroom") == ["【线报】好价！https://taobao.example/111?g=t1@chatroom 到手 9.9"]
    assert chat.texts("t2@chatroom") == ["【线报】好价！https://taobao.example/111?g=t2@chatroom 到手 9.9"]
    assert chat.texts("src1@chatroom") == [], "never back to the source"
    (row,) = await _rows(store)
    assert (row.status, row.groups, row.keys, row.reason) == ("forwarded", 2, "taobao:111", "")
    await pipe.stop()


async def test_chatter_in_a_source_and_messages_elsewhere_are_not_forwardings(store: Engine) -> None:
    pipe = pipeline(store, Chat(), FakeRemaker())
    pipe.worth = lambda text: "商品:" in text
    assert not await pipe.intake(said("src1@chatroom", "大家早上好"))
    assert not await pipe.intake(said("other@chatroom", "商品:jd:1"))
    assert await pipe.intake(said("other@chatroom", "商品:jd:1", sender_id="wxid_dealer")), "a source sender"
    pipe.settings = pipe.settings.model_copy(update={"enabled": False})
    assert not await pipe.intake(said("src1@chatroom", "商品:jd:2"))
    assert len(await _rows(store)) == 1


async def test_the_same_product_from_two_sources_is_forwarded_once(store: Engine) -> None:
    chat = Chat()
    pipe = pipeline(store, chat, FakeRemaker())
    await pipe.start()
    await pipe.intake(said("src1@chatroom", "商品:jd:42 只要 19"))
    await pipe.intake(said("src2@chatroom", "京东好价 商品:jd:42 冲"))
    await settled(pipe)
    assert len(chat.texts("t1@chatroom")) == 1 and len(chat.texts("t2@chatroom")) == 1
    first, second = await _rows(store)
    assert first.status == "forwarded"
    assert second.status == "dropped" and second.reason.startswith("重复：jd:42 在 12 小时内已经转发过")
    await pipe.stop()


async def test_one_foreign_link_drops_the_whole_message_with_its_reason(store: Engine) -> None:
    chat = Chat()
    pipe = pipeline(store, chat, FakeRemaker(), block_words=("代理",))
    await pipe.start()
    await pipe.intake(said("src1@chatroom", "商品:taobao:1 还有 外链:shop.example/x"))
    await pipe.intake(said("src1@chatroom", "招代理 商品:taobao:2"))
    await settled(pipe)
    assert chat.sent == []
    foreign, blocked = await _rows(store)
    assert foreign.status == "dropped" and "shop.example/x" in foreign.reason
    assert blocked.status == "dropped" and blocked.reason == "含屏蔽词「代理」"
    assert foreign.body == "" and foreign.excerpt.startswith("商品:taobao:1"), "the log keeps the excerpt"
    await pipe.stop()


async def test_quiet_hours_hold_until_morning_on_the_test_clock(store: Engine) -> None:
    chat, clock = (
        Chat(),
        Clock(utcnow().replace(hour=15, minute=30, second=0, microsecond=0)),
    )  # 23:30 in Shanghai
    pipe = pipeline(store, chat, FakeRemaker(), clock, quiet_hours="23:00-07:00", quiet_mode="hold")
    await pipe.start()
    await pipe.intake(said("src1@chatroom", "夜里的好价 商品:pdd:7"))
    await pipe.drained()
    (row,) = await _rows(store)
    assert row.status == "held" and row.next_try_at is not None
    assert row.next_try_at.astimezone(clock.at.tzinfo) == clock.at.replace(hour=23, minute=0), "07:00 local"
    clock.advance(hours=4)  # 03:30: still quiet
    await pipe.tick()
    await pipe.drained()
    assert chat.sent == [] and (await _rows(store))[0].status == "held"
    clock.advance(hours=3, minutes=31)  # 07:01: the job's next run after the quiet hours
    await pipe.tick()
    await settled(pipe)
    assert len(chat.texts("t1@chatroom")) == 1 and (await _rows(store))[0].status == "forwarded"
    await pipe.stop()


async def test_quiet_hours_in_drop_mode_drop_and_say_so(store: Engine) -> None:
    chat, clock = Chat(), Clock(utcnow().replace(hour=16, minute=0))  # 00:00 in Shanghai
    pipe = pipeline(store, chat, FakeRemaker(), clock, quiet_hours="23:00-07:00", quiet_mode="drop")
    await pipe.start()
    await pipe.intake(said("src1@chatroom", "商品:pdd:8"))
    await settled(pipe)
    (row,) = await _rows(store)
    assert row.status == "dropped" and "免打扰" in row.reason and chat.sent == []
    await pipe.stop()


async def test_a_league_down_is_retried_until_the_delay_then_dropped(store: Engine) -> None:
    chat, clock, remaker = Chat(), Clock(utcnow()), FakeRemaker(down=True)
    pipe = pipeline(store, chat, remaker, clock, max_delay_minutes=3)
    await pipe.start()
    await pipe.intake(said("src1@chatroom", "商品:jd:1 慢:jd:s1"))
    await pipe.intake(said("src2@chatroom", "商品:jd:2 慢:jd:s2"))
    await pipe.drained()
    assert [r.status for r in (await _rows(store))] == ["queued", "queued"]
    assert "稍后重试" in (await _rows(store))[0].reason
    clock.advance(seconds=61)
    remaker.down = False  # the league is back for the first retry of both
    await pipe.tick()
    await settled(pipe)
    assert [r.status for r in (await _rows(store))] == ["forwarded", "forwarded"]
    remaker.down = True
    await pipe.intake(said("src1@chatroom", "商品:jd:3 慢:jd:s3"))
    for _ in range(3):
        clock.advance(seconds=61)
        await pipe.tick()
        await pipe.drained()
    last = (await _rows(store))[-1]
    assert last.status == "dropped" and "3 分钟内没能转换，放弃" in last.reason
    assert len(chat.texts("t1@chatroom")) == 2
    await pipe.stop()


async def test_the_hourly_cap_holds_and_a_full_queue_says_what_it_dropped(store: Engine) -> None:
    chat, remaker = Chat(), FakeRemaker(gate=asyncio.Event())
    pipe = pipeline(store, chat, remaker, max_per_hour=6, queue_size=20)
    await pipe.start()
    taken = [await pipe.intake(said("src1@chatroom", f"第 {i} 条 商品:taobao:{i}")) for i in range(100)]
    assert all(taken), "every source message is forwarding's: queued or dropped"
    assert pipe.figures.queue_full == 79, "20 wait on the queue, 1 in the worker (its league is slow)"
    remaker.gate.set()  # type: ignore[union-attr]
    await settled(pipe)
    assert len(chat.texts("t1@chatroom")) == 6 and len(chat.texts("t2@chatroom")) == 6
    rows = await _rows(store)
    assert len(rows) == 100, "every message has its row"
    full = [r for r in rows if r.reason == forward_pipeline.QUEUE_FULL]
    assert len(full) == 79 and all(r.status == "dropped" for r in full)
    capped = [r for r in rows if r.status == "dropped" and "每小时上限" in r.reason]
    assert len(capped) == 15
    assert [r.status for r in rows[:6]] == ["forwarded"] * 6
    await pipe.stop()


async def test_our_forward_coming_back_from_a_target_that_is_a_source_goes_nowhere(store: Engine) -> None:
    chat = Chat()
    pipe = pipeline(store, chat, FakeRemaker(), sources=("src1@chatroom", "t1@chatroom"))
    await pipe.start()
    await pipe.intake(said("src1@chatroom", "商品:vip:5"))
    await settled(pipe)
    (ours,) = chat.texts("t1@chatroom")
    assert await pipe.intake(said("t1@chatroom", ours, sender_id="wxid_someone_reposting"))
    assert await pipe.intake(said("t1@chatroom", ours, from_self=True))
    quoted = "转一下：" + ours.split("https://", 1)[1].join(["https://", ""])
    assert await pipe.intake(said("t1@chatroom", quoted))
    await settled(pipe)
    assert chat.texts("t1@chatroom") == [ours] and len(chat.texts("t2@chatroom")) == 1
    assert [r.reason for r in (await _rows(store))[1:]] == [forward_pipeline.ECHO] * 3
    await pipe.stop()


async def test_targets_are_the_config_and_the_subscribed_groups_less_the_blocked(store: Engine) -> None:
    chat = Chat()
    pipe = pipeline(store, chat, FakeRemaker(), targets=("t1@chatroom",))
    fan = await off(lambda: ensure_group(store, "fan@chatroom", "粉丝群", account="console:bot"))
    blocked = await off(ensure_group, store, "t1@chatroom", "目标群")
    assert fan.id and blocked.id
    await off(subscriptions.subscribe, store, fan.id, "forward")
    await off(set_blocked, store, blocked.id, True)
    await pipe.start()
    await pipe.intake(said("src1@chatroom", "商品:jd:9"))
    await settled(pipe)
    assert [o.chat_id for o in chat.sent] == ["fan@chatroom"]
    await pipe.stop()


async def test_a_restart_mid_forward_sends_nothing_twice(store: Engine) -> None:
    chat, remaker = Chat(), FakeRemaker()
    first_sender = sender(chat)
    in_flight = asyncio.Event()
    tried: list[str] = []
    real_send = chat.send

    async def dies_on_the_second_send(outgoing: Outgoing) -> None:
        tried.append(outgoing.chat_id)
        if len(tried) == 1:
            await real_send(outgoing)
            return
        in_flight.set()
        await asyncio.Event().wait()  # never returns: the process dies first

    first_sender._send = dies_on_the_second_send
    targets = ("t1@chatroom", "t2@chatroom", "t3@chatroom")
    first = pipeline(store, chat, remaker, senders={"console:bot": first_sender}, targets=targets)
    await first.start()
    await first.intake(said("src1@chatroom", "商品:jd:77"))
    await first.drained()
    await asyncio.wait_for(in_flight.wait(), 10)
    await first.stop()
    dying = first_sender._task  # the process dies: one group sent, one on the wire, one never begun
    assert dying is not None
    dying.cancel()
    await asyncio.gather(dying, return_exceptions=True)
    assert sorted((await off(log.groups_done, store, 1)).values()) == ["claimed", "sending", "sent"]
    sent, on_the_wire = tried
    (never_begun,) = set(targets) - {sent, on_the_wire}

    second = pipeline(store, chat, remaker, targets=targets)
    await second.start()  # gives back the reservation never begun, marks the one on the wire interrupted
    await second.tick()
    await settled(second)
    assert len(chat.texts(sent)) == 1, "the group that got it does not get it again"
    assert chat.texts(on_the_wire) == [], "it may have got it: never resent"
    assert len(chat.texts(never_begun)) == 1, "the group never reached gets it after the restart"
    assert sorted((await off(log.groups_done, store, 1)).values()) == ["interrupted", "sent", "sent"]
    (row,) = await _rows(store)
    assert row.status == "forwarded" and row.groups == 2
    await second.stop()


async def test_a_second_process_sends_nothing_twice(store: Engine) -> None:
    chat = Chat()
    a = pipeline(store, chat, FakeRemaker(), owner="host-a:console")
    b = pipeline(store, chat, FakeRemaker(), owner="host-b:console")
    await a.start()
    await b.start()
    message = said("src1@chatroom", "商品:taobao:3")
    assert await a.intake(message)
    assert await b.intake(message), "the same message heard by both: recorded once"
    await settled(a)
    await b.tick()
    await settled(b)
    assert len(chat.texts("t1@chatroom")) == 1 and len(chat.texts("t2@chatroom")) == 1
    t1 = await off(ensure_group, store, "t1@chatroom", "")
    assert await off(claims.status_of, store, t1.id, "forward:1") == "sent"
    await a.stop()
    await b.stop()


async def test_a_message_held_overnight_is_sent_by_the_next_process(store: Engine) -> None:
    chat, clock = Chat(), Clock(utcnow().replace(hour=15, minute=30, second=0, microsecond=0))
    quiet = {"quiet_hours": "23:00-07:00", "quiet_mode": "hold"}
    evening = pipeline(store, chat, FakeRemaker(), clock, **quiet)
    await evening.start()
    await evening.intake(said("src1@chatroom", "夜里的好价 商品:pdd:70"))
    await evening.drained()
    await evening.stop()  # the bot is restarted during the night
    clock.advance(hours=7, minutes=31)  # 07:01
    morning = pipeline(store, chat, FakeRemaker(), clock, **quiet)
    await morning.start()
    await morning.tick()
    await settled(morning)
    assert len(chat.texts("t1@chatroom")) == 1 and len(chat.texts("t2@chatroom")) == 1
    await morning.stop()


async def test_a_send_the_platform_refuses_is_recorded_and_the_other_groups_still_get_it(
    store: Engine,
) -> None:
    chat = Chat(fail_rooms={"t1@chatroom"})
    pipe = pipeline(store, chat, FakeRemaker())
    await pipe.start()
    await pipe.intake(said("src1@chatroom", "商品:jd:88"))
    await settled(pipe)
    assert chat.texts("t2@chatroom") and not chat.texts("t1@chatroom")
    t1 = await off(ensure_group, store, "t1@chatroom", "")
    assert await off(claims.status_of, store, t1.id, "forward:1") == "failed"
    (row,) = await _rows(store)
    assert row.status == "forwarded" and row.groups == 1
    await pipe.stop()


async def test_two_processes_of_other_accounts_each_forward_once_to_their_own_groups(store: Engine) -> None:
    chat = Chat()
    await off(lambda: ensure_group(store, "t1@chatroom", "甲的群", account="gateway:a"))
    await off(lambda: ensure_group(store, "t2@chatroom", "乙的群", account="gateway:b"))
    a = pipeline(store, chat, FakeRemaker(), account="gateway:a", owner="host-1:gateway:a")
    b = pipeline(store, chat, FakeRemaker(), account="gateway:b", owner="host-2:gateway:b")
    await a.start()
    await b.start()
    for pipe, account in ((a, "gateway:a"), (b, "gateway:b")):  # both accounts sit in both sources
        await pipe.intake(said("src1@chatroom", "商品:jd:5", account=account, message_id="m-first"))
        await pipe.intake(said("src2@chatroom", "又是 商品:jd:5", account=account, message_id="m-again"))
        await settled(pipe)
    assert [o.chat_id for o in chat.sent] == ["t1@chatroom", "t2@chatroom"]
    rows = await _rows(store)
    assert [(r.account, r.status) for r in rows] == [
        ("gateway:a", "forwarded"),
        ("gateway:a", "dropped"),
        ("gateway:b", "forwarded"),
        ("gateway:b", "dropped"),
    ]
    await a.stop()
    await b.stop()


async def test_a_message_decided_while_the_bot_stops_is_kept_for_the_next_start(store: Engine) -> None:
    chat = Chat()
    closing = sender(chat)
    await closing.close()  # the account's sender closed first, as `tuike run` stops
    stopping = pipeline(store, chat, FakeRemaker(), senders={"console:bot": closing})
    await stopping.start()
    await stopping.intake(said("src1@chatroom", "商品:jd:99"))
    await stopping.drained()
    await stopping.stop()
    (row,) = await _rows(store)
    assert row.status == "queued" and "重启后再发" in row.reason, "kept, not dropped"
    assert await off(log.groups_done, store, row.id) == {}, "no reservation left behind"
    restarted = pipeline(store, chat, FakeRemaker())
    await restarted.start()
    await restarted.tick()
    await settled(restarted)
    assert len(chat.texts("t1@chatroom")) == 1 and len(chat.texts("t2@chatroom")) == 1
    await restarted.stop()
