"""群发 from the console: compose, preview per group, confirm — and each group gets it exactly once
through the console channel, even when confirm is posted twice; made while the console runs alone,
it is sent by the bot process. With deals: search the leagues, tick, preview each group's message
with ITS links (the sandbox over loopback records whose they are), confirm, and the links previewed
are the ones sent."""

from __future__ import annotations

import asyncio
import html
import re
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import httpx
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from bot.config import parse_settings
from bot.leagues.base import League, LeagueUnavailable
from bot.store import subscriptions
from bot.store.groups import ensure_group
from bot.store.models import Broadcast, Group
from bot.web.pages.broadcasts import deal_names
from tests.fakes import FakeLeague, product
from tests.helpers import wait_until
from tests.web.conftest import browser_login, serve_console
from tests.web.test_pushes import chat_console
from tuike_sandbox.server import SandboxServer

FORM_ID = re.compile(r'name="form" value="([^"]+)"')
DEAL_BOX = re.compile(r'name="deal" value="([^"]+)"( checked)?')
LINK = re.compile(r"https://store\.weixin\.qq\.com/shop/a/(\w+)")


async def until_page(
    client: httpx.AsyncClient, path: str, done: Callable[[str], bool], within: float = 10.0
) -> str:
    """Fetch `path` until `done(page)` holds (a condition, not a fixed wait); fail after `within` s."""
    deadline = time.monotonic() + within
    while True:
        text = (await client.get(path)).text
        if done(text):
            return text
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} still not done after {within} s:\n{text}")
        await asyncio.sleep(0.02)


def block(engine: Engine, group: Group) -> None:
    with Session(engine) as session:
        row = session.get(Group, group.id)
        assert row is not None
        row.blocked = True
        session.add(row)
        session.commit()


def broadcasts(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(Broadcast)).one())


async def preview_form(
    client: httpx.AsyncClient, text: str, groups: list[int], accounts: tuple[str, ...] = ()
) -> httpx.Response:
    data: dict[str, str | list[str]] = {
        "text": text,
        "group": [str(g) for g in groups],
        "account": list(accounts),
    }
    return await client.post("/broadcasts/preview", data=data)


async def test_a_broadcast_reaches_each_chosen_group_once_even_when_confirmed_twice(
    tmp_path: Path, store: Engine
) -> None:
    a = ensure_group(store, "mama@chatroom", "宝妈群", account="console")
    b = ensure_group(store, "tech@chatroom", "数码群", account="console")
    c = ensure_group(store, "other@chatroom", "没选的群", account="console")
    assert a.id and b.id and c.id
    async with chat_console(tmp_path, store) as wired:
        client = await wired.console.logged_in()
        form = await client.get("/broadcasts/new")
        assert form.status_code == 200
        assert "宝妈群" in form.text and "数码群" in form.text and "没选的群" in form.text

        preview = await preview_form(client, "{群名}的各位：今晚 8 点直播抽奖！", [a.id, b.id])
        assert preview.status_code == 200, preview.text
        assert "宝妈群的各位：今晚 8 点直播抽奖！" in preview.text
        assert "数码群的各位：今晚 8 点直播抽奖！" in preview.text
        assert "没选的群" not in preview.text
        assert broadcasts(store) == 0  # a preview writes nothing
        [form_id] = FORM_ID.findall(preview.text)

        confirm = {
            "form": form_id,
            "text": "{群名}的各位：今晚 8 点直播抽奖！",
            "group": [str(a.id), str(b.id)],
        }
        first, second = await asyncio.gather(
            client.post("/broadcasts", data=confirm), client.post("/broadcasts", data=confirm)
        )
        assert first.status_code == second.status_code == 303
        assert first.headers["location"].split("?")[0] == second.headers["location"].split("?")[0]
        assert broadcasts(store) == 1
        where = first.headers["location"].split("?")[0]
        done = await until_page(client, where, lambda page: page.count(">已发送<") == 2)
        assert "共 2 个群" in done
        again = await client.post("/broadcasts", data=confirm)  # a third click, after it all went out
        assert "已经确认过了，不会重复发送" in (await client.get(again.headers["location"])).text

        assert wired.sends_to("mama@chatroom") == 1 and wired.sends_to("tech@chatroom") == 1
        assert wired.sends_to("other@chatroom") == 0
        assert "宝妈群的各位：今晚 8 点直播抽奖！" in wired.out.getvalue()
        listing = (await client.get("/broadcasts")).text
        assert "{群名}的各位" in listing and ">2<" in listing


