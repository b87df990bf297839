"""`tuike takeout [--group G] --json`, as an operator (or a script) runs it against the sandbox: one JSON
object per link with exactly the fields the issue names, different links for different groups, and one
league off or refusing said on stderr while the other's links still print."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from bot.config import load_config
from bot.store import db
from bot.store.groups import ensure_group
from tests.helpers import tuike

CONFIG = """
[leagues.channels]
sandbox = true

[leagues.eleme]
enabled = true
sandbox = true

[leagues.meituan]
enabled = true
sandbox = true
"""


def _groups(config: Path) -> None:
    engine = db.make_engine(load_config(config).settings.database_url)
    db.upgrade(engine)
    ensure_group(engine, "room-a@chatroom", "宝妈群")
    ensure_group(engine, "room-b@chatroom", "吃货群")
    engine.dispose()


def _rows(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_links_per_group_as_json_lines(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    config = write_config(CONFIG)
    _groups(config)
    a = tuike("--config", str(config), "takeout", "--group", "宝妈群", "--json", cwd=tmp_path)
    assert a.returncode == 0, a.stderr
    rows = _rows(a.stdout)
    assert [r["platform"] for r in rows] == ["eleme", "meituan"]
    for row in rows:
        assert set(row) == {"platform", "title", "url", "mini_program"}
        assert str(row["url"]).startswith("https://") and row["title"]
        mini = row["mini_program"]
        assert isinstance(mini, dict) and set(mini) == {"appid", "path"}
    b = _rows(
        tuike("--config", str(config), "takeout", "--group", "room-b@chatroom", "--json", cwd=tmp_path).stdout
    )
    assert {r["url"] for r in b}.isdisjoint({r["url"] for r in rows}), "different groups, different links"
    again = _rows(
        tuike("--config", str(config), "takeout", "--group", "宝妈群", "--json", cwd=tmp_path).stdout
    )
    assert again == rows, "a group keeps its sid, so its links"
    own = _rows(tuike("--config", str(config), "takeout", "--json", cwd=tmp_path).stdout)
    assert {r["url"] for r in own}.isdisjoint({r["url"] for r in rows}), (
        "the operator's own links carry no sid"
    )


def test_unknown_group_and_meituan_off(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    config = write_config(
        CONFIG.replace("[leagues.meituan]\nenabled = true", "[leagues.meituan]\nenabled = false")
    )
    missing = tuike("--config", str(config), "takeout", "--group", "没有的群", "--json", cwd=tmp_path)
    assert missing.returncode == 2 and "没有这个群" in missing.stderr
    only = tuike("--config", str(config), "takeout", cwd=tmp_path)
    assert only.returncode == 0, only.stderr
    assert "饿了么" in only.stdout and "美团" not in only.stdout
    off = write_config(
        "[leagues.channels]\nsandbox = true\n[leagues.eleme]\nenabled = false\n[leagues.meituan]\nenabled = false\n",
        name="off.toml",
    )
    none = tuike("--config", str(off), "takeout", "--json", cwd=tmp_path)
    assert none.returncode == 2 and "没有启用外卖联盟" in none.stderr
