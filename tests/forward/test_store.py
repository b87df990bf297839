"""The forward log and the dedupe memory on SQLite and PostgreSQL: a message is taken once, a product
is forwarded once per window (all of a message's products or none), and the hourly count reads the
push log's forward claims."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from bot.push import claims
from bot.store import forward
from bot.store.groups import ensure_group
from bot.store.models import utcnow


def _heard(message_id: str = "m1", text: str = "好价 https://item.taobao.com/item.htm?id=1") -> forward.Heard:
    return forward.Heard("console:bot", "src@chatroom", "线报源", "wxid_src", message_id, text)


def test_a_message_delivered_twice_is_recorded_once(store: Engine) -> None:
    first = forward.record(store, _heard())
    assert first is not None
    assert forward.record(store, _heard()) is None, "the same (room, message id) again"
    assert forward.record(store, _heard("")) is not None
    assert forward.record(store, _heard("")) is not None, "no message id: nothing to match on"
    row = forward.get(store, first)
    assert row is not None and row.status == forward.QUEUED and "item.taobao.com" in row.body


def test_a_decided_message_keeps_its_excerpt_and_lets_go_of_its_text(store: Engine) -> None:
    long_text = "第一行\n" + "好" * 300
    forward_id = forward.record(store, _heard(text=long_text))
    assert forward_id is not None
    forward.settle(store, forward_id, forward.DROPPED, reason="含屏蔽词「代理」", keys=["taobao:1"])
    row = forward.get(store, forward_id)
    assert row is not None
    assert row.status == "dropped" and row.reason == "含屏蔽词「代理」" and row.body == ""
    assert row.excerpt.startswith("第一行 好") and row.excerpt.endswith("…") and len(row.excerpt) == 120
    assert row.keys == "taobao:1"


def test_keys_are_taken_all_or_none_and_free_again_after_the_window(store: Engine) -> None:
    a = forward.record(store, _heard("a"))
    b = forward.record(store, _heard("b"))
    assert a is not None and b is not None
    now = utcnow()
    assert forward.take_keys(store, ["taobao:1", "jd:2"], a, since=now - timedelta(hours=12), now=now) == []
    assert forward.take_keys(store, ["taobao:1"], a, since=now - timedelta(hours=12), now=now) == [], (
        "again: ours"
    )
    taken = forward.take_keys(store, ["pdd:3", "jd:2"], b, since=now - timedelta(hours=12), now=now)
    assert [(t.key, t.forward_id) for t in taken] == [("jd:2", a)]
    # none of b's keys was taken: pdd:3 is still free for another message
    later = now + timedelta(hours=13)
    assert forward.take_keys(store, ["pdd:3"], a, since=later - timedelta(hours=12), now=later) == []
    assert forward.take_keys(store, ["jd:2"], b, since=later - timedelta(hours=12), now=later) == [], (
        "past the window the key is taken over"
    )
    forward.release_keys(store, b)
    assert forward.take_keys(store, ["jd:2"], a, since=later - timedelta(hours=12), now=later) == []


def test_the_hourly_count_reads_forward_claims_only(store: Engine) -> None:
    group = ensure_group(store, "t1@chatroom", "目标群")
    assert group.id is not None
    assert claims.claim(store, group.id, forward.slot_of(1), "me")
    assert claims.claim(store, group.id, forward.slot_of(2), "me", status=claims.SKIPPED)
    assert claims.claim(store, group.id, "daily:2026-12-07T08:00", "me")
    since = utcnow() - timedelta(hours=1)
    assert forward.sent_lately(store, [group.id], since) == {group.id: 1}, "skipped and daily do not count"
    assert forward.groups_done(store, 2) == {group.id: "skipped"}


def test_due_rows_are_open_ones_whose_time_has_come(store: Engine) -> None:
    now = utcnow()
    queued = forward.record(store, _heard("q"))
    held = forward.record(store, _heard("h"))
    done = forward.record(store, _heard("d"))
    assert queued and held and done
    forward.settle(store, held, forward.HELD, next_try_at=now + timedelta(hours=2))
    forward.settle(store, done, forward.FORWARDED, groups=2)
    assert [r.id for r in forward.due(store, now)] == [queued]
    assert [r.id for r in forward.due(store, now + timedelta(hours=3))] == [queued, held]
    assert [r.id for r in forward.held(store)] == [held]
    assert [r.id for r in forward.recent(store, 2)] == [done, held]
