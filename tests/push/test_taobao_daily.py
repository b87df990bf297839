"""Daily deals drawn from Taobao (`[push] league = "taobao"`): each group's push carries its own 淘口令."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from bot.config import load_config
from bot.handlers.parse import find_product_refs
from bot.store import db
from bot.store.groups import ensure_group
from tests.helpers import tuike

TPWD = re.compile(r"￥[A-Za-z0-9]{11}￥")


def test_a_taobao_daily_push_gives_each_group_its_own_tpwd(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config(
        '[leagues.taobao]\nenabled = true\nsandbox = true\n\n[push]\nleague = "taobao"\ndeals_per_push = 3\n'
    )
    engine = db.make_engine(load_config(config).settings.database_url)
    db.upgrade(engine)
    ensure_group(engine, "a@chatroom", "宝妈群")
    ensure_group(engine, "b@chatroom", "数码群")
    engine.dispose()
    shown = []
    for group in ("宝妈群", "数码群"):
        done = tuike("--config", str(config), "push", "daily", "--group", group, "--dry-run", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        codes = TPWD.findall(done.stdout)
        assert len(codes) == 3, done.stdout
        assert all(find_product_refs(code)[0].code == code[1:-1] for code in codes)
        assert done.stdout.count("https://s.click.taobao.com/") == 3
        shown.append(codes)
    assert not set(shown[0]) & set(shown[1]), "the two groups' 淘口令 differ (their own adzones)"
