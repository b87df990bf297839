"""What an operator runs into at the command line on a fresh install (issue 30, Operators): each
command run as a process, the way an operator types it."""

from __future__ import annotations

import json
import logging
import re
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from bot.app import LOG_FORMAT, ZonedFormatter
from bot.cli.league import SEARCH_LIMIT
from bot.leagues.base import Order
from bot.leagues.metering import QUOTA_PATHS
from bot.orders.chart import build_figure
from bot.orders.report import NAME_COLUMNS
from bot.push import claims
from bot.render.kinds import KINDS
from bot.render.width import display_width
from bot.store import db, rebate, subscriptions
from bot.store.groups import ensure_group
from bot.store.models import RequestLog
from bot.store.orders import store_window
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


# -- report -------------------------------------------------------------------------------------------

AT = datetime(2026, 11, 10, 4, 0, tzinfo=UTC)


def _seed_orders(tmp_path: Path) -> None:
    """Two groups (one with a long Chinese name), orders on one day, fewer requests than orders."""
    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'tuike.db'}")
    db.upgrade(engine)
    a = ensure_group(engine, "a@chatroom", "宝妈好物分享交流群（一群）")
    b = ensure_group(engine, "b@chatroom", "Tech deals")

    def order(n: int, paid: int, hours: int = 0) -> Order:
        when = AT + timedelta(hours=hours)
        return Order(f"o{n}", "s", "p", "商品", paid, paid // 10, "pending", "", when, when)

    store_window(
        engine,
        "jd",
        [
            (order(1, 10_000), a.id),
            (order(2, 20_000, 3), a.id),
            (order(3, 5_000, 5), b.id),
            (order(4, 700), None),
        ],
        AT,
    )
    with Session(engine) as session:
        session.add(RequestLog(chat_id="a@chatroom", sender_id="wxid_m", at=AT, kind="keyword"))
        session.commit()
    engine.dispose()


def _figure_ends(line: str) -> list[int]:
    """Where each figure after the group name ends, in terminal columns (a wide character takes two)."""
    cells = "".join(char * display_width(char) for char in line)
    return [m.end() for m in re.finditer(r"\S+", cells[NAME_COLUMNS:])]


def test_report_columns_line_up_with_chinese_names_and_say_what_conversion_is(tmp_path: Path) -> None:
    _seed_orders(tmp_path)
    result = tuike("report", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header, *rows = [line for line in lines if "¥" in line or line.startswith("群")]
    assert len(rows) == 4  # two groups, the unattributed orders, the total
    assert rows[0].startswith("宝妈好物分享交流群（一群）")
    ends = {tuple(_figure_ends(line)) for line in [header, *rows]}
    assert len(ends) == 1 and len(next(iter(ends))) == 6, [header, *rows]  # six columns, one place each
    note = next(line for line in lines if line.startswith("转化"))
    assert "订单数" in note and "请求" in note and "推送" in note  # 200% says what it counts


def test_report_json_and_csv_name_the_group_by_room_id_and_name(tmp_path: Path) -> None:
    _seed_orders(tmp_path)
    rows = {row["group"]: row for row in _json_lines(tuike("report", "--json", cwd=tmp_path))}
    assert set(rows) == {"a@chatroom", "b@chatroom", None}
    assert rows["a@chatroom"]["name"] == "宝妈好物分享交流群（一群）" and rows["a@chatroom"]["orders"] == 2
    result = tuike("report", "--csv", "--group", "Tech deals", cwd=tmp_path)
    assert result.stdout.splitlines()[1].startswith("b@chatroom,Tech deals,1,")


def test_a_one_day_chart_is_one_day_wide_and_a_jpg_is_a_jpeg(tmp_path: Path) -> None:
    _seed_orders(tmp_path)
    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'tuike.db'}")
    zone = ZoneInfo("Asia/Shanghai")
    try:
        figure = build_figure(engine, zone)
    finally:
        engine.dispose()
    daily = figure.axes[0]
    figure.canvas.draw()
    labels = [t.get_text() for t in daily.get_xticklabels() if t.get_text()]
    assert labels == ["11-10"], labels  # the day, not hours of it
    [bar] = daily.patches
    left, right = daily.get_xlim()
    assert bar.get_width() < (right - left) / 4  # a bar, not the whole width

    jpg = tmp_path / "x.jpg"
    result = tuike("report", "--chart", str(jpg), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert jpg.read_bytes()[:3] == b"\xff\xd8\xff"


def test_groups_json_names_the_categories_of_a_daily_slot(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'tuike.db'}")
    db.upgrade(engine)
    group = ensure_group(engine, "555@chatroom", "甲群")
    assert group.id is not None
    subscriptions.subscribe(engine, group.id, "daily", "20:00", "1101,1122")
    engine.dispose()
    [row] = _json_lines(tuike("groups", "--json", cwd=tmp_path))
    assert row["daily"] == [
        {"at": "20:00", "categories": ["1101", "1122"], "category_names": ["纸品湿巾", "休闲零食"]}
    ]
    text = tuike("groups", cwd=tmp_path).stdout
    assert "纸品湿巾" in text and "休闲零食" in text


# -- one time zone ------------------------------------------------------------------------------------


def test_rebate_list_shows_times_in_the_configured_zone(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config('[bot]\ntimezone = "Asia/Tokyo"\n[rebate]\nenabled = true\n')
    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'tuike.db'}")
    db.upgrade(engine)
    order = Order("5500001", "s", "p", "商品", 30_000, 3_000, "settled", "", AT, AT)
    store_window(engine, "jd", [(order, None)], AT)
    rebate.reconcile(engine)
    assert rebate.bind(engine, "wx_amy", "5500001", 50).outcome == "bound"
    rebate.request_withdrawal(engine, "wx_amy")
    [waiting] = rebate.withdrawals(engine, unpaid_only=True)
    engine.dispose()
    result = tuike("--config", str(config), "rebate", "list", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    tokyo = waiting.requested_at.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%d %H:%M")
    assert tokyo in result.stdout and "Asia/Tokyo" in result.stdout and "UTC" not in result.stdout


def test_log_lines_carry_the_configured_zone() -> None:
    formatter = ZonedFormatter("Asia/Shanghai", LOG_FORMAT)
    record = logging.LogRecord("bot", logging.INFO, __file__, 1, "ready", None, None)
    record.created = datetime(2026, 12, 7, 0, 0, 1, tzinfo=UTC).timestamp()
    record.msecs = 250
    assert formatter.format(record) == "2026-12-07 08:00:01,250+0800 INFO bot: ready"
