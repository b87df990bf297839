"""The 模板 pages: which file wins per kind, live preview of the text being edited (errors at the line,
runaway templates refused within the render limits off the event loop), checked saves into the operator
folder with history and restore, per-group overrides, and no path out of the folder."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from bot.config import Settings
from bot.render import files as tf
from bot.render.engine import BUILTIN_TEMPLATES, group_key
from bot.render.samples import SAMPLES
from bot.store.groups import ensure_group
from tests.web.conftest import Console, browser_login, serve_console

ROOM = "20870958924@chatroom"
GROUP_NAME = "宝宝辅食交流群"
WELCOME_SAMPLE = SAMPLES["welcome"][0]


def operator_dir(console: Console) -> Path:
    folder = console.services.renderer.operator_dir
    assert folder is not None
    return folder


def builtin_snapshot() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in BUILTIN_TEMPLATES.iterdir() if p.is_file()}


def operator_files(console: Console) -> list[str]:
    folder = operator_dir(console)
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


async def preview(client: httpx.AsyncClient, source: str, kind: str = "welcome", **form: str) -> str:
    response = await client.post(f"/templates/{kind}/preview", data={"source": source, **form})
    assert response.status_code == 200, response.text
    return response.text


async def save(client: httpx.AsyncClient, source: str, kind: str = "welcome", **form: str) -> httpx.Response:
    return await client.post(f"/templates/{kind}/save", data={"source": source, **form})


async def test_the_list_shows_which_file_wins_for_each_kind(console: Console) -> None:
    ensure_group(console.engine, ROOM, GROUP_NAME)
    client = await console.logged_in()
    page = (await client.get("/templates")).text
    for kind in tf.kinds():
        assert f'href="/templates/{kind}"' in page
    assert "新人入群欢迎" in page and "内置" in page and "渲染出错" not in page

    renderer = console.services.renderer
    tf.save(renderer, "welcome", "全体欢迎 {{ member_name }}")
    tf.save(renderer, "help", "本群帮助 {{ bot_name }}", group=ROOM)
    page = (await client.get("/templates")).text
    welcome = page[page.index('id="kind-welcome"') :].split("</tr>")[0]
    assert "运营目录" in welcome and "welcome.j2" in welcome
    help_row = page[page.index('id="kind-help"') :].split("</tr>")[0]
    assert GROUP_NAME in help_row and "内置" in help_row

    (operator_dir(console) / "not_owner.j2").write_text("{% if %}", encoding="utf-8")  # broken by hand
    page = (await client.get("/templates")).text
    assert "有 1 个模板现在渲染不出来" in page
    assert "渲染出错" in page[page.index('id="kind-not_owner"') :].split("</tr>")[0]


async def test_every_kind_in_the_list_is_named_in_chinese(console: Console) -> None:
    """No raw kind name (not_understood, rebate_balance, sharer_bind, thanks) as the row's title."""
    client = await console.logged_in()
    page = (await client.get("/templates")).text
    for kind in tf.kinds():
        row = page[page.index(f'id="kind-{kind}"') :].split("</tr>")[0]
        title = re.search(rf'<a href="/templates/{kind}">([^<]*)</a>', row)
        assert title and re.search(r"[\u4e00-\u9fff]", title.group(1)), (kind, title and title.group(1))


async def test_the_editor_shows_the_winning_text_variables_and_groups(console: Console) -> None:
    ensure_group(console.engine, ROOM, GROUP_NAME)
    client = await console.logged_in()
    response = await client.get("/templates/welcome")
    assert response.status_code == 200
    builtin = (BUILTIN_TEMPLATES / "welcome.j2").read_text(encoding="utf-8")
    assert builtin.splitlines()[-1].replace("'", "&#39;").replace('"', "&#34;") in response.text
    assert "<code>member_name</code>" in response.text
    assert GROUP_NAME in response.text and "还没有历史版本" in response.text


