"""`tuike push status` as the operator reads it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.push import claims
from bot.store import db
from bot.store.groups import ensure_group
from tests.helpers import tuike


def test_push_status_counts_every_failure_of_the_week_not_just_the_latest_rows(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config()
    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'tuike.db'}")
    db.upgrade(engine)
    group = ensure_group(engine, "r1@chatroom", "测试群")
    assert group.id is not None
    # four failures first, then 150 good pushes: the failures are not among the latest 100 rows
    for n in range(4):
        claims.claim(engine, group.id, f"broadcast:fail{n}", "me", status=claims.FAILED)
    for n in range(150):
        claims.claim(engine, group.id, f"broadcast:ok{n}", "me", status=claims.SENT)
    engine.dispose()

    result = tuike("--config", str(config), "push", "status", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "失败/中断 (failed or interrupted, 7 days): 4" in result.stdout
