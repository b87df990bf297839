"""What the per-league daily-push tests share: two groups, and `tuike push daily --dry-run` for each."""

from __future__ import annotations

from pathlib import Path

from bot.config import load_config
from bot.store import db
from bot.store.groups import ensure_group
from tests.helpers import tuike

GROUPS = ("宝妈群", "数码群")


def dry_runs_for_two_groups(league_section: str, config_of: object, cwd: Path) -> list[str]:
    """Config `league_section` + `[push] league` = that league, 3 deals; the dry-run output per group."""
    league = league_section.split("[leagues.", 1)[1].split("]", 1)[0]
    config = config_of(  # type: ignore[operator]
        f'{league_section}\n\n[push]\nleague = "{league}"\ndeals_per_push = 3\n'
    )
    engine = db.make_engine(load_config(config).settings.database_url)
    db.upgrade(engine)
    ensure_group(engine, "a@chatroom", GROUPS[0])
    ensure_group(engine, "b@chatroom", GROUPS[1])
    engine.dispose()
    out = []
    for group in GROUPS:
        done = tuike("--config", str(config), "push", "daily", "--group", group, "--dry-run", cwd=cwd)
        assert done.returncode == 0, done.stderr
        out.append(done.stdout)
    return out
