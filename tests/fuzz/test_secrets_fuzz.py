"""Property tests of the command line's output mask: a registered secret, echoed by a server in any
spelling (as it is, inside JSON with or without ASCII escapes, percent-encoded) and printed in pieces
of any size, never reaches the screen. Issue 33 #21 (secrets in CLI output) is here as a kind."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import redact

SECRETS = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="*\n\r"),
    min_size=4,
    max_size=24,
).filter(lambda s: s.strip() == s and len(s.strip()) >= 4)
"""A secret: any printable text an operator may paste (a `*` could be rebuilt by the mask itself)."""


def _echoes(secret: str) -> list[str]:
    return [
        f"token: {secret}",
        json.dumps({"errmsg": f"bad request {{'secret': '{secret}'}}", "secret": secret}),
        json.dumps({"secret": secret}, ensure_ascii=False),
        f"GET /cgi?appid=wx&secret={quote(secret, safe='')} 400",
        f"body=grant_type%3Dx%26secret%3D{quote_plus(secret, safe='')}",
    ]


@pytest.fixture(autouse=True)
def _no_secrets() -> Iterator[None]:
    redact.forget_all()
    yield
    redact.forget_all()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    secret=SECRETS,
    prefix=st.text(max_size=20).filter(lambda s: "*" not in s),
    cuts=st.lists(st.integers(0, 400), max_size=8),
    echo=st.integers(0, 4),
)
def test_a_registered_secret_never_reaches_the_screen_in_any_spelling_or_pieces(
    secret: str, prefix: str, cuts: list[int], echo: int
) -> None:
    redact.register(secret)
    line = prefix + _echoes(secret)[echo] + "\n"
    screen = io.StringIO()
    stream = redact.MaskedStream(screen)
    start = 0
    for cut in sorted({c % (len(line) + 1) for c in cuts}):
        stream.write(line[start:cut])  # print() and json.dump() write a line in pieces
        start = cut
    stream.write(line[start:])
    stream.flush()
    shown = screen.getvalue()
    for spelled in {secret, *(redact._spellings(secret))}:
        assert spelled not in shown
    assert redact.MASK in shown
