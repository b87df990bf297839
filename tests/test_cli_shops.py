"""`tuike search` and `tuike promote` with `--league youzan|shopify`, as an operator's scripts run them:
JSON lines with the documented fields, and a different link per group (Shopify: with its code)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.store import db
from bot.store.groups import ensure_group
from tests.helpers import tuike

SHOPS = """
[shops.youzan]
enabled = true
sandbox = true

[shops.shopify]
enabled = true
sandbox = true
discount_percent = 10
"""
FIELDS = {"platform", "id", "title", "price_fen", "coupon_fen", "final_price_fen", "commission_fen"}


def _config(tmp_path: Path, write_config: Callable[..., Path]) -> Path:
    config = write_config(SHOPS)
    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'tuike.db'}")
    (tmp_path / "data").mkdir(exist_ok=True)
    db.upgrade(engine)
    ensure_group(engine, "111@chatroom", "宝妈好物群")
    ensure_group(engine, "222@chatroom", "数码发烧群")
    engine.dispose()
    return config


@pytest.mark.parametrize("league", ["youzan", "shopify"])
def test_search_and_promote_per_group(tmp_path: Path, write_config: Callable[..., Path], league: str) -> None:
    config = _config(tmp_path, write_config)
    found = tuike("--config", str(config), "search", "手机", "--league", league, "--json", cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    rows = [json.loads(line) for line in found.stdout.splitlines()]
    assert rows and all(set(r) >= FIELDS and r["platform"] == league for r in rows)
    assert all(r["commission_fen"] == 0 and r["final_price_fen"] == r["price_fen"] for r in rows)

    links = {}
    for group in ("宝妈好物群", "数码发烧群"):
        made = tuike(
            "--config",
            str(config),
            "promote",
            rows[0]["id"],
            "--league",
            league,
            "--group",
            group,
            "--json",
            cwd=tmp_path,
        )
        assert made.returncode == 0, made.stderr
        out = json.loads(made.stdout)
        assert set(out) >= FIELDS and out["id"] == rows[0]["id"] and out["url"].startswith("https://")
        if league == "shopify":
            assert out["code"].startswith("TUIKE-") and f"/discount/{out['code']}" in out["url"]
        links[group] = out["url"]
    assert links["宝妈好物群"] != links["数码发烧群"], "each group its own link"
