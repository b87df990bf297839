"""What a chat or a league hands the store, however hostile, is stored — on every text column.

Issue 33, item 20: `groups.owner_name` was the one bounded text column not a `SafeString`, and a NUL
in an owner's display name failed every message of that group on PostgreSQL. Every bounded text
column cleans what goes in (a structural check a new column cannot slip past), and any name a chat
sends is stored and compared as stored (a property test on SQLite).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, String
from sqlmodel import SQLModel

from bot.store import db
from bot.store import models as _models  # noqa: F401  (the tables)
from bot.store.groups import ensure_group
from bot.store.text import SafeString

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_hostile = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.characters(categories=["Cs"]),
        st.sampled_from(["\x00", "\ud83d", "\u200b", "\u202e", "%", "_", "'"]),
    ),
    max_size=300,
)


def test_every_bounded_text_column_cleans_what_it_stores() -> None:
    unclean = [
        f"{table.name}.{column.name}"
        for table in SQLModel.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, String) and column.type.length and not isinstance(column.type, SafeString)
    ]
    assert unclean == [], "bounded text columns that are not SafeString (bot.store.text)"


@pytest.fixture(scope="module")
def groups_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = db.make_engine(f"sqlite:///{tmp_path_factory.mktemp('groups') / 'groups.db'}")
    db.upgrade(engine)
    yield engine
    engine.dispose()


@FAST
@given(room=_hostile, name=_hostile, owner=_hostile, owner_name=_hostile, account=_hostile)
def test_any_group_and_owner_a_chat_names_is_stored_and_found_again(
    groups_store: Engine, room: str, name: str, owner: str, owner_name: str, account: str
) -> None:
    room = "r" + room
    first = ensure_group(groups_store, room, name, owner, account, owner_name)
    again = ensure_group(groups_store, room, name, owner, account, owner_name)
    assert again.id == first.id
    assert again.updated_at == first.updated_at, "the same words again: nothing changed"
    for text in (again.room_id, again.name, again.owner_id, again.owner_name, again.account):
        text.encode("utf-8")  # storable anywhere
        assert "\x00" not in text
