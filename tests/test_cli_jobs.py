"""`tuike jobs [--json]`: the periodic jobs a configuration runs, listed from the code `tuike run`
registers them with, without starting the bot."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.store import db, subscriptions
from bot.store.groups import ensure_group, set_blocked
from tests.helpers import tuike

SH = ZoneInfo("Asia/Shanghai")


def _store(tmp_path: Path) -> int:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'tuike.db'}")
    db.upgrade(engine)
    mine = ensure_group(engine, "111@chatroom", "宝妈群", account="console")
    blocked = ensure_group(engine, "222@chatroom", "屏蔽群", account="console")
    other = ensure_group(engine, "333@chatroom", "别人的群", account="gateway:other")
    assert mine.id is not None and blocked.id is not None and other.id is not None
    subscriptions.subscribe(engine, mine.id, "daily", "08:30")
    subscriptions.subscribe(engine, mine.id, "daily", "20:00")
    subscriptions.subscribe(engine, blocked.id, "daily", "09:00")
    set_blocked(engine, blocked.id, True)
    subscriptions.subscribe(engine, other.id, "daily", "07:00")
    engine.dispose()
    return mine.id


def _next_local(hhmm: str, before: datetime) -> datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    local = before.astimezone(SH).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return local if local > before else local + timedelta(days=1)


def test_jobs_lists_every_job_with_its_next_run(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    config = write_config()
    gid = _store(tmp_path)
    before = datetime.now(UTC)
    as_json = tuike("--config", str(config), "jobs", "--json", cwd=tmp_path)
    assert as_json.returncode == 0, as_json.stderr
    rows = {r["id"]: r for r in map(json.loads, as_json.stdout.splitlines())}
    assert set(rows) == {
        f"push:daily:console:{gid}:08:30",
        f"push:daily:console:{gid}:20:00",
        "push:tick:console",
        "push:live:console",
        "broadcasts:console",
        "orders:sync",
    }, "a blocked group's slot and another account's are not this process's jobs"
    daily = rows[f"push:daily:console:{gid}:08:30"]
    assert (daily["kind"], daily["account"]) == ("push:daily", "console")
    assert "hour='8', minute='30'" in daily["trigger"]
    assert datetime.fromisoformat(daily["next_run"]) == _next_local("08:30", before)
    assert rows["orders:sync"]["trigger"] == "interval[0:15:00]" and rows["orders:sync"]["account"] == ""
    first_sync = datetime.fromisoformat(rows["orders:sync"]["next_run"]) - before
    assert timedelta(seconds=25) < first_sync < timedelta(seconds=60), "the first sync 30 s after start"
    assert all(datetime.fromisoformat(r["next_run"]).tzinfo == UTC for r in rows.values())

    plain = tuike("--config", str(config), "jobs", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    lines = plain.stdout.splitlines()
    assert "Asia/Shanghai" in lines[0]
    at = next(i for i, line in enumerate(lines) if f"push:daily:console:{gid}:20:00" in line)
    assert "「每日好物」" in lines[at] and "宝妈群" in lines[at]
    assert "每天 20:00" in lines[at + 1] and "下次 " in lines[at + 1]
    assert any("「订单同步」" in line for line in lines) and any("「群发」" in line for line in lines)


def test_jobs_follow_the_configuration(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    config = write_config("[push]\nenabled = false\n[orders]\nenabled = false\n")
    listed = tuike("--config", str(config), "jobs", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert [json.loads(line)["id"] for line in listed.stdout.splitlines()] == ["broadcasts:console"], (
        "with pushes and order sync off only the console's 群发 are polled"
    )
