"""群发 through the push service: each target once, whatever clicks, restarts and failures happen."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.chat.base import Outgoing, Text
from bot.config import parse_settings
from bot.jobs import Jobs
from bot.leagues.base import Spot
from bot.leagues.linkcache import LinkCache
from bot.push import broadcast, claims
from bot.push.sender import PacedSender
from bot.push.service import PushService
from bot.render.engine import Renderer
from bot.store.groups import ensure_group
from bot.store.models import Broadcast, Group, PushLog, utcnow
from tests.helpers import wait_until


class Chat:
    """Where the sender delivers: every message per room; rooms in `gone` refuse (the account left)."""

    def __init__(self, gone: set[str] | None = None) -> None:
        self.got: list[tuple[str, str]] = []
        self.gone = gone or set()

    async def send(self, outgoing: Outgoing) -> None:
        if outgoing.chat_id in self.gone:
            raise RuntimeError("机器人已不在这个群里")
        part = outgoing.reply.parts[0]
        assert isinstance(part, Text)
        self.got.append((outgoing.chat_id, part.text))

    def rooms(self) -> Counter[str]:
        return Counter(room for room, _text in self.got)


def service(
    engine: Engine,
    chat: Chat,
    *,
    account: str | None = None,
    owner: str = "host:console",
    jobs: Jobs | None = None,
) -> PushService:
    settings = parse_settings({})
    sender = PacedSender(chat.send, rate_per_minute=None, jitter=(0, 0), max_attempts=1)
    return PushService(
        settings,
        engine,
        None,
        Renderer(None),
        sender,
        LinkCache(engine),
        lambda g: Spot("channels", sharer_appid="op"),
        account=account,
        owner=owner,
        jobs=jobs,
    )


def groups(engine: Engine, *names: str, account: str = "") -> list[Group]:
    return [ensure_group(engine, f"{n}@chatroom", n, account=account) for n in names]


def statuses(engine: Engine, broadcast_id: int) -> dict[int, tuple[str, str]]:
    with Session(engine) as session:
        rows = session.exec(select(PushLog).where(PushLog.slot == broadcast.slot_of(broadcast_id))).all()
        return {r.group_id: (r.status, r.detail) for r in rows}


async def test_each_group_gets_it_once_with_its_name_filled_in_however_often_it_is_picked_up(
    store: Engine,
) -> None:
    a, b = groups(store, "宝妈群", "数码群")
    sent = broadcast.create(store, "{群名}的朋友们：今晚八点上新", [a.id or 0, b.id or 0], "web:form1")
    chat = Chat()
    push = service(store, chat)
    push.sender.start()
    await push.send_broadcasts()
    await push.send_broadcasts()  # a second pickup (the 30 s poll, a second click) before the sends finish
    await wait_until(lambda: len(chat.got) >= 2)
    await push.send_broadcasts()  # and one after
    await push.sender.close()
    await push.stop()
    assert sorted(chat.got) == [
        ("宝妈群@chatroom", "宝妈群的朋友们：今晚八点上新"),
        ("数码群@chatroom", "数码群的朋友们：今晚八点上新"),
    ]
    assert sent.id is not None
    assert {s for s, _ in statuses(store, sent.id).values()} == {claims.SENT}


async def test_a_second_process_of_the_same_account_sends_nothing_again(store: Engine) -> None:
    a, b = groups(store, "一群", "二群")
    made = broadcast.create(store, "通知", [a.id or 0, b.id or 0])
    first, second = Chat(), Chat()
    one, two = service(store, first, owner="host1:console"), service(store, second, owner="host2:console")
    one.sender.start()
    two.sender.start()
    await one.send_broadcasts()
    await two.send_broadcasts()
    await one.sender.close()
    await two.sender.close()
    assert (first.rooms() + second.rooms()) == Counter({"一群@chatroom": 1, "二群@chatroom": 1})
    assert made.id is not None and len(statuses(store, made.id)) == 2


async def test_a_restart_mid_broadcast_does_not_resend_what_may_have_gone(store: Engine) -> None:
    a, b, c = groups(store, "甲群", "乙群", "丙群")
    made = broadcast.create(store, "停机测试", [a.id or 0, b.id or 0, c.id or 0])
    assert made.id is not None and a.id and b.id
    slot = broadcast.slot_of(made.id)
    # the dead process had sent 甲群 and was in the middle of 乙群; 丙群 was still queued (unclaimed)
    claims.claim(store, a.id, slot, "host:console/111", claims.SENT)
    claims.claim(store, b.id, slot, "host:console/111", claims.SENDING)
    chat = Chat()
    jobs = Jobs("Asia/Shanghai")
    push = service(store, chat, owner="host:console", jobs=jobs)
    push.sender.start()
    await push.start_broadcasts(poll_seconds=3600)
    jobs.start()
    await wait_until(lambda: len(chat.got) >= 1)
    await push.sender.close()
    await push.stop()
    await jobs.shutdown()
    assert chat.rooms() == Counter({"丙群@chatroom": 1})
    assert b.id is not None
    result = statuses(store, made.id)
    assert result[b.id][0] == claims.INTERRUPTED
    assert "not resent" in result[b.id][1]


async def test_the_poll_is_a_job_and_a_new_broadcast_goes_out_at_once_not_at_the_next_poll(
    store: Engine,
) -> None:
    a, b = groups(store, "早群", "晚群")
    chat = Chat()
    jobs = Jobs("Asia/Shanghai")
    push = service(store, chat, jobs=jobs)
    push.sender.start()
    looks = 0
    looked = push.send_broadcasts

    async def counted(now: object = None) -> int:
        nonlocal looks
        looks += 1
        return await looked()

    push.send_broadcasts = counted  # type: ignore[method-assign]
    await push.start_broadcasts(poll_seconds=3600)
    jobs.start()
    try:
        assert jobs.ids("broadcasts:") == ["broadcasts:console"]
        await wait_until(lambda: looks == 1)  # at once on start; the next poll is an hour away
        first = broadcast.create(store, "第一条", [a.id or 0])
        push.broadcasts_changed()  # what the console calls when it makes one
        await wait_until(lambda: chat.rooms() == Counter({"早群@chatroom": 1}))
        assert looks == 2
        # made while a look is running: looked at once more right after it, not an hour later
        gate = asyncio.Event()

        async def slow(now: object = None) -> int:
            nonlocal looks
            looks += 1
            await gate.wait()
            return await looked()

        push.send_broadcasts = slow  # type: ignore[method-assign]
        push.broadcasts_changed()
        await wait_until(lambda: looks == 3 and jobs.is_running("broadcasts:console"))
        second = broadcast.create(store, "第二条", [b.id or 0])
        push.broadcasts_changed()
        push.send_broadcasts = counted  # type: ignore[method-assign]
        gate.set()
        await wait_until(lambda: chat.rooms() == Counter({"早群@chatroom": 1, "晚群@chatroom": 1}))
        await wait_until(lambda: looks == 4)  # the wake during the slow look: one more look after it
        assert first.id is not None and second.id is not None
    finally:
        await push.sender.close()
        await push.stop()
        assert jobs.ids() == []
        await jobs.shutdown()


async def test_a_group_the_account_left_is_marked_failed_and_the_others_still_go(store: Engine) -> None:
    a, b, c = groups(store, "在的群", "退了的群", "也在的群")
    made = broadcast.create(store, "你好", [a.id or 0, b.id or 0, c.id or 0])
    chat = Chat(gone={"退了的群@chatroom"})
    push = service(store, chat)
    push.sender.start()
    assert await push.send_broadcasts() == 3
    await push.sender.close()
    await push.stop()
    assert chat.rooms() == Counter({"在的群@chatroom": 1, "也在的群@chatroom": 1})
    assert made.id is not None and b.id is not None
    status, detail = statuses(store, made.id)[b.id]
    assert status == claims.FAILED and "机器人已不在这个群里" in detail
    page, total = broadcast.results(store, made.id)
    assert total == 3 and page[0].group.name == "退了的群" and page[0].status == claims.FAILED


async def test_each_process_sends_only_its_own_accounts_groups(store: Engine) -> None:
    mine = groups(store, "我的群", account="gateway:wxid_a")
    theirs = groups(store, "别人的群", account="gateway:wxid_b")
    made = broadcast.create(store, "只发自己的", [mine[0].id or 0, theirs[0].id or 0])
    chat = Chat()
    push = service(store, chat, account="gateway:wxid_a")
    push.sender.start()
    assert await push.send_broadcasts() == 1
    await push.sender.close()
    assert chat.rooms() == Counter({"我的群@chatroom": 1})
    assert made.id is not None
    assert set(statuses(store, made.id)) == {mine[0].id}  # the other account's target waits for its process
    summary, _total = broadcast.summaries(store)
    assert summary[0].targets == 2 and summary[0].counts == {claims.SENT: 1} and summary[0].waiting == 1


async def test_blocked_groups_are_left_out_and_a_group_blocked_later_is_skipped(store: Engine) -> None:
    a, b, c = groups(store, "正常群", "早屏蔽群", "后屏蔽群")
    with Session(store) as session:
        row = session.get(Group, b.id)
        assert row is not None
        row.blocked = True
        session.add(row)
        session.commit()
    made = broadcast.create(store, "屏蔽测试", [a.id or 0, b.id or 0, c.id or 0])
    assert made.id is not None
    assert broadcast.results(store, made.id)[1] == 2  # the blocked group is no target at all
    with Session(store) as session:
        row = session.get(Group, c.id)
        assert row is not None
        row.blocked = True
        session.add(row)
        session.commit()
    chat = Chat()
    push = service(store, chat)
    push.sender.start()
    await push.send_broadcasts()
    await push.sender.close()
    assert chat.rooms() == Counter({"正常群@chatroom": 1})
    assert c.id is not None
    assert statuses(store, made.id)[c.id] == (claims.SKIPPED, "群已屏蔽，不发送")


async def test_a_broadcast_the_bot_was_down_for_a_day_is_skipped_not_sent_late(store: Engine) -> None:
    (a,) = groups(store, "老群")
    made = broadcast.create(store, "昨天的通知", [a.id or 0])
    with Session(store) as session:
        row = session.get(Broadcast, made.id)
        assert row is not None
        row.created_at = utcnow() - timedelta(days=2)
        session.add(row)
        session.commit()
    chat = Chat()
    push = service(store, chat)
    push.sender.start()
    assert await push.send_broadcasts() == 0
    await push.sender.close()
    assert chat.got == []
    assert made.id is not None and a.id is not None
    assert statuses(store, made.id)[a.id][0] == claims.SKIPPED


def test_text_rules() -> None:
    group = Group(room_id="r@chatroom", name="一个名字很长的群")
    assert broadcast.text_problem("   ", 100) == "群发内容是空的，写点什么再发吧。"
    assert broadcast.text_problem("好" * 100, 100) == ""
    assert "最多 100 个字" in broadcast.text_problem("好" * 95 + "{群名}", 100, [group])