async def test_what_the_operator_gets_wrong_is_refused_and_nothing_is_made(console) -> None:  # type: ignore[no-untyped-def]
    engine = console.engine
    a = ensure_group(engine, "a@chatroom", "甲群")
    blocked = ensure_group(engine, "x@chatroom", "屏蔽群")
    block(engine, blocked)
    assert a.id and blocked.id
    client = await console.logged_in()
    max_chars = console.services.settings.templates.max_message_chars

    empty = await preview_form(client, "   ", [a.id])
    assert empty.status_code == 400 and "群发内容是空的" in empty.text
    long = await preview_form(client, "好" * (max_chars + 1), [a.id])
    assert long.status_code == 400 and f"最多 {max_chars} 个字" in long.text
    assert "好" * 20 in long.text  # what was written is kept for fixing
    nobody = await preview_form(client, "你好", [blocked.id])
    assert nobody.status_code == 400 and "还没有选群" in nobody.text
    assert "屏蔽群" not in (await client.get("/broadcasts/new")).text
    forged = await client.post("/broadcasts", data={"text": "你好", "group": [str(a.id)]})
    assert forged.status_code == 400
    assert broadcasts(engine) == 0
    assert (await client.get("/broadcasts/12345")).status_code == 404


async def test_made_while_the_console_runs_alone_the_bot_process_sends_it(
    tmp_path: Path, store: Engine
) -> None:
    a = ensure_group(store, "one@chatroom", "一群", account="console")
    b = ensure_group(store, "two@chatroom", "二群", account="console")
    gone = ensure_group(store, "gone@chatroom", "屏蔽了的群", account="console")
    block(store, gone)
    assert a.id and b.id
    async for alone in serve_console(tmp_path, store):
        client = await alone.logged_in()
        preview = await preview_form(
            client, "通知：{群名}明天停更一天", [], ("console",)
        )  # all of the account
        assert preview.status_code == 200
        assert "一群" in preview.text and "二群" in preview.text and "屏蔽了的群" not in preview.text
        assert "由运行中的机器人进程发出" in preview.text
        [form_id] = FORM_ID.findall(preview.text)
        made = await client.post(
            "/broadcasts",
            data={"form": form_id, "text": "通知：{群名}明天停更一天", "group": [str(a.id), str(b.id)]},
        )
        assert made.status_code == 303
        where = made.headers["location"].split("?")[0]
        waiting = (await client.get(made.headers["location"])).text
        assert "机器人进程（tuike run）会在半分钟内发出" in waiting and waiting.count(">等待发送<") == 2

        (tmp_path / "bot").mkdir()
        async with chat_console(tmp_path / "bot", store) as bot:  # the bot process starts: it picks it up
            await until_page(client, where, lambda page: page.count(">已发送<") == 2)
            assert bot.sends_to("one@chatroom") == 1 and bot.sends_to("two@chatroom") == 1
            assert "通知：一群明天停更一天" in bot.out.getvalue()


