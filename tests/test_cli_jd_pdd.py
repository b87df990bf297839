"""`tuike pdd register`, and `tuike search` / `tuike promote` with `--league jd|pdd`, as an operator runs them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from bot.store import db
from bot.store.groups import ensure_group
from tests.helpers import tuike

LEAGUES = """
[leagues.jd]
enabled = true
sandbox = true

[leagues.pdd]
enabled = true
sandbox = true
"""


def _config(tmp_path: Path, write_config: Callable[..., Path]) -> Path:
    config = write_config(LEAGUES)
    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'tuike.db'}")
    (tmp_path / "data").mkdir(exist_ok=True)
    db.upgrade(engine)
    ensure_group(engine, "20870958924@chatroom", "宝妈好物群")
    engine.dispose()
    return config


def test_pdd_register_makes_the_groups_pid_once_and_reports_it(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    config = _config(tmp_path, write_config)
    first = tuike("--config", str(config), "pdd", "register", "--group", "宝妈好物群", "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    made = json.loads(first.stdout)
    assert made["pid"] and made["registered"] is True, "the sandbox member's PIDs are registered"
    again = tuike("--config", str(config), "pdd", "register", "--group", "20870958924@chatroom", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert made["pid"] in again.stdout and "已备案" in again.stdout, "the same PID, kept in the store"
    missing = tuike("--config", str(config), "pdd", "register", "--group", "没有的群", cwd=tmp_path)
    assert missing.returncode == 2 and "没有这个群" in missing.stderr


def test_search_one_league_as_json(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    config = _config(tmp_path, write_config)
    for league in ("jd", "pdd"):
        result = tuike(
            "--config",
            str(config),
            "search",
            "空气炸锅",
            "--league",
            league,
            "--limit",
            "3",
            "--json",
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        assert len(rows) == 3
        for row in rows:
            assert row["platform"] == league
            assert {"id", "title", "price_fen", "coupon_fen", "final_price_fen", "commission_fen"} <= set(row)
            assert row["final_price_fen"] == row["price_fen"] - row["coupon_fen"]
            assert all(isinstance(row[k], int) for k in ("price_fen", "coupon_fen", "commission_fen"))
            assert row["commission_fen"] > 0


def test_promote_someone_elses_links_for_a_group(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    from tuike_sandbox.catalogue import build_catalogue
    from tuike_sandbox.jd_face import JdFace, jd_sku
    from tuike_sandbox.pdd_face import PddFace, goods_id

    config = _config(tmp_path, write_config)
    catalogue = build_catalogue()
    jd, pdd = JdFace(catalogue), PddFace(catalogue)
    item = next(p for p in catalogue.products if jd.promotable(p) and jd.share_percent(p) > 0)
    theirs = jd.issue_link(jd_sku(item.product_id), "someone", "1", "2", "")  # made by another bot
    result = tuike(
        "--config",
        str(config),
        "promote",
        f"https://u.jd.com/{theirs.token}",
        "--group",
        "宝妈好物群",
        "--json",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout)
    assert row["platform"] == "jd" and row["id"] == str(jd_sku(item.product_id))
    assert row["url"].startswith("https://u.jd.com/") and theirs.token not in row["url"]
    assert row["code"], "the 京口令"

    goods = next(p for p in catalogue.products if pdd.on_jinbao(p))
    link = f"https://mobile.yangkeduo.com/goods.html?goods_id={goods_id(goods.product_id)}"
    result = tuike(
        "--config",
        str(config),
        "promote",
        link,
        "--league",
        "pdd",
        "--group",
        "宝妈好物群",
        "--json",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout)
    assert row["platform"] == "pdd" and row["url"].startswith("https://p.pinduoduo.com/")
    registered = tuike(
        "--config", str(config), "pdd", "register", "--group", "宝妈好物群", "--json", cwd=tmp_path
    )
    assert json.loads(registered.stdout)["pid"] == row["pid"], "the group's own PID, made once"