async def test_preview_renders_the_edited_text_for_the_chosen_group(console: Console) -> None:
    ensure_group(console.engine, ROOM, GROUP_NAME)
    client = await console.logged_in()
    shown = await preview(client, "欢迎 {{ member_name }} 来到 {{ group_name }}", group=ROOM)
    assert "欢迎 阿珍 来到 宝宝辅食交流群" in shown
    assert "宝妈好物分享群" in await preview(client, "{{ group_name }}")  # no group: the sample's own
    assert "欢迎 阿珍" not in (await client.get("/templates/welcome")).text  # nothing was saved
    assert operator_files(console) == []


async def test_preview_output_is_escaped_in_the_page(console: Console) -> None:
    client = await console.logged_in()
    shown = await preview(client, "<script>alert(1)</script>{{ member_name }}")
    assert "<script>alert" not in shown and "&lt;script&gt;alert(1)&lt;/script&gt;阿珍" in shown


async def test_preview_shows_a_syntax_error_at_its_line(console: Console) -> None:
    client = await console.logged_in()
    shown = await preview(client, "第一行\r\n欢迎 {{ member_name }\r\n")
    assert "第 2 行：语法错误" in shown
    assert '<span class="lineno">2</span>欢迎 {{ member_name }' in shown


async def test_preview_shows_an_undefined_variable_at_its_line(console: Console) -> None:
    client = await console.logged_in()
    shown = await preview(client, "你好\n\n{{ membr_name }}")
    assert "第 3 行：用到了不存在的变量" in shown and "membr_name" in shown


@pytest.fixture
async def client(console: Console) -> httpx.AsyncClient:
    """Logged in before a `loop_watchdog` listed after it starts: making an httpx client loads the CA
    file on the test's own loop, which is the test's doing, not the console's."""
    return await console.logged_in()


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("{% for i in range(9999) %}{% for j in range(9999) %}{% endfor %}{% endfor %}", "循环次数太多"),
        ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "recursion"),
        ("{{ 'x' * 10**9 }}", "乘出来"),
        ("{% for i in range(5000) %}{{ 'x' * 100 }}{% endfor %}", "输出太长"),
    ],
)
async def test_runaway_templates_are_refused_within_the_limits_off_the_loop(
    console: Console, client: httpx.AsyncClient, loop_watchdog: object, source: str, says: str
) -> None:
    shown = await preview(client, "第一行\n" + source)
    assert "第 2 行：超出了模板的计算限制" in shown and says in shown
    refused = await save(client, "第一行\n" + source)
    assert refused.status_code == 400 and "没有保存" in refused.text
    assert operator_files(console) == []


async def test_save_writes_into_the_operator_folder_and_the_next_render_uses_it(console: Console) -> None:
    before = builtin_snapshot()
    client = await console.logged_in()
    renderer = console.services.renderer
    assert "热烈欢迎" not in renderer.render("welcome", WELCOME_SAMPLE)
    response = await save(client, "热烈欢迎 {{ member_name }}！\r\n")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/templates/welcome?ok=")
    assert operator_files(console) == ["welcome.j2"]
    assert (operator_dir(console) / "welcome.j2").read_text(
        encoding="utf-8"
    ) == "热烈欢迎 {{ member_name }}！\n"
    assert await renderer.render_async("welcome", WELCOME_SAMPLE) == "热烈欢迎 阿珍！"
    assert builtin_snapshot() == before
    page = (await client.get(response.headers["location"])).text
    assert "已保存到运营目录" in page and "运营目录" in page


async def test_a_refused_save_shows_the_line_and_writes_nothing(console: Console) -> None:
    client = await console.logged_in()
    source = "好的\n{% if false %}{{ price_fen }}{% endif %}欢迎 {{ member_name }}"
    response = await save(client, source)
    assert response.status_code == 400
    assert "没有保存。第 2 行：用到了这种消息没有的变量" in response.text and "price_fen" in response.text
    assert "{% if false %}{{ price_fen }}" in response.text  # the operator's text is still in the editor
    broken = await save(client, "{% for %}")
    assert broken.status_code == 400 and "第 1 行：语法错误" in broken.text
    assert operator_files(console) == []