async def test_compose_broadcast_preview_confirm_in_a_browser(
    tmp_path: Path, engine: Engine, browser_page
) -> None:  # type: ignore[no-untyped-def]
    for room, name in (("mama@chatroom", "宝妈群"), ("tech@chatroom", "数码群"), ("food@chatroom", "吃货群")):
        group = ensure_group(engine, room, name, account="console")
        assert group.id is not None
        subscriptions.subscribe(engine, group.id, "daily", "20:00")
    page = browser_page
    async with chat_console(tmp_path, engine) as wired:
        console = wired.console
        await browser_login(page, console)
        await page.goto(console.url + "/broadcasts/new")
        await page.fill("textarea[name=text]", "{群名}的朋友们，今晚 8 点上新！")
        await page.fill("#group-search", "宝妈")  # the list filters as one types
        await page.wait_for_selector("tr[data-name^='数码群']", state="hidden")
        await page.check("tr[data-name^='宝妈群'] input[type=checkbox]")
        await page.fill("#group-search", "")
        await page.check("tr[data-name^='数码群'] input[type=checkbox]")
        await page.click("button:has-text('预览')")
        await page.wait_for_selector("text=宝妈群的朋友们，今晚 8 点上新！")
        await page.wait_for_selector("text=数码群的朋友们，今晚 8 点上新！")
        assert await page.locator(".card.preview").count() == 2
        await page.click("#confirm")
        await page.wait_for_selector("text=已确认群发到 2 个群")
        await wait_until(lambda: wired.sends_to("mama@chatroom") + wired.sends_to("tech@chatroom") == 2, 30)
        # the page polls its results while sends are under way; on a busy machine a reload may come first
        deadline = time.monotonic() + 30
        while await page.locator("tr.status-sent").count() < 2:
            assert time.monotonic() < deadline, await page.content()
            await page.reload()
        cells = await page.locator("tr.status-sent td:nth-child(3)").all_inner_texts()
        assert cells == ["已发送", "已发送"]
        await page.screenshot(path=str(console.shots / "broadcast.png"), full_page=True)
        assert wired.sends_to("mama@chatroom") == 1 and wired.sends_to("tech@chatroom") == 1
        assert wired.sends_to("food@chatroom") == 0
        await page.goto(console.url + "/pushes")  # the broadcast's results are among the pushes too
        await page.wait_for_selector("td:has-text('群发 #1')")
        await page.screenshot(path=str(console.shots / "pushes.png"), full_page=True)


def with_sharer(engine: Engine, room: str, name: str, sharer: str) -> Group:
    group = ensure_group(engine, room, name, account="console")
    with Session(engine) as session:
        row = session.get(Group, group.id)
        assert row is not None
        row.channels_sharer_appid = sharer
        session.add(row)
        session.commit()
        session.refresh(row)
        return row


def card_of(page: str, name: str) -> str:
    """The preview card's message for one group."""
    found = re.search(rf"<h3>{name}</h3>\s*<pre class=\"message\">(.*?)</pre>", page, re.S)
    assert found, page
    return found.group(1)


def tokens_for(sandbox: SandboxServer, text: str) -> dict[str, str]:
    """Each link token in the text → the sharer the sandbox issued it for."""
    return {t: sandbox.state.links[t].sharer_appid for t in LINK.findall(text)}


