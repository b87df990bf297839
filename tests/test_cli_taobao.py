"""`tuike search --league taobao` and `tuike promote … --league taobao --group G`, as an operator runs them
(a fresh process, the in-process sandbox serving the TOP face)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from bot.config import load_config
from bot.handlers.parse import find_product_refs
from bot.store import db
from bot.store.groups import ensure_group
from tests.helpers import tuike
from tuike_sandbox.catalogue import build_catalogue
from tuike_sandbox.top_face import TopFace

CONFIG = """
[leagues.channels]
sandbox = true

[leagues.taobao]
enabled = true
sandbox = true
"""
ROW = {"platform", "id", "title", "price_fen", "coupon_fen", "final_price_fen", "commission_fen"}


def test_search_one_league_as_json_lines(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    config = write_config(CONFIG)
    done = tuike(
        "--config",
        str(config),
        "search",
        "蓝牙耳机",
        "--league",
        "taobao",
        "--json",
        "--limit",
        "4",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == 4
    for row in rows:
        assert row.keys() >= ROW and row["platform"] == "taobao"
        assert row["final_price_fen"] == row["price_fen"] - row["coupon_fen"]
        assert isinstance(row["commission_fen"], int) and row["commission_fen"] > 0


def test_search_without_league_mixes_the_enabled_ones(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    done = tuike(
        "--config", str(write_config(CONFIG)), "search", "蓝牙耳机", "--json", "--limit", "5", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert {r["platform"] for r in rows} == {"taobao", "channels"}
    assert [r["final_price_fen"] for r in rows] == sorted(r["final_price_fen"] for r in rows)


def test_promote_someone_elses_share_text_for_a_group(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config(CONFIG)
    settings = load_config(config).settings
    engine = db.make_engine(settings.database_url)
    db.upgrade(engine)
    ensure_group(engine, "room-g1@chatroom", "宝妈群")
    engine.dispose()
    catalogue = build_catalogue()
    face = TopFace(catalogue, time.time)
    product = next(p for p in catalogue.products if p.status == 1)
    shared = face.foreign_share_text(product)
    done = tuike("--config", str(config), "promote", shared, "--group", "宝妈群", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    row = json.loads(done.stdout)
    assert row.keys() >= ROW and row["platform"] == "taobao" and row["title"] == product.title
    assert row["url"].startswith("https://s.click.taobao.com/")
    assert find_product_refs(row["tpwd"])[0].code == row["tpwd"][1:-1]
    assert row["pid"].startswith("mm_") and not row["pid"].endswith("_110000000001"), "the group's own adzone"
    # without --group: the operator's default PID; the league is named by the text, so --league may go
    again = tuike("--config", str(config), "promote", row["tpwd"], "--json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    default = json.loads(again.stdout)
    assert default["id"] == row["id"] and default["pid"].endswith("_110000000001")
    assert default["tpwd"] != row["tpwd"]


def test_promote_an_unreadable_tpwd_says_so(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    done = tuike("--config", str(write_config(CONFIG)), "promote", "￥Zz9Yy8Xx7Ww￥", "--json", cwd=tmp_path)
    assert done.returncode == 1
    assert "不能推广" in done.stderr and "Traceback" not in done.stderr
