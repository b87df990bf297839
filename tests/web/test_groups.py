"""The 群 pages: every group with its figures, found by search and filters, 50 a page; a group's
subscriptions changed on the owner's behalf (the rows and the scheduler's jobs follow); and a blocked
group gets neither answers nor pushes."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session

from bot.chat.base import Incoming, Outgoing
from bot.compose import build_router
from bot.config import parse_settings
from bot.handlers.router import BlockedRooms
from bot.jobs import Jobs
from bot.leagues.base import Category, LeagueUnavailable, Order, Spot
from bot.leagues.linkcache import LinkCache
from bot.push.sender import PacedSender
from bot.push.service import PushService
from bot.push.slots import next_slot
from bot.render.engine import Renderer
from bot.store import subscriptions
from bot.store.groups import blocked_rooms, ensure_group, set_blocked
from bot.store.models import Group
from bot.store.orders import store_window
from bot.store.requests import RequestRecord, write_requests
from bot.store.spots import insert_spot
from tests.fakes import FakeLeague, product
from tests.helpers import wait_until
from tests.web.conftest import Console, browser_login, serve_console

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
SH_0830 = datetime(2026, 11, 22, 0, 30, tzinfo=UTC)
ROW_LINK = re.compile(r'<a href="/groups/(\d+)">([^<]+)</a>')


class CategoryLeague(FakeLeague):
    async def categories(self) -> list[Category]:
        self._enter("categories")
        return [
            Category("100", "手机数码", "0", 1),
            Category("101", "耳机音箱", "100", 2),
            Category("200", "食品生鲜", "0", 1),
            Category("201", "休闲零食", "200", 2),
        ]


def names(html: str) -> list[str]:
    """The groups a list page shows, in order."""
    return [name for _id, name in ROW_LINK.findall(html)]


def order(n: int, commission: int, *, status: str = "pending", when: datetime = NOW) -> Order:
    return Order(f"o{n}", "s1", "p1", "商品", commission * 10, commission, status, "", when, when)


def seed(engine: Engine, count: int = 60) -> dict[str, int]:
    """`count` groups 群00… over two accounts; a few with orders, requests, a subscription, a
    block, a league identity. Returns name → group id."""
    ids: dict[str, int] = {}
    for n in range(count):
        g = ensure_group(
            engine, f"r{n:02d}@chatroom", f"群{n:02d}", f"wxid_owner{n}", f"gateway:{'ab'[n % 2]}"
        )
        assert g.id is not None
        ids[g.name] = g.id
    store_window(
        engine,
        "pdd",
        [
            (order(1, 12_000), ids["群07"]),
            (order(2, 345), ids["群07"]),
            (order(3, 99_999, status="cancelled"), ids["群07"]),
            (order(4, 500_000, when=NOW - timedelta(days=40)), ids["群08"]),  # too old to count
            (order(5, 1_000), ids["群12"]),
            (order(6, 7_000), None),
        ],
        NOW,
    )
    asks = [("r03@chatroom", NOW, 5), ("r12@chatroom", NOW, 2), ("r08@chatroom", NOW - timedelta(days=45), 9)]
    write_requests(
        engine,
        [
            {"at": when - timedelta(hours=i + 1), **asdict(RequestRecord(room, "wxid_m", "keyword", "耳机"))}
            for room, when, times in asks
            for i in range(times)
        ],
    )
    subscriptions.subscribe(engine, ids["群05"], "daily", "08:30", "100")
    subscriptions.subscribe(engine, ids["群05"], "live")
    set_blocked(engine, ids["群09"], True)
    insert_spot(engine, ids["群11"], "pdd", "40102_311866", "g11")
    return ids


@pytest.fixture
async def seeded(tmp_path: Path, store: Engine) -> AsyncIterator[tuple[Console, dict[str, int]]]:
    ids = seed(store)
    league = CategoryLeague([])
    async for console in serve_console(tmp_path, store, leagues={"channels": league}, clock=lambda: NOW):
        yield console, ids


async def test_the_list_shows_figures_pages_and_filters(seeded: tuple[Console, dict[str, int]]) -> None:
    console, ids = seeded
    client = await console.logged_in()
    first = await client.get("/groups")
    assert first.status_code == 200
    assert "共 60 个" in first.text
    shown = names(first.text)
    assert len(shown) == 50
    assert shown[:2] == ["群07", "群12"], "most commission first (30 days, cancelled lines left out)"
    assert "¥123.45" in first.text and "¥10.00" in first.text
    assert "¥5000.00" not in first.text and "¥999.99" not in first.text
    assert "第 1 / 2 页" in first.text and "下一页" in first.text
    second = await client.get("/groups?page=2")
    assert len(names(second.text)) == 10
    assert not set(names(second.text)) & set(shown)

    by_requests = names((await client.get("/groups?sort=requests")).text)
    assert by_requests[:2] == ["群03", "群12"]

    assert sorted(names((await client.get("/groups?q=群5")).text)) == [f"群5{i}" for i in range(10)]
    assert names((await client.get("/groups?q=R07@CHATROOM")).text) == ["群07"], "room id, any case"
    assert names((await client.get("/groups?q=100%25")).text) == [], "a % is a character, not a wildcard"
    odd = names((await client.get("/groups?account=gateway:b&sort=name")).text)
    assert odd == [f"群{n:02d}" for n in range(1, 60, 2)]
    assert names((await client.get("/groups?subscribed=yes")).text) == ["群05"]
    assert len(names((await client.get("/groups?subscribed=no&page=2")).text)) == 9
    blocked = await client.get("/groups?blocked=yes")
    assert names(blocked.text) == ["群09"] and "已停用" in blocked.text
    assert "共 1 个符合条件" in blocked.text
    nothing = await client.get("/groups?q=没有这个群")
    assert "没有符合条件的群" in nothing.text

    subscribed = (await client.get("/groups?subscribed=yes")).text
    assert "每天 08:30" in subscribed and "手机数码" in subscribed and "直播提醒" in subscribed
    pid = (await client.get("/groups?q=群11")).text
    assert "拼多多" in pid and "40102_311866" in pid
    assert ids["群11"]


async def test_the_list_takes_odd_parameters_calmly(seeded: tuple[Console, dict[str, int]]) -> None:
    console, _ids = seeded
    client = await console.logged_in()
    for query in (
        "page=0",
        "page=abc",
        "page=99999",
        "sort=drop table",
        "subscribed=maybe",
        "q=" + "长" * 500,
    ):
        response = await client.get(f"/groups?{query}")
        assert response.status_code == 200, query
    assert (await client.get("/groups/999999")).status_code == 404
    assert "没有这个群" in (await client.get("/groups/999999")).text


async def test_a_group_page_shows_its_identity_figures_and_subscriptions(
    seeded: tuple[Console, dict[str, int]],
) -> None:
    console, ids = seeded
    client = await console.logged_in()
    page = (await client.get(f"/groups/{ids['群05']}")).text
    assert "r05@chatroom" in page and "gateway:b" in page and "wxid_owner5" in page
    assert "每天 08:30" in page and "手机数码" in page
    assert "2026-11-23 08:30" in page, "the next run, in the operator's zone"
    assert "关掉直播提醒" in page
    assert "用默认推客" in page
    earning = (await client.get(f"/groups/{ids['群07']}")).text
    assert "¥123.45" in earning


@dataclass
class PushWorld:
    console: Console
    client: httpx.AsyncClient
    service: PushService
    sent: list[Outgoing]
    group_id: int
    other_id: int
    clock: list[datetime]

    def jobs(self) -> set[str]:
        assert self.service.jobs is not None
        return set(self.service.jobs.ids("push:daily:"))


@pytest.fixture
async def push_world(tmp_path: Path, store: Engine) -> AsyncIterator[PushWorld]:
    settings = parse_settings({"push": {"deals_per_push": 2}})
    league = CategoryLeague([product(f"p{i}", f"好物{i}", 1000 + i) for i in range(6)])
    sent: list[Outgoing] = []
    clock = [NOW]

    async def send(message: Outgoing) -> None:
        sent.append(message)

    sender = PacedSender(send, rate_per_minute=None, jitter=(0, 0))
    jobs = Jobs("Asia/Shanghai")
    service = PushService(
        settings,
        store,
        league,
        Renderer(None, timezone="Asia/Shanghai"),
        sender,
        LinkCache(store),
        lambda g: Spot("channels", sharer_appid="op"),
        clock=lambda: clock[0],
        owner="web-test",
        account="console",
        jobs=jobs,
    )
    group = ensure_group(store, "console:省钱群", "省钱群", "console:群主", "console")
    other = ensure_group(store, "console:二群", "二群", "console:群主", "console")
    assert group.id is not None and other.id is not None
    await service.start(schedule=True, wait=True)
    jobs.start()
    sender.start()
    try:
        async for console in serve_console(
            tmp_path, store, leagues={"channels": league}, pushes={"console": service}, clock=lambda: clock[0]
        ):
            client = await console.logged_in()
            yield PushWorld(console, client, service, sent, group.id, other.id, clock)
    finally:
        await jobs.shutdown()
        await sender.close()
        await service.stop()


async def test_a_daily_slot_added_changed_and_removed_through_the_page(push_world: PushWorld) -> None:
    w, gid = push_world, push_world.group_id
    added = await w.client.post(
        f"/groups/{gid}/daily", data={"at_time": "20:15", "category": ["手机数码"], "more": "零食"}
    )
    assert added.status_code == 303
    assert added.headers["location"].startswith(f"/groups/{gid}?ok=")
    rows = subscriptions.for_group(w.console.engine, gid)
    assert [(r.kind, r.at_time, r.categories) for r in rows] == [("daily", "20:15", "100,201")]
    await wait_until(lambda: f"push:daily:console:{gid}:20:15" in w.jobs())
    shown = await w.client.get(added.headers["location"])
    assert "每天 20:15 的好物推送加好了（手机数码、休闲零食）" in shown.text
    assert "手机数码、休闲零食" in shown.text

    # the same time again replaces that slot's categories only; a slot in 8点半 words is understood
    again = await w.client.post(f"/groups/{gid}/daily", data={"at_time": "20:15"})
    assert "%E6%94%B9%E5%A5%BD%E4%BA%86" in again.headers["location"]  # 改好了
    await w.client.post(f"/groups/{gid}/daily", data={"at_time": "早上8点半", "category": ["食品生鲜"]})
    rows = subscriptions.for_group(w.console.engine, gid)
    assert [(r.at_time, r.categories) for r in rows] == [("08:30", "200"), ("20:15", "")]
    await wait_until(
        lambda: {f"push:daily:console:{gid}:08:30", f"push:daily:console:{gid}:20:15"} <= w.jobs()
    )

    removed = await w.client.post(f"/groups/{gid}/daily/remove", data={"at_time": "20:15"})
    assert removed.status_code == 303
    assert [r.at_time for r in subscriptions.for_group(w.console.engine, gid)] == ["08:30"]
    await wait_until(lambda: f"push:daily:console:{gid}:20:15" not in w.jobs())
    gone = await w.client.post(f"/groups/{gid}/daily/remove", data={"at_time": "20:15"})
    assert gone.status_code == 409 and "没有 20:15 的每日推送" in gone.text

    # the slot the page added is pushed when its time comes
    w.clock[0] = next_slot("08:30", datetime.now(UTC), ZoneInfo("Asia/Shanghai")) + timedelta(minutes=1)
    assert await w.service.tick(w.clock[0], group_id=gid) == 1
    await wait_until(lambda: len(w.sent) == 1)
    assert w.sent[0].chat_id == "console:省钱群"


async def test_wrong_input_is_refused_and_changes_nothing(push_world: PushWorld) -> None:
    w, gid = push_world, push_world.group_id
    for form, words in (
        ({"at_time": "25:00"}, "不是一个时间"),
        ({"at_time": "8:30pm"}, "不是一个时间"),
        ({"at_time": "下周"}, "不是一个时间"),
        ({"at_time": "09:00", "more": "火箭"}, "没有叫“火箭”的类目"),
    ):
        response = await w.client.post(f"/groups/{gid}/daily", data=form)
        assert response.status_code == 400, form
        assert words in response.text, form
        assert 'class="problem"' in response.text
    assert subscriptions.for_group(w.console.engine, gid) == []
    assert w.jobs() == set()
    missing = await w.client.post("/groups/999999/daily", data={"at_time": "09:00"})
    assert missing.status_code == 404


async def test_a_league_without_categories_now_refuses_only_a_choice_of_categories(
    push_world: PushWorld,
) -> None:
    w, gid = push_world, push_world.group_id
    league = w.console.services.leagues["channels"]
    assert isinstance(league, FakeLeague)
    league.fail_with = LeagueUnavailable("down")
    refused = await w.client.post(f"/groups/{gid}/daily", data={"at_time": "09:00", "more": "数码"})
    assert refused.status_code == 503 and "类目暂时取不到" in refused.text
    assert subscriptions.for_group(w.console.engine, gid) == []
    plain = await w.client.post(f"/groups/{gid}/daily", data={"at_time": "09:00"})
    assert plain.status_code == 303
    assert [r.at_time for r in subscriptions.for_group(w.console.engine, gid)] == ["09:00"]


async def test_live_reminders_on_and_off(push_world: PushWorld) -> None:
    w, gid = push_world, push_world.group_id
    on = await w.client.post(f"/groups/{gid}/live", data={"on": "1"})
    assert on.status_code == 303
    assert [r.kind for r in subscriptions.for_group(w.console.engine, gid)] == ["live"]
    assert "关掉直播提醒" in (await w.client.get(f"/groups/{gid}")).text
    await w.client.post(f"/groups/{gid}/live", data={"on": "0"})
    assert subscriptions.for_group(w.console.engine, gid) == []


def _asks(chat_id: str, n: int) -> Incoming:
    return Incoming(f"m{n}", chat_id, "群", "wxid_member", "小红", "帮助", mentioned=True, account="console")


async def test_a_blocked_group_gets_no_answer_and_no_push(push_world: PushWorld) -> None:
    w, gid = push_world, push_world.group_id
    engine = w.console.engine
    subscriptions.subscribe(engine, gid, "daily", "08:30", now=NOW - timedelta(days=2))
    subscriptions.subscribe(engine, w.other_id, "daily", "08:30", now=NOW - timedelta(days=2))
    w.service.jobs_changed()
    await wait_until(
        lambda: {f"push:daily:console:{gid}:08:30", f"push:daily:console:{w.other_id}:08:30"} <= w.jobs()
    )
    settings = parse_settings({})
    router = build_router(settings, Renderer(None), engine=engine)
    assert await router(_asks("console:省钱群", 1)), "answered before the block"

    blocked = await w.client.post(f"/groups/{gid}/blocked", data={"blocked": "1"})
    assert blocked.status_code == 303
    page = await w.client.get(blocked.headers["location"])
    assert "已停用" in page.text and "恢复这个群" in page.text
    assert await router(_asks("console:省钱群", 2)) is None, "a blocked group gets no answer"
    assert await router(_asks("console:二群", 3)), "other groups still do"
    assert await router(
        Incoming("m4", "wxid_member", "小红", "wxid_member", "小红", "帮助", is_group=False, mentioned=True)
    ), "nor are private chats touched"
    await wait_until(lambda: f"push:daily:console:{gid}:08:30" not in w.jobs())
    assert f"push:daily:console:{w.other_id}:08:30" in w.jobs()
    w.clock[0] = SH_0830 + timedelta(minutes=1)
    assert await w.service.tick(w.clock[0]) == 1, "only the group that is not blocked"
    await wait_until(lambda: len(w.sent) == 1)
    assert [o.chat_id for o in w.sent] == ["console:二群"]
    assert [r.kind for r in subscriptions.for_group(engine, gid)] == ["daily"], "subscriptions kept"
    assert "已停用" in (await w.client.get("/groups?blocked=yes")).text

    allowed = await w.client.post(f"/groups/{gid}/blocked", data={"blocked": "0"})
    assert allowed.status_code == 303
    assert await router(_asks("console:省钱群", 5)), "answered again once allowed"
    assert await w.service.tick(w.clock[0]) == 1, "and the slot still due is pushed"


async def test_a_block_made_by_another_process_is_seen_within_a_minute(store: Engine) -> None:
    """`tuike web` alone blocks a group in the database: the bot's cache reads it again within 60 s,
    and no message costs a query meanwhile."""
    group = ensure_group(store, "r1@chatroom", "群")
    now = [1000.0]
    rooms = BlockedRooms(partial(blocked_rooms, store), ttl=60, clock=lambda: now[0])
    assert await rooms.rooms() == frozenset()
    with Session(store) as session:  # another process: no change counted in this one
        session.execute(update(Group).where(Group.id == group.id).values(blocked=True))  # type: ignore[arg-type]
        session.commit()
    now[0] += 59
    assert await rooms.rooms() == frozenset(), "cached"
    now[0] += 1
    assert await rooms.rooms() == frozenset({"r1@chatroom"})


async def test_every_group_action_needs_the_csrf_token(seeded: tuple[Console, dict[str, int]]) -> None:
    console, ids = seeded
    client = await console.logged_in()
    token = client.headers.pop("X-CSRF-Token")
    gid = ids["群00"]
    for path, form in (
        (f"/groups/{gid}/daily", {"at_time": "09:00"}),
        (f"/groups/{gid}/daily/remove", {"at_time": "08:30"}),
        (f"/groups/{gid}/live", {"on": "1"}),
        (f"/groups/{gid}/blocked", {"blocked": "1"}),
    ):
        assert (await client.post(path, data=form)).status_code == 403
    assert subscriptions.for_group(console.engine, gid) == []
    assert not (await client.get(f"/groups/{gid}")).text.count("已停用")
    client.headers["X-CSRF-Token"] = token


async def test_in_a_browser_an_operator_adds_a_daily_slot(browser_page: Any, push_world: PushWorld) -> None:
    w, page = push_world, browser_page
    await browser_login(page, w.console)
    await page.click('nav a[href="/groups"]')
    await page.wait_for_selector("table.groups")
    await page.screenshot(path=str(w.console.shots / "groups.png"), full_page=True)
    await page.click("text=省钱群")
    await page.wait_for_selector("form.add-slot")
    await page.fill('form.add-slot input[name="at_time"]', "21:05")
    await page.check('form.add-slot input[value="食品生鲜"]')
    await page.click('form.add-slot button[type="submit"]')
    await page.wait_for_selector("p.notice")
    assert "每天 21:05 的好物推送加好了（食品生鲜）" in await page.inner_text("p.notice")
    assert "每天 21:05" in await page.inner_text("table.slots")
    await page.screenshot(path=str(w.console.shots / "group.png"), full_page=True)
    assert (w.console.shots / "groups.png").exists() and (w.console.shots / "group.png").exists()
    assert [(r.at_time, r.categories) for r in subscriptions.for_group(w.console.engine, w.group_id)] == [
        ("21:05", "200")
    ]
    await wait_until(lambda: f"push:daily:console:{w.group_id}:21:05" in w.jobs())
    await page.set_viewport_size({"width": 375, "height": 800})  # a phone: nothing wider than the screen
    for path, shot in (("/groups", "groups-phone.png"), (f"/groups/{w.group_id}", "group-phone.png")):
        await page.goto(w.console.url + path)
        assert await page.evaluate("document.documentElement.scrollWidth") <= 375, path
        await page.screenshot(path=str(w.console.shots / shot), full_page=True)


async def test_with_no_groups_yet_the_list_says_how_they_appear(console: Console) -> None:
    client = await console.logged_in()
    empty = await client.get("/groups")
    assert empty.status_code == 200
    assert "还没有群" in empty.text and "<table" not in empty.text


async def test_owners_show_by_name_where_the_chat_told_it(seeded: tuple[Console, dict[str, int]]) -> None:
    console, ids = seeded
    await asyncio.to_thread(
        ensure_group, console.engine, "r05@chatroom", "", "wxid_owner5", owner_name="王姐"
    )
    client = await console.logged_in()
    page = (await client.get(f"/groups/{ids['群05']}")).text
    assert "王姐" in page and "wxid_owner5" in page, "the name, with the id beside it"
    listing = (await client.get("/groups", params={"q": "王姐"})).text
    assert "群05" in listing and "群主 王姐" in listing and "群06" not in listing


async def test_until_the_blocked_list_is_first_read_each_message_tries_again(store: Engine) -> None:
    group = ensure_group(store, "r1@chatroom", "群")
    set_blocked(store, group.id or 0, True)
    reads: list[str] = []

    def flaky() -> frozenset[str]:
        reads.append("read")
        if len(reads) == 1:
            raise OSError("database is locked")
        return blocked_rooms(store)

    rooms = BlockedRooms(flaky, ttl=60, clock=lambda: 1000.0)
    assert await rooms.rooms() == frozenset(), "nothing known yet"
    assert await rooms.rooms() == frozenset({"r1@chatroom"}), "the next message read it, not a minute later"
    assert await rooms.rooms() == frozenset({"r1@chatroom"}) and len(reads) == 2, "then cached"
