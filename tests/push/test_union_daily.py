"""Daily deals drawn from the mini-program union (`[push] league = "union"`): 联盟精选, each group's own spot."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from bot.config import load_config
from bot.store import db
from bot.store.groups import ensure_group
from tests.helpers import tuike

UNION_LINK = re.compile(r"https://mmbizurl\.cn/s/[A-Za-z0-9_\-]+")


def test_a_union_daily_push_gives_each_group_its_own_links(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config(
        '[leagues.union]\nenabled = true\nsandbox = true\n\n[push]\nleague = "union"\ndeals_per_push = 3\n'
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
        links = UNION_LINK.findall(done.stdout)
        assert len(links) == 3, done.stdout
        shown.append(links)
    assert not set(shown[0]) & set(shown[1]), "each group's links carry its own spot"
