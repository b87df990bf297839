"""JD sends money as yuan numbers (`99.9`) and ratios as percent (`10.0`); this is the one place they
become integer fen and parts per million.

The client decodes JSON with `parse_float=Decimal`, so a JD price arrives here as the exact decimal the
gateway wrote and is converted without ever being a binary float (`99.9` is 9990 fen, not 9989).
A float is still accepted for robustness and read through its shortest repr, which is the text it was
parsed from.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

Number = Decimal | int | str | float

_ONE = Decimal(1)


def _decimal(value: Number | None) -> Decimal:
    if value is None or isinstance(value, bool):
        return Decimal(0)
    if isinstance(value, float):
        value = repr(value)
    try:
        result = Decimal(str(value).strip() or "0")
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def yuan_to_fen(value: Number | None) -> int:
    """Yuan (`99.9`, `"19.99"`, `0.30000000000000004`) to integer fen, rounding half up: 9990, 1999, 30."""
    return int((_decimal(value) * 100).quantize(_ONE, rounding=ROUND_HALF_UP))


def percent_to_ppm(value: Number | None) -> int:
    """A JD percentage (`commissionShare` 10.5) in parts per million (105000), the domain's ratio unit."""
    return int((_decimal(value) * 10_000).quantize(_ONE, rounding=ROUND_HALF_UP))