async def test_deals_searched_ticked_previewed_with_each_groups_links_then_sent_with_those_links(
    tmp_path: Path, engine: Engine, sandbox: SandboxServer, channels_league: League
) -> None:
    mama = with_sharer(engine, "mama@chatroom", "宝妈群", "wx_sharer_demo01")
    tech = with_sharer(engine, "tech@chatroom", "数码群", "wx_sharer_demo03")
    assert mama.id and tech.id
    async with chat_console(tmp_path, engine, league=channels_league) as wired:
        client = await wired.console.logged_in()
        form = (await client.get("/broadcasts/new")).text
        assert 'name="deal_q"' in form and "最多带 5 个商品" in form

        searched = await client.post(
            "/broadcasts/new",
            data={"text": "{群名}专属福利", "group": [str(mama.id)], "deal_q": "蓝牙耳机"},
        )
        assert searched.status_code == 200, searched.text
        found = [value for value, checked in DEAL_BOX.findall(searched.text) if not checked]
        assert len(found) >= 6 and all(v.startswith("channels:") for v in found)
        assert "{群名}专属福利" in searched.text  # what was written and chosen is carried along
        assert f'value="{mama.id}" checked' in searched.text

        ticked = await client.post(
            "/broadcasts/new", data={"text": "{群名}专属福利", "deal": found[:2], "deal_q": "蓝牙耳机"}
        )
        boxes = DEAL_BOX.findall(ticked.text)
        assert [v for v, checked in boxes if checked] == found[:2]  # picked, shown with their titles
        assert not {v for v, checked in boxes if not checked} & set(found[:2])
        assert "已选 2 个" in ticked.text

        too_many = await client.post(
            "/broadcasts/preview", data={"text": "", "group": [str(mama.id)], "deal": found[:6]}
        )
        assert too_many.status_code == 400 and "商品最多选 5 个" in too_many.text

        issued_before = len(sandbox.state.links)
        data = {"text": "{群名}专属福利", "group": [str(mama.id), str(tech.id)], "deal": found[:2]}
        preview = await client.post("/broadcasts/preview", data=data)
        assert preview.status_code == 200, preview.text
        to_mama, to_tech = card_of(preview.text, "宝妈群"), card_of(preview.text, "数码群")
        assert to_mama.startswith("宝妈群专属福利") and to_tech.startswith("数码群专属福利")
        mama_links, tech_links = tokens_for(sandbox, to_mama), tokens_for(sandbox, to_tech)
        assert len(mama_links) == len(tech_links) == 2
        assert set(mama_links.values()) == {"wx_sharer_demo01"}
        assert set(tech_links.values()) == {"wx_sharer_demo03"}
        assert broadcasts(engine) == 0  # a preview sends and records nothing
        issued = len(sandbox.state.links)
        assert issued == issued_before + 4

        [form_id] = FORM_ID.findall(preview.text)
        assert DEAL_BOX.findall(preview.text) == [(v, "") for v in found[:2] * 2]  # confirm and back forms
        made = await client.post("/broadcasts", data={**data, "form": form_id})
        assert made.status_code == 303
        where = made.headers["location"].split("?")[0]
        done = await until_page(client, where, lambda page: page.count(">已发送<") == 2)
        assert "带了 2 个商品" in done
        for value in found[:2]:  # named as the league shows them, not by id
            product = await channels_league.product(value.split(":", 1)[1])
            assert f"微信小店「{html.escape(product.title)}」" in done
        assert wired.sends_to("mama@chatroom") == 1 and wired.sends_to("tech@chatroom") == 1
        out = wired.out.getvalue()
        sent_to_tech = out.split("── 发往「tech@chatroom」──")[1].split("── 发往")[0]
        sent_to_mama = out.split("── 发往「mama@chatroom」──")[1].split("── 发往")[0]
        assert sent_to_mama.strip().startswith("宝妈群专属福利")
        assert set(LINK.findall(sent_to_mama)) == set(mama_links)  # the very links the preview showed
        assert set(LINK.findall(sent_to_tech)) == set(tech_links)
        assert len(sandbox.state.links) == issued  # reused, not made again
        with Session(engine) as session:
            row = session.exec(select(Broadcast)).one()
            assert row.products == ",".join(found[:2])
        listing = (await client.get("/broadcasts")).text
        assert "[2 个商品]" in listing


async def test_a_broadcast_with_deals_reads_as_the_operators_message_not_the_daily_push(
    tmp_path: Path, engine: Engine, sandbox: SandboxServer, channels_league: League
) -> None:
    """The operator's text leads and the deals follow it: no 「☀️ 群名｜日期 今日好物」 header under it."""
    mama = with_sharer(engine, "mama@chatroom", "宝妈群", "wx_sharer_demo01")
    assert mama.id
    async with chat_console(tmp_path, engine, league=channels_league) as wired:
        client = await wired.console.logged_in()
        searched = await client.post(
            "/broadcasts/new", data={"text": "周末福利", "group": [str(mama.id)], "deal_q": "蓝牙耳机"}
        )
        found = [value for value, checked in DEAL_BOX.findall(searched.text) if not checked]
        for text in ("周末福利", ""):
            data = {"text": text, "group": [str(mama.id)], "deal": found[:2]}
            preview = await client.post("/broadcasts/preview", data=data)
            assert preview.status_code == 200, preview.text
            card = html.unescape(card_of(preview.text, "宝妈群"))
            assert "今日好物" not in card and "☀️" not in card, card
            assert card.startswith("周末福利\n\n1. " if text else "🛒 宝妈群｜好物推荐\n\n1. "), card
            assert "2. " in card


