"""The template editor's file handling: preview of unsaved text, checked atomic saves into the operator
folder only, history with restore, back to the built-in, and no way out of the folder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.render import files as tf
from bot.render.engine import BUILTIN_TEMPLATES, Renderer, group_key
from bot.render.samples import SAMPLES

ROOM = "20870958924@chatroom"
WELCOME = "欢迎 {{ member_name }} 来到 {{ group_name }}！\n"


class Clock:
    """A clock the test moves: history names are UTC times."""

    def __init__(self) -> None:
        self.now = datetime(2024, 6, 18, 8, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "operator"  # not created yet: the first save creates it


@pytest.fixture
def renderer(folder: Path) -> Renderer:
    return Renderer(folder)


def builtin_snapshot() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in BUILTIN_TEMPLATES.iterdir() if p.is_file()}


def test_preview_renders_the_text_being_edited_with_the_chosen_groups_name(renderer: Renderer) -> None:
    context = tf.sample_context("welcome", group_name="宝宝辅食交流群", room_id=ROOM)
    shown = tf.preview(renderer, "welcome", WELCOME, context)
    assert shown.problem is None
    assert shown.text == "欢迎 阿珍 来到 宝宝辅食交流群！"
    assert renderer.winner("welcome") == BUILTIN_TEMPLATES / "welcome.j2"  # nothing was saved


def test_preview_puts_a_syntax_error_at_its_line(renderer: Renderer) -> None:
    source = "第一行\n{% if member_name %}\n欢迎 {{ member_name }\n{% endif %}\n"
    shown = tf.preview(renderer, "welcome", source, tf.sample_context("welcome"))
    assert shown.problem is not None
    assert shown.problem.what == "语法错误"
    assert shown.problem.line == 3
    assert shown.problem.line_text == "欢迎 {{ member_name }"


def test_preview_names_an_undefined_variable_at_its_line(renderer: Renderer) -> None:
    shown = tf.preview(renderer, "welcome", "你好\n{{ membr_name }}\n", tf.sample_context("welcome"))
    assert shown.problem is not None
    assert shown.problem.what == "用到了不存在的变量"
    assert (shown.problem.line, shown.problem.line_text) == (2, "{{ membr_name }}")
    assert "membr_name" in shown.problem.message


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("{% for i in range(9999) %}{% for j in range(9999) %}{% endfor %}{% endfor %}", "循环次数太多"),
        ("开头\n{{ 'x' * 10**9 }}", "乘出来"),
        ("{% for i in range(5000) %}{{ 'x' * 100 }}{% endfor %}", "输出太长"),
        ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "recursion"),
    ],
)
def test_preview_refuses_runaway_templates_within_the_limits(
    renderer: Renderer, source: str, says: str
) -> None:
    shown = tf.preview(renderer, "welcome", source, tf.sample_context("welcome"))
    assert shown.problem is not None
    assert shown.problem.what == "超出了模板的计算限制"
    assert says in shown.problem.message


def test_preview_cuts_the_message_as_a_send_would(tmp_path: Path) -> None:
    renderer = Renderer(tmp_path, max_chars=100)
    shown = tf.preview(renderer, "welcome", "{{ 'x' * 300 }}", tf.sample_context("welcome"))
    assert shown.problem is None and len(shown.text) == 100 and shown.text.endswith("…")


def test_save_writes_into_the_operator_folder_and_the_renderer_uses_it_next(
    renderer: Renderer, folder: Path
) -> None:
    before = builtin_snapshot()
    sample = SAMPLES["welcome"][0]
    assert "欢迎" in renderer.render("welcome", sample)
    path = tf.save(renderer, "welcome", "热烈欢迎 {{ member_name }}\r\n", now=Clock())
    assert path == folder / "welcome.j2"
    assert path.read_text(encoding="utf-8") == "热烈欢迎 {{ member_name }}\n"
    assert renderer.render("welcome", sample) == "热烈欢迎 阿珍"
    assert builtin_snapshot() == before
    assert [p.name for p in folder.iterdir()] == ["welcome.j2"]  # no scratch left behind


def test_save_refuses_what_the_check_refuses_and_writes_nothing(renderer: Renderer, folder: Path) -> None:
    # renders with the first sample but names a variable welcome never gets: caught by the full check
    source = "{% if false %}{{ price_fen }}{% endif %}欢迎 {{ member_name }}\n"
    with pytest.raises(tf.TemplateRejectedError) as refused:
        tf.save(renderer, "welcome", source)
    assert refused.value.problem.line == 1
    assert "price_fen" in refused.value.problem.message
    with pytest.raises(tf.TemplateRejectedError) as syntax:
        tf.save(renderer, "welcome", "{% if %}\n")
    assert syntax.value.problem.what == "语法错误"
    assert not (folder / "welcome.j2").exists()
    assert not any(folder.iterdir()) if folder.exists() else True


def test_save_refuses_a_template_that_fails_on_another_sample(renderer: Renderer) -> None:
    # the first deal sample has a coupon; the second has none, so .amount_fen of None fails there
    source = "{{ product.title }} 券 {{ coupon.amount_fen | yuan }}\n"
    assert tf.preview(renderer, "deal", source, tf.sample_context("deal", 0)).problem is None
    with pytest.raises(tf.TemplateRejectedError) as refused:
        tf.save(renderer, "deal", source)
    assert refused.value.problem.line == 1
    assert refused.value.problem.message.endswith("（示例数据第 2 组）")


def test_save_refuses_a_template_that_renders_nothing(renderer: Renderer, folder: Path) -> None:
    with pytest.raises(tf.TemplateRejectedError) as refused:
        tf.save(renderer, "welcome", "{% if false %}欢迎{% endif %}\n")
    assert refused.value.problem.what == "渲染出来是空消息"
    assert not (folder / "welcome.j2").exists()


def test_history_keeps_each_replaced_version_and_restore_swaps_them(renderer: Renderer, folder: Path) -> None:
    clock = Clock()
    tf.save(renderer, "welcome", "一版 {{ member_name }}", now=clock)
    assert tf.history(renderer, "welcome") == []  # the built-in was not replaced, only outranked
    tf.save(renderer, "welcome", "二版 {{ member_name }}", now=clock)
    tf.save(renderer, "welcome", "三版 {{ member_name }}", now=clock)
    versions = tf.history(renderer, "welcome")
    assert [(folder / ".history" / "welcome" / v.name).read_text(encoding="utf-8") for v in versions] == [
        "二版 {{ member_name }}\n",
        "一版 {{ member_name }}\n",
    ]
    assert versions[0].saved_at > versions[1].saved_at and versions[0].size > 0
    assert versions[0].name.endswith("Z.j2")

    tf.restore(renderer, "welcome", versions[1].name, now=clock)
    assert renderer.render("welcome", SAMPLES["welcome"][0]) == "一版 阿珍"
    texts = [(folder / ".history" / "welcome" / v.name).read_text() for v in tf.history(renderer, "welcome")]
    assert texts == ["三版 {{ member_name }}\n", "二版 {{ member_name }}\n"]


def test_history_keeps_the_last_twenty(renderer: Renderer) -> None:
    clock = Clock()
    for n in range(25):
        tf.save(renderer, "not_owner", f"第{n}版", now=clock)
    versions = tf.history(renderer, "not_owner")
    assert len(versions) == tf.HISTORY_KEEP == 20
    newest = renderer.operator_dir / ".history" / "not_owner" / versions[0].name  # type: ignore[operator]
    assert newest.read_text(encoding="utf-8") == "第23版\n"


def test_two_saves_in_the_same_instant_keep_both_versions(renderer: Renderer) -> None:
    frozen = datetime(2024, 6, 18, 8, 30, tzinfo=UTC)
    for n in range(4):
        tf.save(renderer, "not_owner", f"第{n}版", now=lambda: frozen)
    assert len(tf.history(renderer, "not_owner")) == 3


def test_reset_brings_back_the_built_in_and_keeps_the_text(renderer: Renderer, folder: Path) -> None:
    tf.save(renderer, "welcome", "自定义 {{ member_name }}", now=Clock())
    assert tf.reset(renderer, "welcome", now=Clock())
    assert renderer.winner("welcome") == BUILTIN_TEMPLATES / "welcome.j2"
    assert [v.size for v in tf.history(renderer, "welcome")] == [len("自定义 {{ member_name }}\n".encode())]
    assert not tf.reset(renderer, "welcome")


def test_a_group_override_lives_in_the_groups_folder_and_wins_only_there(
    renderer: Renderer, folder: Path
) -> None:
    clock = Clock()
    tf.save(renderer, "welcome", "全体 {{ member_name }}", now=clock)
    tf.save(renderer, "welcome", "本群 {{ group_name }}", group=ROOM, now=clock)
    sample = SAMPLES["welcome"][0]
    assert (folder / "groups" / group_key(ROOM) / "welcome.j2").is_file()
    assert renderer.render("welcome", sample, group=ROOM) == "本群 宝妈好物分享群"
    assert renderer.render("welcome", sample, group="other@chatroom") == "全体 阿珍"
    tf.save(renderer, "welcome", "本群二版 {{ group_name }}", group=ROOM, now=clock)
    assert len(tf.history(renderer, "welcome", ROOM)) == 1
    assert tf.history(renderer, "welcome") == []
    assert (folder / ".history" / "groups" / group_key(ROOM) / "welcome").is_dir()
    assert tf.reset(renderer, "welcome", group=ROOM, now=clock)
    assert renderer.render("welcome", sample, group=ROOM) == "全体 阿珍"
    assert renderer.groups() == []  # the empty group folder went too


@pytest.mark.parametrize("kind", ["../welcome", "welcome/../../x", "_partial", "nope", "", ".history"])
def test_unknown_kinds_are_refused(renderer: Renderer, kind: str) -> None:
    with pytest.raises(tf.EditRefusedError):
        tf.save(renderer, kind, "x")
    with pytest.raises(tf.EditRefusedError):
        tf.history(renderer, kind)


@pytest.mark.parametrize("group", ["../..", "../../etc", "/etc", "..", ".history", "a/../../b"])
def test_group_ids_never_leave_the_groups_folder(renderer: Renderer, folder: Path, group: str) -> None:
    path = tf.save(renderer, "not_owner", "只有群主能设置", group=group, now=Clock())
    assert path.resolve().parent.parent == (folder / "groups").resolve()


@pytest.mark.parametrize("version", ["../../welcome.j2", "../welcome.j2", "20240618T083000.000000Z.j2", "x"])
def test_restore_takes_only_listed_versions(renderer: Renderer, folder: Path, version: str) -> None:
    clock = Clock()
    tf.save(renderer, "welcome", "一 {{ member_name }}", now=clock)
    tf.save(renderer, "welcome", "二 {{ member_name }}", now=clock)
    with pytest.raises(tf.EditRefusedError):
        tf.restore(renderer, "welcome", version, now=clock)
    assert (folder / "welcome.j2").read_text(encoding="utf-8") == "二 {{ member_name }}\n"


def test_the_shipped_folder_is_never_written(tmp_path: Path) -> None:
    before = builtin_snapshot()
    for folder in (BUILTIN_TEMPLATES, BUILTIN_TEMPLATES / "groups"):
        renderer = Renderer(folder)
        with pytest.raises(tf.EditRefusedError):
            tf.save(renderer, "welcome", "改内置 {{ member_name }}")
        with pytest.raises(tf.EditRefusedError):
            tf.reset(renderer, "welcome")
    assert builtin_snapshot() == before


def test_overview_says_which_file_wins_and_whether_it_renders(renderer: Renderer, folder: Path) -> None:
    clock = Clock()
    tf.save(renderer, "welcome", "欢迎 {{ member_name }}", now=clock)
    tf.save(renderer, "help", "帮助 {{ bot_name }}", group=ROOM, now=clock)
    (folder / "not_owner.j2").write_text("{% if %}", encoding="utf-8")  # broken by hand
    rows = {row.kind: row for row in tf.overview(renderer)}
    assert set(rows) == set(tf.kinds()) and "deal" in rows
    assert (rows["welcome"].winner.origin, rows["welcome"].winner.problem) == ("operator", None)
    assert rows["deal"].winner.origin == "builtin" and rows["deal"].winner.problem is None
    assert rows["not_owner"].winner.problem is not None
    assert [(key, status.origin) for key, status in rows["help"].overrides] == [(group_key(ROOM), "group")]
    assert rows["help"].winner.origin == "builtin"
    (folder / "not_owner.j2").write_text("好的", encoding="utf-8")
    assert {r.kind: r for r in tf.overview(renderer)}["not_owner"].winner.problem is None


def test_overview_notices_a_changed_partial(renderer: Renderer, folder: Path) -> None:
    tf.save(renderer, "not_owner", "只有群主能设置", now=Clock())
    (folder / "_sign.j2").write_text("—— 小助手", encoding="utf-8")
    (folder / "not_owner.j2").write_text('只有群主能设置\n{% include "_sign.j2" %}', encoding="utf-8")
    assert {r.kind: r for r in tf.overview(renderer)}["not_owner"].winner.problem is None
    (folder / "_sign.j2").write_text("{{ nobody }}", encoding="utf-8")
    assert {r.kind: r for r in tf.overview(renderer)}["not_owner"].winner.problem is not None