async def test_history_and_restore(console: Console) -> None:
    client = await console.logged_in()
    for text in ("一版 {{ member_name }}", "二版 {{ member_name }}", "三版 {{ member_name }}"):
        assert (await save(client, text)).status_code == 303
    page = (await client.get("/templates/welcome")).text
    versions = tf.history(console.services.renderer, "welcome")
    assert len(versions) == 2
    for v in versions:
        assert f'value="{v.name}"' in page
    oldest = versions[-1]
    response = await client.post("/templates/welcome/restore", data={"version": oldest.name})
    assert response.status_code == 303
    assert console.services.renderer.render("welcome", WELCOME_SAMPLE) == "一版 阿珍"
    kept = [
        (operator_dir(console) / ".history" / "welcome" / v.name).read_text(encoding="utf-8")
        for v in tf.history(console.services.renderer, "welcome")
    ]
    assert kept == ["三版 {{ member_name }}\n", "二版 {{ member_name }}\n"]
    assert "已恢复这个版本" in (await client.get(response.headers["location"])).text

    reset = await client.post("/templates/welcome/reset", data={})
    assert reset.status_code == 303
    assert console.services.renderer.winner("welcome") == BUILTIN_TEMPLATES / "welcome.j2"
    assert len(tf.history(console.services.renderer, "welcome")) == 3
    assert "恢复默认" in (await client.get(reset.headers["location"])).text


async def test_a_group_override_applies_to_that_group_only(console: Console) -> None:
    ensure_group(console.engine, ROOM, GROUP_NAME)
    ensure_group(console.engine, "other@chatroom", "别的群")
    client = await console.logged_in()
    response = await save(client, "本群欢迎 {{ member_name }} 来 {{ group_name }}", group=ROOM)
    assert response.status_code == 303
    assert operator_files(console) == [f"groups/{group_key(ROOM)}/welcome.j2"]
    renderer = console.services.renderer
    assert renderer.render("welcome", WELCOME_SAMPLE, group=ROOM) == "本群欢迎 阿珍 来 宝妈好物分享群"
    assert "本群欢迎" not in renderer.render("welcome", WELCOME_SAMPLE, group="other@chatroom")
    page = (await client.get(response.headers["location"])).text
    assert "去掉本群的单独模板" in page and f"groups/{group_key(ROOM)}/welcome.j2" in page
    reset = await client.post("/templates/welcome/reset", data={"group": ROOM})
    assert reset.status_code == 303
    assert "本群欢迎" not in renderer.render("welcome", WELCOME_SAMPLE, group=ROOM)


@pytest.mark.parametrize(
    "path",
    [
        "/templates/nope",
        "/templates/_partial",
        "/templates/..%2F..%2Fetc%2Fpasswd",
        "/templates/welcome%2F..%2F..%2Fx",
        "/templates/welcome?group=..%2F..%2F",
        "/templates/welcome?group=not-a-group",
    ],
)
async def test_unknown_kinds_and_groups_are_not_pages(console: Console, path: str) -> None:
    client = await console.logged_in()
    response = await client.get(path)
    assert response.status_code == 404, path
    assert "root:" not in response.text


async def test_path_traversal_in_actions_is_refused_and_changes_nothing(console: Console) -> None:
    client = await console.logged_in()
    await save(client, "一版 {{ member_name }}")
    await save(client, "二版 {{ member_name }}")
    before = operator_files(console)
    attempts: list[tuple[str, dict[str, Any]]] = [
        ("/templates/..%2Fwelcome/save", {"source": "x"}),
        ("/templates/welcome/save", {"source": "x {{ member_name }}", "group": "../../.."}),
        ("/templates/welcome/restore", {"version": "../../welcome.j2"}),
        ("/templates/welcome/restore", {"version": "../.history/welcome"}),
        ("/templates/welcome/restore", {"version": "20990101T000000.000000Z.j2"}),
        ("/templates/welcome/reset", {"group": "../.."}),
        ("/templates/nope/reset", {}),
    ]
    for path, form in attempts:
        response = await client.post(path, data=form)
        assert response.status_code in (400, 404), (path, form)
    assert operator_files(console) == before
    assert console.services.renderer.render("welcome", WELCOME_SAMPLE) == "二版 阿珍"


