"""What an operator runs into at the command line on a fresh install (issue 30, Operators): each
command run as a process, the way an operator types it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.cli.league import SEARCH_LIMIT
from bot.store import db
from bot.store.groups import ensure_group
from tests.helpers import tuike


def test_templates_check_passes_on_a_clean_install_without_an_operator_folder(tmp_path: Path) -> None:
    """No `data/templates/` yet is normal: `tuike check` passes, and so does `templates check`."""
    result = tuike("templates", "check", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all templates render (built-in" in result.stdout
    assert "does not exist" not in result.stdout + result.stderr


def test_templates_check_still_refuses_a_folder_given_by_hand_that_is_not_there(tmp_path: Path) -> None:
    result = tuike("templates", "check", "--dir", str(tmp_path / "nosuch"), cwd=tmp_path)
    assert result.returncode != 0
    assert "does not exist" in result.stdout + result.stderr


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The error an operator reads: exit 2, nothing on stdout, no traceback, one line on stderr."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("report", "--from", "1900-01-01", "--to", "9999-12-31"), "2000-01-01"),
        (("report", "--from", "2026-02-01", "--to", "2026-01-01"), "--from"),
        (("report", "--chart", "/nonexistent/dir/x.png"), "/nonexistent/dir"),
        (("report", "--chart", "x.gif"), ".png"),
        (("rebate", "pay", "1"), "没有编号 1"),
        (("sandbox", "--port", "99999"), "65535"),
    ],
)
def test_a_mistyped_command_is_one_line_and_exit_2(tmp_path: Path, args: tuple[str, ...], said: str) -> None:
    assert said in _one_line_error(tuike(*args, cwd=tmp_path))


@pytest.mark.parametrize("limit", ["-5", "0", "100000"])
def test_search_limit_is_bounded_and_says_so(tmp_path: Path, limit: str) -> None:
    line = _one_line_error(tuike("search", "耳机", "--limit", limit, cwd=tmp_path))
    assert "--limit" in line and "1" in line and str(SEARCH_LIMIT) in line


def test_search_limit_at_the_bound_answers(tmp_path: Path) -> None:
    result = tuike("search", "耳机", "--limit", str(SEARCH_LIMIT), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert 0 < len(result.stdout.splitlines()) <= SEARCH_LIMIT


def test_nothing_to_cancel_is_exit_2_like_every_not_found(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'tuike.db'}")
    db.upgrade(engine)
    ensure_group(engine, "555@chatroom", "甲群")
    engine.dispose()
    assert "没有这样的订阅" in _one_line_error(tuike("groups", "unsubscribe", "甲群", cwd=tmp_path))
    assert "没有这个群" in _one_line_error(tuike("promote", "123", "--group", "nosuch", cwd=tmp_path))
