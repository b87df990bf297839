"""外卖: the command words, and today's links per group from the sandbox's faces over real HTTP — one
league call per group per day on the test clock, shared by members asking at once, a failing league
asked again only after a pause, a slow one left out at the deadline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.handlers.parse import may_be_request, parse_command
from bot.leagues.base import League, Spot
from bot.leagues.eleme.client import ElemeClient
from bot.leagues.eleme.league import ElemeLeague
from bot.leagues.eleme.sandbox_account import SANDBOX_APP_KEY, SANDBOX_APP_SECRET, SANDBOX_PID
from bot.leagues.meituan.client import MeituanClient
from bot.leagues.meituan.league import MeituanLeague
from bot.leagues.meituan.sandbox_account import SANDBOX_APP_KEY as MT_KEY
from bot.leagues.meituan.sandbox_account import SANDBOX_APP_SECRET as MT_SECRET
from bot.leagues.takeout import TakeoutLink, group_sid
from bot.services.takeout import TakeoutLinks
from bot.store.models import Group
from tests.helpers import wait_until
from tuike_sandbox.server import SandboxServer

OFFICIAL = "alibaba.alsc.union.eleme.promotion.officialactivity.get"


@pytest.mark.parametrize("text", ["外卖", "外卖红包", "饿了么", "美团", "/外卖", "外卖！"])
def test_the_takeout_words_are_a_command_in_a_group(text: str) -> None:
    command = parse_command(text, mentioned=False)
    assert command is not None and command.kind == "takeout"
    assert may_be_request(text)


@pytest.mark.parametrize("text", ["外卖好贵啊", "美团外卖到了", "饿了么今天送得好慢", "点外卖吗"])
def test_chat_about_takeout_is_not_a_command(text: str) -> None:
    assert parse_command(text, mentioned=False) is None
    assert not may_be_request(text)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def leagues(sandbox: SandboxServer) -> AsyncIterator[dict[str, League]]:
    eleme = ElemeLeague(
        ElemeClient(
            sandbox.base_url + "/router/rest", SANDBOX_APP_KEY, SANDBOX_APP_SECRET, backoff=0.001, timeout=10
        ),
        pid=SANDBOX_PID,
        activity_ids=("20150318019998877",),
    )
    meituan = MeituanLeague(
        MeituanClient(
            sandbox.base_url + "/cps_open/common/api/v1",
            MT_KEY,
            MT_SECRET,
            backoff=0.001,
            timeout=10,
            max_retries=1,
        ),
        act_ids=("33",),
    )
    yield {"eleme": eleme, "meituan": meituan}
    await eleme.aclose()
    await meituan.aclose()


async def spot_of(group: Group | None, league: str) -> Spot:
    return Spot(league, tag=group_sid(group.room_id) if group is not None else "")


def group(room: str) -> Group:
    return Group(id=1, room_id=room, name=room)


async def test_one_call_per_group_per_local_day(sandbox: SandboxServer, leagues: dict[str, League]) -> None:
    # 23:50 in Shanghai
    clock = Clock(datetime(2026, 12, 7, 15, 50, tzinfo=UTC))
    service = TakeoutLinks(leagues, spot_of, clock=clock)
    a = await service.for_group(group("a@chatroom"))
    assert {link.platform for link in a.links} == {"eleme", "meituan"} and not a.missing
    clock.now += timedelta(minutes=9)  # 23:59: the same day
    assert (await service.for_group(group("a@chatroom"))).links == a.links
    await service.for_group(group("b@chatroom"))
    assert service.calls == {"eleme": 2, "meituan": 2}
    clock.now += timedelta(minutes=2)  # 00:01 the next day: asked again
    await service.for_group(group("a@chatroom"))
    assert service.calls == {"eleme": 3, "meituan": 3}
    top = sandbox.face("/router/rest")
    assert top.calls[OFFICIAL] == 3


async def test_members_asking_at_once_share_one_call(leagues: dict[str, League]) -> None:
    service = TakeoutLinks(leagues, spot_of)
    answers = await asyncio.gather(*(service.for_group(group("a@chatroom")) for _ in range(20)))
    assert all(answer.links == answers[0].links for answer in answers)
    assert service.calls == {"eleme": 1, "meituan": 1}


async def test_a_failing_league_is_asked_again_after_a_pause_and_the_other_answers(
    sandbox: SandboxServer, leagues: dict[str, League]
) -> None:
    clock = Clock(datetime(2026, 12, 7, 2, 0, tzinfo=UTC))
    meituan = sandbox.face("/cps_open/common/api/v1/query_order")
    meituan.faults.down = True
    service = TakeoutLinks(leagues, spot_of, clock=clock, retry_seconds=60)
    answer = await service.for_group(group("a@chatroom"))
    assert [link.platform for link in answer.links] == ["eleme"]
    assert answer.missing == {"meituan": "error"} and answer.context()["missing"] == ["美团"]
    assert "美团未取到链接" in answer.note
    await service.for_group(group("a@chatroom"))
    assert service.calls["meituan"] == 1, "not asked again on every message"
    meituan.faults.down = False
    clock.now += timedelta(seconds=61)
    answer = await service.for_group(group("a@chatroom"))
    assert {link.platform for link in answer.links} == {"eleme", "meituan"}


class SlowLeague:
    name = "meituan"

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def takeout_links(self, spot: Spot) -> list[TakeoutLink]:
        await self.release.wait()
        return [TakeoutLink("meituan", "美团外卖红包", "https://dpurl.cn/late")]


async def test_a_slow_league_is_left_out_at_the_deadline_and_kept_for_the_next_ask(
    leagues: dict[str, League],
) -> None:
    slow = SlowLeague()
    service = TakeoutLinks({"eleme": leagues["eleme"], "meituan": slow}, spot_of)  # type: ignore[dict-item]
    answer = await service.for_group(group("a@chatroom"), deadline=0.5)
    assert [link.platform for link in answer.links] == ["eleme"] and answer.missing == {"meituan": "slow"}
    slow.release.set()
    await wait_until(lambda: not service._inflight)  # the shared call finished
    answer = await service.for_group(group("a@chatroom"), deadline=0.5)
    assert {link.url for link in answer.links} >= {"https://dpurl.cn/late"}
    assert service.calls["meituan"] == 1


async def test_no_takeout_league_means_no_answer() -> None:
    service = TakeoutLinks({}, spot_of)
    assert not service.available
    assert (await service.for_group(None)).links == []
