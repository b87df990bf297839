"""Property tests of the parser with hostile input: it never raises, keeps its own promises, and does
work linear in the message (counted in Python calls, not timed)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.handlers.parse import find_product_refs, may_be_request, parse_command
from tests.fuzz.strategies import huge_link, messages

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
"""Fast enough for every `make test`; no per-example deadline (work is counted, not timed)."""


def count_calls(fn: Callable[[], Any]) -> int:
    """Python and C function calls made by `fn()`: a machine-independent measure of work."""
    calls = 0

    def profile(frame: FrameType, event: str, arg: object) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return calls


@FAST
@given(messages(), st.booleans())
def test_the_parser_never_raises_keeps_its_promises_and_does_linear_work(text: str, mentioned: bool) -> None:
    found: list[Any] = []
    calls = count_calls(
        lambda: found.extend(
            (may_be_request(text), find_product_refs(text), parse_command(text, mentioned=mentioned))
        )
    )
    assert calls <= 400 + 12 * len(text), f"{calls} calls for {len(text)} characters"
    _, refs, command = found
    for ref in refs:
        assert 0 <= ref.start < len(text)
        assert ref.id or ref.code or ref.url
    assert [r.start for r in refs] == sorted(r.start for r in refs)
    if command is not None:
        assert len(command.arg) <= len(text)
        assert "\n" not in command.arg
    if not may_be_request(text):
        # the pre-filter's promise: nothing for the bot in a message it turns away
        assert refs == []
        assert parse_command(text, mentioned=False) is None


@settings(max_examples=20, deadline=None)
@given(huge_link(), st.integers(1, 20))
def test_a_huge_or_repeated_link_costs_no_more_per_character(link: str, copies: int) -> None:
    text = " ".join([link] * copies)
    calls = count_calls(lambda: find_product_refs(text))
    assert calls <= 400 + 12 * len(text)
    assert len(find_product_refs(text)) <= 1  # the same product, once
