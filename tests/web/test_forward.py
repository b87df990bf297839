"""The 线报 page: whether forwarding is on and from where, the last day's outcomes, what is held for
the morning, the target groups, and each recent source message with what became of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.store import forward, subscriptions
from bot.store.groups import ensure_group, set_blocked
from bot.store.models import utcnow
from tests.web.conftest import Console, browser_login, console_settings, serve_console


def seed(engine: Engine) -> dict[str, int]:
    """A forwarded message, one dropped for a foreign link, one held for the morning; a configured
    target, an owner's 订阅 线报 group and a blocked configured one."""

    def heard(message_id: str, text: str) -> forward.Heard:
        return forward.Heard("console:bot", "src@chatroom", "线报源头群", "wxid_src", message_id, text)

    sent = forward.record(engine, heard("a", "🔥 空气炸锅 29.9 https://u.jd.com/abc"))
    foreign = forward.record(engine, heard("b", "别家店 https://shop.example/x"))
    held = forward.record(engine, heard("c", "夜里的好价 https://item.taobao.com/item.htm?id=9"))
    assert sent and foreign and held
    forward.settle(engine, sent, forward.FORWARDED, groups=2, keys=["jd:1"])
    forward.settle(engine, foreign, forward.DROPPED, reason="有转不了的链接：shop.example/x")
    forward.settle(engine, held, forward.HELD, reason="免打扰时段", next_try_at=utcnow() + timedelta(hours=6))
    fans = ensure_group(engine, "fans@chatroom", "宝妈粉丝群")
    assert fans.id
    subscriptions.subscribe(engine, fans.id, "forward")
    blocked = ensure_group(engine, "t2@chatroom", "被屏蔽的群")
    assert blocked.id
    set_blocked(engine, blocked.id, True)
    return {"sent": sent, "foreign": foreign, "held": held}


@pytest.fixture
async def forward_console(tmp_path: Path, store: Engine) -> AsyncIterator[Console]:
    settings = console_settings(tmp_path)
    on = settings.forward.model_copy(
        update={
            "enabled": True,
            "sources": ("src@chatroom",),
            "targets": ("t1@chatroom", "t2@chatroom"),
            "quiet_hours": "23:00-07:00",
        }
    )
    async for running in serve_console(tmp_path, store, settings=settings.model_copy(update={"forward": on})):
        yield running


async def test_the_page_lists_what_became_of_each_message(forward_console: Console) -> None:
    ids = seed(forward_console.engine)
    client = await forward_console.logged_in()
    html = (await client.get("/forward")).text
    assert "没有开启" not in html and "src@chatroom" in html and "免打扰 23:00-07:00" in html
    assert '<div class="figure" id="count-forwarded">1</div>' in html
    assert f'id="forward-{ids["sent"]}" data-status="forwarded"' in html and "已转发到 2 个群" in html
    assert "有转不了的链接：shop.example/x" in html
    assert f'id="held-{ids["held"]}"' in html
    assert 'data-room="t1@chatroom"' in html and "（还没说过话）" in html
    assert "宝妈粉丝群" in html and "订阅 线报" in html
    assert "已屏蔽，不会收到" in html


async def test_the_page_says_when_forwarding_is_off(console: Console) -> None:
    client = await console.logged_in()
    html = (await client.get("/forward")).text
    assert 'id="forward-off"' in html and 'id="no-forwards"' in html and 'id="no-targets"' in html


async def test_a_stranger_is_sent_to_the_login(console: Console) -> None:
    response = await console.client().get("/forward")
    assert response.status_code in (302, 303) and "/login" in response.headers["location"]


async def test_the_operator_finds_the_page_in_the_nav(forward_console: Console, browser_page: Any) -> None:
    ids = seed(forward_console.engine)
    page = browser_page
    await browser_login(page, forward_console)
    await page.click("header nav >> text=线报")
    await page.wait_for_selector(f"#forward-{ids['foreign']}")
    outcome = await page.locator(f"#forward-{ids['foreign']} .outcome").inner_text()
    assert "已丢弃" in outcome and "shop.example/x" in outcome
    assert "已转发到 2 个群" in await page.locator(f"#forward-{ids['sent']} .outcome").inner_text()
    assert await page.locator("table.targets tr[data-room]").count() == 3
    await page.screenshot(path=str(forward_console.shots / "forward.png"), full_page=True)


async def test_a_source_text_is_shown_as_text_never_as_markup(forward_console: Console) -> None:
    engine = forward_console.engine
    hostile = forward.Heard(
        "console:bot", "src@chatroom", "<b>源</b>", "wxid_src", "x", '<script>alert("线报")</script>'
    )
    forward_id = forward.record(engine, hostile)
    assert forward_id
    forward.settle(engine, forward_id, forward.DROPPED, reason="<img src=x onerror=alert(1)>")
    html = (await (await forward_console.logged_in()).get("/forward")).text
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert "<img src=x" not in html and "<b>源</b>" not in html


async def test_the_push_results_name_a_forward_and_link_to_the_xianbao_page(forward_console: Console) -> None:
    from bot.push import claims

    ids = seed(forward_console.engine)
    group = ensure_group(forward_console.engine, "t1@chatroom", "宝妈群")
    assert group.id
    assert claims.claim(forward_console.engine, group.id, forward.slot_of(ids["sent"]), "test", claims.SENT)
    html = (await (await forward_console.logged_in()).get("/pushes")).text
    assert f"线报 #{ids['sent']}" in html and 'href="/forward"' in html


async def test_a_message_page_says_what_each_group_got(forward_console: Console) -> None:
    from bot.push import claims

    engine = forward_console.engine
    ids = seed(engine)
    one = ensure_group(engine, "t1@chatroom", "宝妈群")
    two = ensure_group(engine, "fans@chatroom", "")
    assert one.id and two.id
    slot = forward.slot_of(ids["sent"])
    assert claims.claim(engine, one.id, slot, "test", claims.SENT)
    assert claims.claim(
        engine, two.id, slot, "test", claims.SKIPPED, "这个群这一小时已经收到 6 条线报（每小时上限）"
    )
    client = await forward_console.logged_in()
    listing = (await client.get("/forward")).text
    assert f'href="/forward/{ids["sent"]}"' in listing
    html = (await client.get(f"/forward/{ids['sent']}")).text
    assert "已转发到 2 个群" in html and "🔥 空气炸锅 29.9 https://u.jd.com/abc" in html
    assert 'data-room="t1@chatroom" data-status="sent"' in html and "已发出" in html
    assert 'data-status="skipped"' in html and "每小时上限" in html and "宝妈粉丝群" in html
    dropped = (await client.get(f"/forward/{ids['foreign']}")).text
    assert "已丢弃" in dropped and 'id="no-groups"' in dropped
    missing = await client.get("/forward/999999")
    assert missing.status_code == 404 and "没有这条线报" in missing.text