async def test_deal_picks_that_cannot_go_are_refused_or_left_out_and_nothing_is_made(
    tmp_path: Path, engine: Engine, sandbox: SandboxServer, channels_league: League
) -> None:
    group = ensure_group(engine, "a@chatroom", "甲群", account="console")
    assert group.id
    gone = next(p for p in sandbox.state.catalogue.products if p.status != 1)
    async for alone in serve_console(tmp_path, engine, leagues={"channels": channels_league}):
        client = await alone.logged_in()
        searched = await client.post("/broadcasts/new", data={"deal_q": "蓝牙耳机"})
        good, fresh = (value for value, _checked in DEAL_BOX.findall(searched.text)[:2])

        only_gone = await client.post(
            "/broadcasts/preview",
            data={"text": "看看", "group": [str(group.id)], "deal": [f"channels:{gone.product_id}"]},
        )
        assert only_gone.status_code == 409 and "选的商品现在都发不了" in only_gone.text
        assert f'value="channels:{gone.product_id}" checked' in only_gone.text  # kept for unticking

        mixed = await client.post(
            "/broadcasts/preview",
            data={"text": "", "group": [str(group.id)], "deal": [f"channels:{gone.product_id}", good]},
        )
        assert mixed.status_code == 200, mixed.text
        assert "会被略过" in mixed.text and "商品已下架或不再推广" in mixed.text
        card = card_of(mixed.text, "甲群")
        assert (
            card.startswith("🛒 甲群｜好物推荐") and len(LINK.findall(card)) == 1
        )  # no intro: the one deal left
        assert "由运行中的机器人进程发出" in mixed.text

        sandbox.state.reset_faults(quota_exhausted=True)  # the league makes no link just now
        later = await client.post(
            "/broadcasts/preview", data={"text": "", "group": [str(group.id)], "deal": [fresh]}
        )
        sandbox.state.reset_faults()
        assert later.status_code == 200, later.text
        assert "(发送时生成本群链接)" in card_of(later.text, "甲群")

        nothing = await client.post("/broadcasts/new", data={"deal_q": "绝对没有这种东西qwxz"})
        assert "换个词试试" in nothing.text
    assert broadcasts(engine) == 0

    (tmp_path / "bare").mkdir()
    async for bare in serve_console(tmp_path / "bare", engine):  # no league at all
        client = await bare.logged_in()
        form = (await client.get("/broadcasts/new")).text
        assert "暂时只能发文字" in form and 'name="deal_q"' not in form
        forged = await client.post(
            "/broadcasts/preview", data={"text": "你好", "group": [str(group.id)], "deal": ["channels:1"]}
        )
        assert forged.status_code == 400 and "没有可用的联盟" in forged.text
    assert broadcasts(engine) == 0


async def test_a_broadcasts_deals_are_named_by_id_when_the_league_cannot_say() -> None:
    known, gone = product("1001", "小米 蓝牙耳机 Redmi Buds 6", 19900), "9999"
    league = FakeLeague([known])
    services = SimpleNamespace(leagues={"channels": league}, settings=parse_settings({}))
    names = await deal_names(services, f"channels:1001,channels:{gone},jd:42")  # type: ignore[arg-type]
    assert names == ["微信小店「小米 蓝牙耳机 Redmi Buds 6」", "微信小店 商品 9999", "京东 商品 42"]
    league.fail_with = LeagueUnavailable("down")
    assert await deal_names(services, "channels:1001") == ["微信小店 商品 1001"]  # type: ignore[arg-type]
