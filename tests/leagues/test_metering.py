"""League calls are counted per request, and an outer meter (a replay, a push) sees the inner ones."""

from __future__ import annotations

import asyncio

from bot.leagues.metering import count_call, metered


async def test_nested_meters_and_concurrent_tasks() -> None:
    with metered() as outer:
        count_call()
        with metered() as inner:
            await asyncio.gather(*(asyncio.sleep(0, result=count_call()) for _ in range(3)))
        assert inner.calls == 3
    assert outer.calls == 4
    count_call()  # outside any meter: counted nowhere, no error
    assert outer.calls == 4
