"""What an operator runs into at the command line on a fresh install (issue 30, Operators): each
command run as a process, the way an operator types it."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bot.cli.league import SEARCH_LIMIT
from bot.leagues.metering import QUOTA_PATHS
from bot.push import claims
from bot.render.kinds import KINDS
from bot.store import db, subscriptions
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


def _json_lines(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_templates_list_names_every_kind_in_chinese_and_as_json(tmp_path: Path) -> None:
    rows = _json_lines(tuike("templates", "list", "--json", cwd=tmp_path))
    assert {row["kind"] for row in rows} == set(KINDS)
    for row in rows:
        assert row["group"] is None and row["origin"] == "builtin" and row["file"].endswith(".j2")
        assert re.search(r"[\u4e00-\u9fff]", row["label"]), row
    text = tuike("templates", "list", cwd=tmp_path).stdout
    assert "看不懂的消息" in text and "返利余额" in text and "回应道谢" in text


def test_quota_lists_every_league_with_a_daily_quota_as_json(tmp_path: Path) -> None:
    rows = _json_lines(tuike("quota", "--json", cwd=tmp_path))
    assert rows and {row["league"] for row in rows} == {"channels"}  # the one the embedded default has
    assert {row["api"] for row in rows} == set(QUOTA_PATHS)
    for row in rows:
        assert row.keys() >= {"name", "used", "limit", "remain", "nearly_used"}
        assert row["limit"] > 0 and row["used"] + row["remain"] == row["limit"]
    text = tuike("quota", cwd=tmp_path).stdout
    assert "微信小店" in text
    assert "不报告每日额度" in text and "京东" in text  # the enabled leagues without one are named


def test_push_status_as_json(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'tuike.db'}")
    db.upgrade(engine)
    group = ensure_group(engine, "555@chatroom", "甲群")
    assert group.id is not None
    subscriptions.subscribe(engine, group.id, "daily", "08:30")
    claims.claim(engine, group.id, "daily:2026-12-01T08:30", "test", claims.FAILED, "网关超时")
    engine.dispose()
    [status] = _json_lines(tuike("push", "status", "--json", cwd=tmp_path))
    assert status["timezone"] == "Asia/Shanghai"
    [upcoming] = status["upcoming"]
    assert upcoming["room_id"] == "555@chatroom" and upcoming["name"] == "甲群"
    assert upcoming["kind"] == "daily" and upcoming["at"].endswith("08:30:00+08:00")
    [recent] = status["recent"]
    assert recent["room_id"] == "555@chatroom" and recent["status"] == claims.FAILED
    assert recent["detail"] == "网关超时" and recent["at"].endswith("+08:00")
    assert status["failed_7_days"] == 1
