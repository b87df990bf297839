"""群发 from the console: compose, preview per group, confirm — and each group gets it exactly once
through the console channel, even when confirm is posted twice; made while the console runs alone,
it is sent by the bot process."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from bot.store import subscriptions
from bot.store.groups import ensure_group
from bot.store.models import Broadcast, Group
from tests.helpers import wait_until
from tests.web.conftest import browser_login, serve_console
from tests.web.test_pushes import chat_console

FORM_ID = re.compile(r'name="form" value="([^"]+)"')


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
