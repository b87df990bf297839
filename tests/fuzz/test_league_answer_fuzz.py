"""Property tests of what a league may answer: any JSON text a hostile or broken feed sends comes out of
`bot.leagues.wire.loads` as the same data with only the unstorable characters gone, and is stored on
SQLite whole (issue 33, item 15: half an emoji in a title took the member's answer)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from bot.leagues.answers import StoredAnswers
from bot.leagues.wire import loads
from bot.store import db

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_HOSTILE_CHARS = st.one_of(
    st.characters(codec="utf-8"),  # any storable character, astral ones too
    st.characters(categories=["Cs"]),  # lone surrogates
    st.sampled_from(["\x00", "\ud83d", "\ude00", "\U0001f600", "\\", '"']),
)
_texts = st.text(alphabet=_HOSTILE_CHARS, max_size=30)
_json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**12), 10**12), _texts),
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(_texts, inner, max_size=5)),
    max_leaves=25,
)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _without_unstorable(value: Any) -> Any:
    if isinstance(value, str):
        return _UNSTORABLE.sub("", value)
    if isinstance(value, list):
        return [_without_unstorable(v) for v in value]
    if isinstance(value, dict):
        return {_without_unstorable(k): _without_unstorable(v) for k, v in value.items()}
    return value


def _wire(value: Any, escaped: bool) -> bytes:
    """`value` as a league would send it: with `\\uXXXX` escapes, or raw (a lone surrogate as the bytes
    UTF-8 would give it, what `json.loads` reads back with surrogatepass)."""
    return json.dumps(value, ensure_ascii=escaped).encode("utf-8", "surrogatepass")


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = db.make_engine(f"sqlite:///{tmp_path_factory.mktemp('answers') / 'answers.db'}")
    db.upgrade(engine)
    yield engine
    engine.dispose()


@FAST
@given(st.dictionaries(_texts, _json_values, max_size=6), st.booleans())
def test_any_league_answer_is_read_clean_and_stored(
    kept: Engine, answer: dict[str, Any], escaped: bool
) -> None:
    read = loads(_wire(answer, escaped))
    # keys that differ only by unstorable characters become one, the last one's value, as in JSON
    assert read == _without_unstorable(json.loads(_wire(answer, escaped)))
    answers = StoredAnswers(kept, "fuzz")
    asyncio.run(answers.put("detail", "k", read, 60))
    assert asyncio.run(answers.get("detail", "k")) == read
