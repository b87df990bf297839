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