async def test_the_editor_flow_in_a_browser(console: Console, browser_page: Any) -> None:
    ensure_group(console.engine, ROOM, GROUP_NAME)
    tf.save(console.services.renderer, "welcome", "老版本欢迎 {{ member_name }}")
    page = browser_page
    await browser_login(page, console)
    await page.goto(console.url + "/templates")
    await page.screenshot(path=str(console.shots / "templates.png"), full_page=True)
    await page.click('a[href="/templates/welcome"]')
    await page.wait_for_selector(".bubble:has-text('老版本欢迎 阿珍')")

    editor = page.locator("#source")
    await editor.fill("")
    await editor.press_sequentially("第一行\n欢迎 {{ member_name }")
    problem = page.locator(".preview-problem")
    await problem.wait_for()
    assert "第 2 行：语法错误" in await problem.inner_text()
    assert "欢迎 {{ member_name }" in await page.locator(".preview-problem .bad-line").inner_text()

    await editor.press("End")
    await editor.press_sequentially("} 来到 {{ group_name }}")
    await page.wait_for_selector(".bubble:has-text('欢迎 阿珍 来到 宝妈好物分享群')")
    await page.click("button:text('保存')")
    await page.wait_for_selector(".notice:has-text('已保存到运营目录')")
    assert (
        console.services.renderer.render("welcome", WELCOME_SAMPLE) == "第一行\n欢迎 阿珍 来到 宝妈好物分享群"
    )
    await page.wait_for_selector(".bubble:has-text('欢迎 阿珍 来到')")
    await page.screenshot(path=str(console.shots / "template-editor.png"), full_page=True)

    await page.click("table.history button:text('恢复')")
    await page.wait_for_selector(".notice:has-text('已恢复这个版本')")
    await page.wait_for_selector(".bubble:has-text('老版本欢迎 阿珍')")
    assert console.services.renderer.render("welcome", WELCOME_SAMPLE) == "老版本欢迎 阿珍"


async def test_a_version_broken_by_hand_is_not_restored(console: Console) -> None:
    client = await console.logged_in()
    await save(client, "一版 {{ member_name }}")
    await save(client, "二版 {{ member_name }}")
    (version,) = tf.history(console.services.renderer, "welcome")
    broken = operator_dir(console) / ".history" / "welcome" / version.name
    broken.write_text("好的\n{{ member_name }", encoding="utf-8")
    response = await client.post("/templates/welcome/restore", data={"version": version.name})
    assert response.status_code == 400
    assert "没有恢复。第 2 行：语法错误" in response.text
    assert console.services.renderer.render("welcome", WELCOME_SAMPLE) == "二版 阿珍"
    assert broken.is_file()


async def test_a_console_pointed_at_the_shipped_folder_never_writes_it(
    tmp_path: Path, engine: Engine
) -> None:
    before = builtin_snapshot()
    settings = Settings.model_validate(
        {
            "bot": {"data_dir": str(tmp_path / "data")},
            "templates": {"dir": str(BUILTIN_TEMPLATES)},
            "web": {"enabled": True, "listen": "127.0.0.1:0"},
        }
    )
    async for running in serve_console(tmp_path, engine, settings=settings):
        client = await running.logged_in()
        response = await save(client, "改内置 {{ member_name }}")
        assert response.status_code == 400
        assert "程序自带的 templates/" in response.text
        assert (await client.post("/templates/welcome/reset", data={})).status_code == 400
    assert builtin_snapshot() == before
