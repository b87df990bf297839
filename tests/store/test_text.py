"""Hostile text from chats is stored the same way on SQLite and PostgreSQL, and never costs other rows."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from bot.push import claims
from bot.store.groups import ensure_group, find_group
from bot.store.models import Group, PushLog, RequestLog, utcnow
from bot.store.requests import RequestRecord, RequestRecorder, write_requests
from bot.store.text import clean

HOSTILE = "买\x00耳机\ud83d机"  # NUL and a lone surrogate, as a broken client sends them
LONG_ID = "x" * 300 + "@chatroom"


def test_clean_drops_nul_and_lone_surrogates_and_keeps_real_emoji() -> None:
    assert clean(HOSTILE) == "买耳机机"
    assert clean("好物😀") == "好物😀"
    assert clean("a" * 10, 4) == "aaaa"


def test_cut_identifiers_stay_distinct_and_stable() -> None:
    one, two = clean("y" * 200 + "1", 128, key=True), clean("y" * 200 + "2", 128, key=True)
    assert len(one) == len(two) == 128
    assert one != two
    assert one == clean("y" * 200 + "1", 128, key=True)


def test_a_hostile_group_is_stored_and_found_again(store: Engine) -> None:
    group = ensure_group(store, LONG_ID, "群\x00" + "名" * 400, owner_id="o\ud800wner")
    assert len(group.room_id) == 128 and len(group.name) == 256
    assert "\x00" not in group.name
    again = ensure_group(store, LONG_ID, "群\x00" + "名" * 400, owner_id="o\ud800wner")
    assert again.id == group.id
    found = find_group(store, LONG_ID)
    assert found is not None and found.id == group.id
    other = ensure_group(store, LONG_ID.replace("@", "#"), "另一个群")
    assert other.id != group.id


def test_hostile_requests_are_all_logged(store: Engine) -> None:
    async def main() -> None:
        recorder = RequestRecorder(store, flush_every=60, batch=1000)
        for i in range(300):
            query = HOSTILE if i % 50 == 7 else f"找 耳机 {i}"
            chat = LONG_ID if i % 60 == 3 else f"room{i % 20}@chatroom"
            recorder.record(RequestRecord(chat, "s\x00" * 100, "keyword", query=query * (i % 3 + 1) * 100))
        await recorder.close()

    asyncio.run(main())
    with Session(store) as session:
        assert session.exec(select(func.count()).select_from(RequestLog)).one() == 300
        queries = session.exec(select(RequestLog.query)).all()
    assert all("\x00" not in q and len(q) <= 512 for q in queries)


def test_one_refused_row_costs_only_itself(store: Engine, caplog: pytest.LogCaptureFixture) -> None:
    rows = [
        {"at": utcnow(), **asdict(RequestRecord(f"room{i}", "s", "keyword", query="找 耳机"))}
        for i in range(50)
    ]
    rows[17]["league_calls"] = 2**70  # too big for any integer column: the database refuses it itself
    with caplog.at_level(logging.WARNING):
        assert write_requests(store, rows) == 49
    with Session(store) as session:
        assert session.exec(select(func.count()).select_from(RequestLog)).one() == 49
    assert "row 18 of 50 dropped" in caplog.text
    assert "找 耳机" not in caplog.text  # a member's words never reach the log


def test_push_claims_store_hostile_slots_and_details(store: Engine) -> None:
    group = ensure_group(store, "r1@chatroom", "测试群")
    assert group.id is not None
    slot = "live-soon:" + "直播\x00" * 100
    assert claims.claim(store, group.id, slot, "me", detail="失败\ud800" * 2000)
    assert not claims.claim(store, group.id, slot, "me")  # the same slot, cleaned the same way
    with Session(store) as session:
        row = session.exec(select(PushLog)).one()
        assert "\x00" not in row.slot and len(row.detail) <= 2048
        assert session.exec(select(func.count()).select_from(Group)).one() == 1
