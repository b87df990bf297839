"""`tuike templates check | preview | list` and the template line of `tuike check`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import cli
from bot.cli.checks import run_checks
from bot.config import load_config
from bot.render.check import check_templates
from bot.render.kinds import KINDS
from bot.render.samples import EARBUDS_LINK


@pytest.fixture
def operator_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "my-templates"
    folder.mkdir()
    return folder


@pytest.fixture
def config(tmp_path: Path, operator_dir: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[bot]\ndata_dir = "{(tmp_path / "data").as_posix()}"\n'
        f'[templates]\ndir = "{operator_dir.as_posix()}"\nmax_message_chars = 1500\n',
        encoding="utf-8",
    )
    return path


def tuike(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def test_check_passes_on_the_shipped_set(config: Path) -> None:
    result = tuike(config, "templates", "check")
    assert result.exit_code == 0, result.output
    assert "all templates render" in result.stdout


def test_check_fails_on_a_broken_operator_template_naming_file_and_line(
    config: Path, operator_dir: Path
) -> None:
    (operator_dir / "deal.j2").write_text("{{ product.title }}\n{% for x in %}\n", encoding="utf-8")
    group = operator_dir / "groups" / "20870958924@chatroom"
    group.mkdir(parents=True)
    (group / "help.j2").write_text("你好\n\n{{ bot_nmae }}\n", encoding="utf-8")
    result = tuike(config, "templates", "check")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith(f"{operator_dir / 'deal.j2'}:2: ") for line in lines), lines
    assert any(
        line.startswith(f"{group / 'help.j2'}:3: 'bot_nmae' is not a variable of help") for line in lines
    ), lines
    assert "2 problem(s) found" in result.stderr


def test_check_catches_a_typo_in_a_branch_the_samples_skip(operator_dir: Path) -> None:
    (operator_dir / "deal.j2").write_text(
        "{{ product.title }}\n{% if final_price_fen < 0 %}\n{{ cupon|coupon_summary }}\n{% endif %}\n",
        encoding="utf-8",
    )
    problems = check_templates(operator_dir)
    assert [(p.path, p.line) for p in problems] == [(operator_dir / "deal.j2", 3)]
    assert "'cupon'" in problems[0].message


def test_check_fails_when_a_template_breaks_on_an_awkward_sample(operator_dir: Path) -> None:
    # Works with a coupon, breaks on the sample without one.
    (operator_dir / "deal.j2").write_text(
        "{{ product.title }}\n{{ (product.price_fen - coupon.amount_fen)|yuan }}\n", encoding="utf-8"
    )
    problems = check_templates(operator_dir)
    assert len(problems) == 1
    assert problems[0].line == 2


def test_check_flags_a_misnamed_file_and_sandbox_escapes(operator_dir: Path) -> None:
    (operator_dir / "deals.j2").write_text("{{ x }}", encoding="utf-8")
    (operator_dir / "welcome.j2").write_text("hi\n{{ bot_name.__class__ }}", encoding="utf-8")
    (operator_dir / "_footer.j2").write_text("—— {{ 1 + 1 }}", encoding="utf-8")
    problems = {p.path.name: p for p in check_templates(operator_dir)}
    assert set(problems) == {"deals.j2", "welcome.j2"}
    assert "not a template kind" in problems["deals.j2"].message
    assert problems["welcome.j2"].line == 2
    assert "unsafe" in problems["welcome.j2"].message


def test_check_reports_a_missing_operator_folder(tmp_path: Path) -> None:
    problems = check_templates(tmp_path / "nowhere")
    assert [p.message for p in problems] == ["the [templates] dir does not exist"]


def test_tuike_check_uses_the_same_template_check(config: Path, operator_dir: Path) -> None:
    loaded = load_config(config)
    assert all(ok for ok, _ in run_checks(loaded))
    (operator_dir / "help.j2").write_text("{{ nope }}", encoding="utf-8")
    failed = [line for ok, line in run_checks(loaded) if not ok]
    assert failed == [
        f"template {operator_dir / 'help.j2'}:1: 'nope' is not a variable of help "
        "(it receives: bot_name、is_group、is_owner、platforms、rebate、shops、takeout)"
    ]


def test_preview_prints_the_message_with_sample_data(config: Path) -> None:
    result = tuike(config, "templates", "preview", "deal")
    assert result.exit_code == 0, result.output
    for fact in ("¥129.00", "满99减20", "¥109.00", EARBUDS_LINK.http_short_link):
        assert fact in result.stdout
    assert "templates/deal.j2" in result.stderr


def test_preview_uses_the_group_override_and_other_samples(config: Path, operator_dir: Path) -> None:
    group = operator_dir / "groups" / "20870958924@chatroom"
    group.mkdir(parents=True)
    (group / "deal.j2").write_text("群专属 {{ final_price_fen|yuan }}", encoding="utf-8")
    grouped = tuike(config, "templates", "preview", "deal", "--group", "20870958924@chatroom")
    assert grouped.stdout.strip() == "群专属 ¥109.00"
    second = tuike(config, "templates", "preview", "deal", "--sample", "2")
    assert "¥158.00" in second.stdout


def test_preview_of_a_broken_template_shows_the_fallback_and_fails(config: Path, operator_dir: Path) -> None:
    (operator_dir / "deal.j2").write_text("{{ oops }}", encoding="utf-8")
    result = tuike(config, "templates", "preview", "deal")
    assert result.exit_code == 1
    assert "¥109.00" in result.stdout  # the built-in stood in
    assert f"{operator_dir / 'deal.j2'}:1: 'oops' is undefined" in result.stderr


def test_preview_rejects_an_unknown_kind(config: Path) -> None:
    result = tuike(config, "templates", "preview", "deals")
    assert result.exit_code == 2
    assert "unknown template 'deals'" in result.stderr
    assert tuike(config, "templates", "preview", "deal", "--sample", "9").exit_code == 2


def test_list_shows_which_file_wins(config: Path, operator_dir: Path) -> None:
    (operator_dir / "help.j2").write_text("运营版", encoding="utf-8")
    group = operator_dir / "groups" / "console_测试群"
    group.mkdir(parents=True)
    (group / "welcome.j2").write_text("欢迎", encoding="utf-8")
    result = tuike(config, "templates", "list")
    assert result.exit_code == 0, result.output
    sections = result.stdout.split("[group console_测试群]")
    assert len(sections) == 2
    default, grouped = sections
    assert f"help                   {operator_dir / 'help.j2'}  (override)" in default
    assert "templates/welcome.j2  (built-in)" in default
    assert f"{group / 'welcome.j2'}  (override)" in grouped
    assert f"{operator_dir / 'help.j2'}  (override)" in grouped
    for kind in KINDS:
        assert default.count(f"  {kind} ") == 1
