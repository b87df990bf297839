"""`tuike orders sync` and `tuike report` as an operator (or a script) uses them."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from bot.cli import cli
from bot.leagues.base import Order
from bot.store import db
from bot.store.groups import ensure_group
from bot.store.orders import store_window
from tests.test_e2e_jd_pdd import _config
from tuike_sandbox.server import SandboxServer


async def _tuike(config: Path, *args: str) -> tuple[int, str, str]:
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["--config", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


async def test_sync_says_what_it_fetched_and_fails_when_a_league_did_not_sync(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    config = _config(write_config, sandbox, extra="\n[orders]\nlookback_days = 1\n")
    code, out, _ = await _tuike(config, "orders", "sync", "--league", "pdd")
    assert code == 0 and out.startswith("pdd: 取到 0 条") and "jd" not in out
    code, _, err = await _tuike(config, "orders", "sync", "--league", "meituan")
    assert code == 2 and "meituan" in err

    broken = config.read_text(encoding="utf-8").replace(
        f"{sandbox.base_url}/routerjson", f"{sandbox.base_url}/gone"
    )
    config.write_text(broken, encoding="utf-8")
    code, out, err = await _tuike(config, "orders", "sync")
    assert code == 1
    assert "jd: 同步中断" in err and "下次从断点继续" in err
    assert "pdd: 取到" in out and "taobao: 取到" in out  # the other leagues still synced


async def test_report_as_json_csv_and_for_one_group(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    config = write_config("")
    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'tuike.db'}")
    db.upgrade(engine)
    a = ensure_group(engine, "a@chatroom", "甲群")
    b = ensure_group(engine, "b@chatroom", "乙群")
    at = datetime(2026, 11, 10, 4, 0, tzinfo=UTC)

    def order(n: int, paid: int, status: str = "pending", when: datetime = at) -> Order:
        return Order(f"o{n}", "s", "p", "商品", paid, paid // 10, status, "", when, when)

    store_window(
        engine,
        "pdd",
        [
            (order(1, 10_000), a.id),
            (order(2, 20_000, "settled"), a.id),
            (order(3, 5_000), b.id),
            (order(4, 7_000), None),
            (order(5, 9_000, when=at - timedelta(days=30)), a.id),
        ],
        at,
    )
    engine.dispose()

    code, out, _ = await _tuike(config, "report", "--json", "--from", "2026-11-01", "--to", "2026-11-30")
    assert code == 0
    rows = {row["group"]: row for row in map(json.loads, out.splitlines())}
    assert rows["a@chatroom"] == rows["a@chatroom"] | {
        "name": "甲群",
        "orders": 2,
        "paid_fen": 30_000,
        "estimated_fen": 3_000,
        "settled_fen": 2_000,
    }
    assert rows["b@chatroom"]["orders"] == 1 and rows[None]["paid_fen"] == 7_000 and rows[None]["orders"] == 1

    code, out, _ = await _tuike(config, "report", "--csv", "--group", "甲群")
    assert code == 0
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert row["group"] == "a@chatroom" and row["orders"] == "3" and row["paid_fen"] == "39000"

    code, out, _ = await _tuike(config, "report")
    assert code == 0 and "甲群" in out and "（未归属）" in out and "¥390.00" in out

    code, _, err = await _tuike(config, "report", "--group", "丙群")
    assert code == 2 and "丙群" in err
    code, _, err = await _tuike(config, "report", "--from", "11月1日")
    assert code == 2 and "YYYY-MM-DD" in err


async def test_report_draws_a_chart_with_readable_chinese(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    """Any glyph missing from the font would be a warning, and warnings fail the suite."""
    config = write_config("")
    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'tuike.db'}")
    db.upgrade(engine)
    groups = [ensure_group(engine, f"g{n}@chatroom", f"宝妈好物分享{n}群") for n in range(3)]
    at = datetime(2026, 11, 10, 4, 0, tzinfo=UTC)
    rows = [
        (
            Order(f"c{n}", "s", "p", "商品", 10_000 + n, 1_000 + 37 * n, "pending", "", when, when),
            groups[n % 3].id,
        )
        for n in range(30)
        for when in [at + timedelta(days=n % 7, hours=n)]
    ]
    for league in ("jd", "pdd", "taobao"):
        store_window(engine, league, rows, at)
    engine.dispose()
    png = tmp_path / "commission.png"
    code, _, err = await _tuike(config, "report", "--chart", str(png))
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    assert "3 个联盟" in err and "前 3 个群" in err

    empty = tmp_path / "empty.png"
    code, _, err = await _tuike(
        config, "report", "--from", "2020-01-01", "--to", "2020-01-31", "--chart", str(empty)
    )
    assert code == 0 and empty.exists() and "0 天" in err


async def test_report_adds_the_owners_share_per_group(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    config = write_config("[rebate]\nowner_share_percent = 30\n")
    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'tuike.db'}")
    db.upgrade(engine)
    a = ensure_group(engine, "a@chatroom", "甲群")
    at = datetime(2026, 11, 10, 4, 0, tzinfo=UTC)
    store_window(
        engine,
        "jd",
        [
            (Order("o1", "s", "p", "商品", 10_000, 1_001, "pending", "", at, at), a.id),
            (Order("o2", "s", "p", "商品", 20_000, 2_000, "settled", "", at, at), a.id),
            (Order("o3", "s", "p", "商品", 7_000, 700, "pending", "", at, at), None),
        ],
        at,
    )
    engine.dispose()
    code, out, _ = await _tuike(config, "report", "--json")
    assert code == 0
    rows = {row["group"]: row for row in map(json.loads, out.splitlines())}
    assert rows[a.room_id]["owner_share_fen"] == 3_001 * 30 // 100  # of the estimated commission
    assert (
        rows[a.room_id]["estimated_fen"] == 3_001 and rows[a.room_id]["settled_fen"] == 2_000
    )  # as they were
    assert rows[None]["owner_share_fen"] == 0  # no group, no owner
    code, out, _ = await _tuike(config, "report", "--csv")
    assert code == 0 and next(csv.DictReader(io.StringIO(out)))["owner_share_fen"] == "900"
