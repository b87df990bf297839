"""Property tests of how a league answer's body is read: in any encoding a server picks (asked for or
not), cut into any chunks, the reader returns the body when it fits the cap and refuses it otherwise —
never holding more than the cap and one chunk. Issue 33 #17 (a gzip bomb past the 4 MB cap) is here as
a kind; tests/leagues/test_budgets.py sends one over HTTP to every client."""

from __future__ import annotations

import contextlib
import gzip
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.leagues.base import LeagueUnavailable
from bot.leagues.http import AnswerUnreadable, _Inflater

CAP = 64 << 10


def _encode(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.compress(body)
    if encoding == "deflate":
        return zlib.compress(body)
    if encoding == "raw-deflate":
        deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        return deflate.compress(body) + deflate.flush()
    return body


def _read(data: bytes, encoding: str, cuts: list[int]) -> tuple[bytes | None, int]:
    """(body, most held) as `_exchange` reads it; body None when refused as too large."""
    inflater = _Inflater("deflate" if encoding == "raw-deflate" else encoding, "http://league")
    body, most, start = bytearray(), 0, 0
    for end in [*sorted({c % (len(data) + 1) for c in cuts}), len(data)]:
        body += inflater.feed(data[start:end], CAP - len(body))
        start = end
        most = max(most, len(body))
        if len(body) > CAP:
            return None, most
    return bytes(body), most


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=st.integers(0, 4 * CAP),
    filler=st.sampled_from([b"\0", b"ab", bytes(range(256))]),
    encoding=st.sampled_from(["", "identity", "gzip", "deflate", "raw-deflate"]),
    cuts=st.lists(st.integers(0, 1 << 20), max_size=6),
)
def test_an_answer_in_any_encoding_and_chunks_is_read_whole_or_refused_at_the_cap(
    size: int, filler: bytes, encoding: str, cuts: list[int]
) -> None:
    body = (filler * (size // len(filler) + 1))[:size]
    data = _encode(body, encoding)
    read, most = _read(data, encoding, cuts)
    if size <= CAP:
        assert read == body
    else:
        assert read is None
    plain = encoding in ("", "identity")
    assert most <= CAP + (len(data) if plain else 1), "inflated past the cap before it was counted"


@pytest.mark.parametrize("encoding", ["br", "zstd", "compress", "gzip, gzip", "x-unknown"])
def test_an_encoding_not_asked_for_is_refused(encoding: str) -> None:
    with pytest.raises(AnswerUnreadable) as refused:
        _Inflater(encoding, "http://league")
    assert isinstance(refused.value, LeagueUnavailable)


@given(garbage=st.binary(min_size=1, max_size=200), encoding=st.sampled_from(["gzip", "deflate"]))
def test_corrupt_compressed_data_is_a_league_fault_not_a_crash(garbage: bytes, encoding: str) -> None:
    inflater = _Inflater(encoding, "http://league")
    with contextlib.suppress(AnswerUnreadable):  # refused as the league's fault, or read: never else
        inflater.feed(garbage, CAP)
