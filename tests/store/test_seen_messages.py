"""The webhook messages an account handled are remembered in the store (issue 33 #12: a message
redelivered after a restart was answered twice): claimed once across restarts and processes, and
pruned to a bounded few. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from bot.store import chat_state
from bot.store.models import ChatState, utcnow
from tests.helpers import race


def _remembered(engine: Engine, account: str) -> int:
    with Session(engine) as session:
        query = select(func.count()).where(
            ChatState.account == account, col(ChatState.key).startswith(chat_state.SEEN_PREFIX)
        )
        return int(session.exec(query).one())


def test_a_message_is_claimed_once_per_account(store: Engine) -> None:
    assert chat_state.claim_message(store, "gateway:wx_a", "7001")
    assert not chat_state.claim_message(store, "gateway:wx_a", "7001"), "a redelivery after a restart"
    assert chat_state.claim_message(store, "gateway:wx_b", "7001"), "another account's message of that id"
    assert chat_state.get(store, "gateway:wx_a", "pending") is None, "other chat state is untouched"


def test_two_processes_claiming_one_message_answer_it_once(store: Engine) -> None:
    claimed = race(8, lambda _n: chat_state.claim_message(store, "gateway:wx_a", "7002"))
    assert claimed.count(True) == 1


def test_what_is_remembered_stays_bounded(store: Engine) -> None:
    for n in range(30):
        chat_state.claim_message(store, "gateway:wx_a", f"m{n}")
    chat_state.claim_message(store, "gateway:wx_b", "other")
    chat_state.put(store, "gateway:wx_a", "webhook_secret", "s3cret-value")
    assert chat_state.prune_seen(store, "gateway:wx_a", capacity=10) == 20
    assert _remembered(store, "gateway:wx_a") == 10
    assert not chat_state.claim_message(store, "gateway:wx_a", "m29"), "the newest are kept"
    assert chat_state.claim_message(store, "gateway:wx_a", "m0"), "the oldest are forgotten"
    later = utcnow() + chat_state.SEEN_RETENTION + timedelta(minutes=1)
    assert chat_state.prune_seen(store, "gateway:wx_a", now=later) == 11
    assert _remembered(store, "gateway:wx_a") == 0
    assert _remembered(store, "gateway:wx_b") == 1, "each account prunes its own"
    assert chat_state.get(store, "gateway:wx_a", "webhook_secret") == "s3cret-value"
