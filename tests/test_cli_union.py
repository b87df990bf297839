"""`tuike search/promote --league union --json` and `tuike union spots`, as an operator runs them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from bot.config import load_config
from bot.store import db
from bot.store.groups import ensure_group
from tests.helpers import tuike

CONFIG = """
[leagues.union]
enabled = true
sandbox = true
"""
ROW_KEYS = {"platform", "id", "title", "price_fen", "coupon_fen", "final_price_fen", "commission_fen"}


def test_search_and_promote_on_the_union(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    config = write_config(CONFIG)
    found = tuike(
        "--config",
        str(config),
        "search",
        "蓝牙耳机",
        "--league",
        "union",
        "--limit",
        "3",
        "--json",
        cwd=tmp_path,
    )
    assert found.returncode == 0, found.stderr
    rows = [json.loads(line) for line in found.stdout.splitlines()]
    assert len(rows) == 3
    assert all(set(r) >= ROW_KEYS and r["platform"] == "union" for r in rows)

    engine = db.make_engine(load_config(config).settings.database_url)
    db.upgrade(engine)
    ensure_group(engine, "room-7@chatroom", "七号群", "")
    engine.dispose()
    made = tuike(
        "--config",
        str(config),
        "promote",
        rows[0]["id"],
        "--league",
        "union",
        "--group",
        "七号群",
        "--json",
        cwd=tmp_path,
    )
    assert made.returncode == 0, made.stderr
    link = json.loads(made.stdout)
    assert set(link) >= ROW_KEYS and link["platform"] == "union" and link["id"] == rows[0]["id"]
    assert link["url"].startswith("https://mmbizurl.cn/s/")
    assert link["pid"] and link["tag"]

    listed = tuike("--config", str(config), "union", "spots", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    usage = json.loads(listed.stdout)
    assert usage["limit"] == 100 and usage["used"] == len(usage["spots"])
    # a fresh sandbox run knows none of the last run's spots: the group's kept one is listed as missing
    assert {"pid": link["pid"], "groups": ["七号群"]} in usage["missing"]
    text = tuike("--config", str(config), "union", "spots", cwd=tmp_path)
    assert text.stdout.startswith(f"推广位 {usage['used']} / 100") and "七号群" in text.stdout


def test_a_league_that_is_off_is_named(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    result = tuike("--config", str(write_config("")), "search", "纸巾", "--league", "union", cwd=tmp_path)
    assert result.returncode == 2
    assert "联盟 union 没有启用" in result.stderr
