"""The renderer as operators and members meet it: overrides, hot reload, fallbacks, filters, limits."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.leagues.base import Coupon
from bot.render.engine import BUILTIN_TEMPLATES, Renderer, RenderError, group_key
from bot.render.filters import count, coupon_summary, cut, display_width, percent, shorten, yuan
from bot.render.kinds import KINDS
from bot.render.samples import EARBUDS_LINK, SAMPLES

DEAL = SAMPLES["deal"][0]
HELP = SAMPLES["help"][0]


class Notices(list[str]):
    def __call__(self, message: str) -> None:
        self.append(message)


@pytest.fixture
def notices() -> Notices:
    return Notices()


@pytest.fixture
def operator_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "my-templates"
    folder.mkdir()
    return folder


@pytest.fixture
def renderer(operator_dir: Path, notices: Notices) -> Renderer:
    return Renderer(operator_dir, notify=notices)


def write(path: Path, text: str) -> Path:
    """Save like an editor does; the mtime moves forward even within one clock tick."""
    path.parent.mkdir(parents=True, exist_ok=True)
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    after = max(path.stat().st_mtime_ns, before + 1_000_000)
    os.utime(path, ns=(after, after))
    return path


# ------------------------------------------------------------------------------------- shipped set


def test_every_kind_has_a_shipped_template_that_documents_its_variables() -> None:
    shipped = {p.stem for p in BUILTIN_TEMPLATES.glob("*.j2")}
    assert set(KINDS) <= shipped
    for kind, variables in KINDS.items():
        header = (BUILTIN_TEMPLATES / f"{kind}.j2").read_text(encoding="utf-8").split("-#}")[0]
        assert header.startswith("{#"), kind
        for variable in variables:
            assert variable in header, f"{kind}.j2 does not document {variable}"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_shipped_template_renders_every_sample(kind: str) -> None:
    renderer = Renderer(None, notify=pytest.fail)
    for sample in SAMPLES[kind]:
        text = renderer.render(kind, sample)
        assert text.strip() == text
        assert text


def test_deal_shows_price_coupon_final_price_and_link_in_reading_order() -> None:
    text = Renderer(None).render("deal", DEAL)
    facts = ["¥129.00", "满99减20", "¥109.00", EARBUDS_LINK.http_short_link]
    positions = [text.index(fact) for fact in facts]
    assert positions == sorted(positions)
    assert "&scene=tuike" in text  # no HTML escaping of affiliate URLs


def test_deal_without_coupon_shows_the_price_to_pay_and_no_coupon_line() -> None:
    text = Renderer(None).render("deal", SAMPLES["deal"][1])
    assert "¥158.00" in text
    assert "券" not in text


@pytest.mark.parametrize("kind", ["search_results", "daily_deals"])
def test_lists_carry_each_items_facts(kind: str) -> None:
    sample = SAMPLES[kind][0]
    text = Renderer(None).render(kind, sample)
    for item in sample["items"]:
        assert yuan(item["final_price_fen"]) in text
        assert item["link"].best_url in text
        if item["coupon"]:
            assert coupon_summary(item["coupon"]) in text
            assert yuan(item["product"].price_fen) in text


@pytest.mark.parametrize("kind", sorted(set(KINDS) - {"commission_report"}))
def test_member_facing_copy_never_shows_commission(kind: str) -> None:
    renderer = Renderer(None)
    for sample in SAMPLES[kind]:
        text = renderer.render(kind, sample)
        assert "佣金" not in text
        assert "¥19.35" not in text  # the earbuds' commission amount
        assert "15%" not in text  # and its ratio


def test_commission_report_shows_the_money_to_owners() -> None:
    text = Renderer(None).render("commission_report", SAMPLES["commission_report"][0])
    assert "37" in text
    assert "¥4286.50" in text
    assert "¥514.38" in text


def test_help_keeps_the_command_words_discoverable() -> None:
    text = Renderer(None).render("help", HELP)
    for word in ("找", "搜", "买", "查", "帮助"):
        assert word in text


def test_times_show_in_the_configured_zone() -> None:
    sample = SAMPLES["live_soon"][0]  # starts 12:00 UTC
    assert "20:00" in Renderer(None).render("live_soon", sample)
    assert "08:00" in Renderer(None, timezone="America/New_York").render("live_soon", sample)
    status = Renderer(None).render("subscription_status", SAMPLES["subscription_status"][0])
    assert "6月19日 周三 08:30" in status


# -------------------------------------------------------------------------------------- overrides


def test_operator_override_wins_over_the_builtin(renderer: Renderer, operator_dir: Path) -> None:
    write(operator_dir / "help.j2", "我是{{ bot_name }}，有事找我")
    assert renderer.render("help", HELP) == "我是推客小助手，有事找我"
    assert renderer.render("deal", DEAL).startswith("🛍\ufe0f 倍思")  # other kinds stay built-in


def test_group_override_wins_for_that_group_only(renderer: Renderer, operator_dir: Path) -> None:
    write(operator_dir / "help.j2", "运营版")
    write(operator_dir / "groups" / "20870958924@chatroom" / "help.j2", "宝妈群专属")
    write(operator_dir / "groups" / "console_测试群" / "help.j2", "测试群专属")
    assert renderer.render("help", HELP, group="20870958924@chatroom") == "宝妈群专属"
    assert renderer.render("help", HELP, group="console:测试群") == "测试群专属"
    assert renderer.render("help", HELP, group="11111@chatroom") == "运营版"
    assert renderer.render("help", HELP) == "运营版"


def test_group_key_is_filesystem_safe_and_idempotent() -> None:
    assert group_key("20870958924@chatroom") == "20870958924@chatroom"
    assert group_key("console:测试群") == "console_测试群"
    assert group_key("../../etc") == "_._.._etc"
    assert group_key("") == "_"
    long = group_key("群" * 200)
    assert len(long) <= 64
    assert long != group_key("群" * 199)
    for raw in ("a/b\\c", "..", "x y:z", "群" * 200):
        assert group_key(group_key(raw)) == group_key(raw)
        assert "/" not in group_key(raw)
        assert group_key(raw) not in (".", "..")


def test_a_group_cannot_reach_outside_its_folder(renderer: Renderer, operator_dir: Path) -> None:
    write(operator_dir.parent / "help.j2", "逃出去了")
    assert renderer.render("help", HELP, group="..") != "逃出去了"
    with pytest.raises(RenderError):
        renderer.render("../help", HELP)


# ------------------------------------------------------------------------------------- hot reload


def test_an_edit_takes_effect_on_the_next_render(renderer: Renderer, operator_dir: Path) -> None:
    path = write(operator_dir / "help.j2", "第一版")
    assert renderer.render("help", HELP) == "第一版"
    write(path, "第二版")  # same size: the mtime alone tells
    assert renderer.render("help", HELP) == "第二版"
    path.unlink()
    assert renderer.render("help", HELP).startswith("👋")  # back to the built-in


def test_a_new_group_folder_is_picked_up_without_restart(renderer: Renderer, operator_dir: Path) -> None:
    assert renderer.render("help", HELP, group="g1").startswith("👋")
    write(operator_dir / "groups" / "g1" / "help.j2", "新群版")
    assert renderer.render("help", HELP, group="g1") == "新群版"


# --------------------------------------------------------------------------------------- fallback


def test_syntax_error_falls_back_to_the_last_good_version(
    renderer: Renderer, operator_dir: Path, notices: Notices
) -> None:
    path = write(operator_dir / "help.j2", "好的版本 {{ bot_name }}")
    assert renderer.render("help", HELP) == "好的版本 推客小助手"
    write(path, "第一行\n第二行 {{ bot_name }\n第三行")
    assert renderer.render("help", HELP) == "好的版本 推客小助手"
    assert len(notices) == 1
    assert "my-templates/help.j2:2: unexpected '}'" in notices[0]


def test_undefined_variable_falls_back_and_names_file_and_line(
    renderer: Renderer, operator_dir: Path, notices: Notices
) -> None:
    path = write(operator_dir / "deal.j2", "{{ product.title }}\n{{ final_price_fen|yuan }}")
    assert renderer.render("deal", DEAL).endswith("¥109.00")
    write(path, "{{ product.title }}\n\n{{ final_prise_fen|yuan }}")
    assert renderer.render("deal", DEAL).endswith("¥109.00")
    assert len(notices) == 1
    assert f"{path.name}:3: 'final_prise_fen' is undefined" in notices[0]


def test_broken_file_without_a_good_version_falls_back_to_builtin(
    renderer: Renderer, operator_dir: Path, notices: Notices
) -> None:
    write(operator_dir / "help.j2", "{{ bot_name ")
    assert renderer.render("help", HELP).startswith("👋 我是推客小助手")
    assert len(notices) == 1


def test_broken_group_file_falls_back_to_the_operator_file(
    renderer: Renderer, operator_dir: Path, notices: Notices
) -> None:
    write(operator_dir / "help.j2", "运营版")
    write(operator_dir / "groups" / "g1" / "help.j2", "{{ nope }}")
    assert renderer.render("help", HELP, group="g1") == "运营版"
    assert "groups/g1/help.j2:1:" in notices[0]


def test_notified_once_per_broken_version(renderer: Renderer, operator_dir: Path, notices: Notices) -> None:
    path = write(operator_dir / "help.j2", "{{ nope }}")
    for _ in range(3):
        renderer.render("help", HELP)
    assert len(notices) == 1
    write(path, "{{ still_nope }}")
    renderer.render("help", HELP)
    renderer.render("help", HELP)
    assert len(notices) == 2
    assert "still_nope" in notices[1]
    write(path, "修好了")
    assert renderer.render("help", HELP) == "修好了"
    assert len(notices) == 2


def test_a_template_rendering_nothing_falls_back(
    renderer: Renderer, operator_dir: Path, notices: Notices
) -> None:
    write(operator_dir / "help.j2", "{% if false %}x{% endif %}\n   \n")
    assert renderer.render("help", HELP).startswith("👋")
    assert "empty" in notices[0]


def test_a_failing_notify_does_not_break_rendering(operator_dir: Path) -> None:
    def explode(message: str) -> None:
        raise ConnectionError("admin chat unreachable")

    write(operator_dir / "help.j2", "{{ nope }}")
    assert Renderer(operator_dir, notify=explode).render("help", HELP).startswith("👋")


def test_default_notify_logs_a_warning(operator_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    write(operator_dir / "help.j2", "ok\n{{ nope }}")
    Renderer(operator_dir).render("help", HELP)
    assert any("help.j2:2:" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)


def test_caller_bug_in_the_builtin_raises_render_error(renderer: Renderer) -> None:
    with pytest.raises(RenderError, match="bot_name"):
        renderer.render("help", {"is_group": True})
    with pytest.raises(RenderError, match="no template"):
        renderer.render("no_such_kind", {})


@pytest.mark.parametrize(
    "trick",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ product.__class__.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ product.title.format_map.__self__ }}",
        "{% set x = asker.__class__ %}{{ x }}",
    ],
)
def test_sandbox_rejects_attribute_tricks(
    renderer: Renderer, operator_dir: Path, notices: Notices, trick: str
) -> None:
    write(operator_dir / "deal.j2", "价格 {{ final_price_fen|yuan }}\n" + trick)
    text = renderer.render("deal", DEAL)
    assert text.startswith("🛍\ufe0f 倍思")  # the built-in, not the trick's output
    assert "class" not in text
    assert len(notices) == 1
    assert "deal.j2:2:" in notices[0]


def test_sandbox_keeps_handler_data_read_only(renderer: Renderer, operator_dir: Path) -> None:
    sample = SAMPLES["search_results"][0]
    before = list(sample["items"])
    write(operator_dir / "search_results.j2", "{{ items.clear() }}{{ items|length }}")
    renderer.render("search_results", sample)
    assert sample["items"] == before


# ---------------------------------------------------------------------------------------- filters


@pytest.mark.parametrize(
    ("fen", "shown"),
    [
        (0, "¥0.00"),
        (1, "¥0.01"),
        (99, "¥0.99"),
        (100, "¥1.00"),
        (1999999, "¥19999.99"),
        (-500, "-¥5.00"),
        (-1, "-¥0.01"),
    ],
)
def test_yuan_is_exact(fen: int, shown: str) -> None:
    assert yuan(fen) == shown


@pytest.mark.parametrize("bad", [12.9, "1290", True, None])
def test_yuan_refuses_anything_but_whole_fen(bad: object) -> None:
    with pytest.raises(TypeError):
        yuan(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ppm", "shown"),
    [(150_000, "15%"), (125_000, "12.5%"), (123_456, "12.35%"), (0, "0%"), (1_000_000, "100%"), (40, "0%")],
)
def test_percent(ppm: int, shown: str) -> None:
    assert percent(ppm) == shown


@pytest.mark.parametrize(
    ("coupon", "shown"),
    [
        (Coupon("c", amount_fen=2000, threshold_fen=9900), "满99减20"),
        (Coupon("c", amount_fen=500), "无门槛减5元"),
        (Coupon("c", amount_fen=1050, threshold_fen=19990), "满199.9减10.5"),
        (Coupon("c", amount_fen=600, discount_permille=950), "9.5折"),
        (Coupon("c", amount_fen=600, discount_permille=900), "9折"),
        (Coupon("c", amount_fen=600, threshold_fen=19900, discount_permille=880), "满199享8.8折"),
        (None, ""),
    ],
)
def test_coupon_summary(coupon: Coupon | None, shown: str) -> None:
    assert coupon_summary(coupon) == shown


def test_count_reads_like_a_sales_tag() -> None:
    assert [count(n) for n in (0, 356, 9999, 10_000, 23_456, 108_000, 123_456_789)] == [
        "0",
        "356",
        "9999",
        "1万",
        "2.3万",
        "10.8万",
        "1.2亿",
    ]


def test_shorten_counts_wide_characters_double() -> None:
    assert shorten("蓝牙耳机降噪", 12) == "蓝牙耳机降噪"
    assert shorten("蓝牙耳机降噪", 11) == "蓝牙耳机降…"
    assert shorten("蓝牙耳机降噪", 10) == "蓝牙耳机…"
    assert shorten("蓝牙耳机降噪", 7) == "蓝牙耳…"
    assert shorten("Bowie E19 earbuds", 10) == "Bowie E19…"
    assert shorten("Bowie E19 earbuds", 7) == "Bowie…"  # the space before the cut goes too
    assert shorten("ＡＢＣ", 4) == "Ａ…"  # fullwidth letters are wide too


def test_shorten_never_splits_a_character() -> None:
    accented = "cafe\u0301 " * 6
    family = "👨\u200d👩\u200d👧"
    for width in range(1, 30):
        for text in (accented, family * 5, "耳机👍🏻降噪" * 3, "a蓝b牙c耳d机" * 3):
            out = shorten(text, width)
            assert display_width(out) <= max(width, 1)
            body = out.removesuffix("…")
            assert text.startswith(body)
            rest = text[len(body) :]
            assert not rest or rest[0] not in "\u0301\u200d\U0001f3fb", (text, width, out)
            assert not body.endswith("\u200d")


def test_shorten_works_on_the_real_title() -> None:
    title = SAMPLES["deal"][0]["product"].title
    out = shorten(title, 20)
    assert out.endswith("…")
    assert display_width(out) <= 20


def test_date_filters_treat_naive_times_as_utc() -> None:
    renderer = Renderer(None)
    naive = datetime(2024, 6, 18, 16, 30)
    aware = naive.replace(tzinfo=UTC)
    template = renderer.env.from_string(
        "{{ t|date }} {{ t|weekday }} {{ t|time }} {{ none|time }}|{{ t|datetime }}|{{ t|date('%Y-%m-%d') }}"
    )
    assert template.render(t=naive, none=None) == template.render(t=aware, none=None)
    assert template.render(t=aware, none=None) == "6月19日 周三 00:30 |6月19日 00:30|2024-06-19"


# ----------------------------------------------------------------------------------- message size


def test_cut_prefers_a_line_break_and_marks_the_cut() -> None:
    text = "\n".join(f"第{i}行：好价推荐" for i in range(100))
    out = cut(text, 100)
    assert len(out) <= 100
    assert out.endswith("\n…")
    assert text.startswith(out.removesuffix("\n…"))


def test_cut_without_line_breaks_never_splits_a_character() -> None:
    text = "e\u0301" * 80
    out = cut(text, 51)
    assert len(out) <= 51
    assert out.endswith("…")
    assert out.removesuffix("…").endswith("e\u0301")


def test_short_text_is_untouched() -> None:
    assert cut("你好", 100) == "你好"


def test_renderer_cuts_long_messages_at_max_chars() -> None:
    sample = SAMPLES["daily_deals"][0]
    full = Renderer(None).render("daily_deals", sample)
    short = Renderer(None, max_chars=200).render("daily_deals", sample)
    assert len(full) > 200
    assert len(short) <= 200
    assert short.endswith("…")
    assert full.startswith(short.removesuffix("…").rstrip())
