"""`tuike groups` and the CLI's rough edges: ids the config needs, owner actions from the command line,
group names resolved the same way everywhere (an unknown or ambiguous one refused), nothing-found said."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from bot.push import claims
from bot.store import db, subscriptions
from bot.store.groups import ensure_group
from tests.helpers import tuike


def _store(tmp_path: Path) -> tuple[int, int]:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'tuike.db'}")
    db.upgrade(engine)
    first = ensure_group(
        engine, "111@chatroom", "测试群", owner_id="wxid_boss", account="gateway:bot1", owner_name="王姐"
    )
    second = ensure_group(engine, "222@chatroom", "宝妈群")
    ensure_group(engine, "333@chatroom", "重名群")
    ensure_group(engine, "444@chatroom", "重名群")
    assert first.id is not None and second.id is not None
    subscriptions.subscribe(engine, first.id, "daily", "08:30")
    subscriptions.subscribe(engine, first.id, "daily", "20:00", "123")
    subscriptions.subscribe(engine, second.id, "live")
    engine.dispose()
    return first.id, second.id


def test_groups_lists_ids_names_accounts_owners_and_subscriptions(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config()
    _store(tmp_path)
    plain = tuike("--config", str(config), "groups", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    line = next(x for x in plain.stdout.splitlines() if "111@chatroom" in x)
    assert "「测试群」" in line and "gateway:bot1" in line and "群主 王姐（wxid_boss）" in line
    assert "每日好物 08:30" in line and "每日好物 20:00（1 个类目）" in line
    as_json = tuike("--config", str(config), "groups", "--json", cwd=tmp_path)
    rows = {r["room_id"]: r for r in map(json.loads, as_json.stdout.splitlines())}
    assert rows["111@chatroom"]["daily"] == [
        {"at": "08:30", "categories": [], "category_names": []},
        {"at": "20:00", "categories": ["123"], "category_names": ["123"]},  # no such id in the tree
    ]
    assert rows["222@chatroom"]["live"] is True and rows["222@chatroom"]["daily"] == []
    assert (rows["111@chatroom"]["owner_id"], rows["111@chatroom"]["owner_name"]) == ("wxid_boss", "王姐")
    assert rows["222@chatroom"]["owner_name"] == ""


def test_subscribe_and_unsubscribe_as_the_owner_would(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config()
    _store(tmp_path)
    added = tuike(
        "--config", str(config), "groups", "subscribe", "宝妈群", "daily", "--at", "9点半", cwd=tmp_path
    )
    assert added.returncode == 0, added.stderr
    assert "已订阅每天 09:30" in added.stdout
    again = tuike(
        "--config", str(config), "groups", "subscribe", "222@chatroom", "daily", "--at", "09:30", cwd=tmp_path
    )
    assert "已替换每天 09:30" in again.stdout
    live = tuike("--config", str(config), "groups", "subscribe", "测试群", "live", cwd=tmp_path)
    assert "talents 还没有设置" in live.stdout, "honest: no reminder can fire"
    bad = tuike(
        "--config", str(config), "groups", "subscribe", "测试群", "daily", "--at", "25:00", cwd=tmp_path
    )
    assert bad.returncode == 2 and "时间看不懂" in bad.stderr
    gone = tuike("--config", str(config), "groups", "unsubscribe", "测试群", "--at", "08:30", cwd=tmp_path)
    assert gone.returncode == 0 and "已取消 1 项" in gone.stdout
    rows = {
        r["room_id"]: r
        for r in map(
            json.loads, tuike("--config", str(config), "groups", "--json", cwd=tmp_path).stdout.splitlines()
        )
    }
    assert [d["at"] for d in rows["111@chatroom"]["daily"]] == ["20:00"]
    assert [d["at"] for d in rows["222@chatroom"]["daily"]] == ["09:30"]


def test_unknown_and_ambiguous_group_names_are_refused_everywhere(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config()
    _store(tmp_path)
    for args in (
        ("groups", "subscribe", "没有的群", "live"),
        ("push", "daily", "--group", "没有的群", "--dry-run"),
        ("templates", "preview", "deal", "--group", "没有的群"),
    ):
        result = tuike("--config", str(config), *args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stdout)
        assert "没有这个群：没有的群" in result.stderr, args
    several = tuike("--config", str(config), "groups", "subscribe", "重名群", "live", cwd=tmp_path)
    assert several.returncode == 2 and "333@chatroom" in several.stderr and "444@chatroom" in several.stderr
    named = tuike("--config", str(config), "templates", "preview", "deal", "--group", "测试群", cwd=tmp_path)
    assert named.returncode == 0, named.stderr


def test_push_status_names_a_group_that_unsubscribed(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config()
    first, _second = _store(tmp_path)
    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'tuike.db'}")
    claims.claim(engine, first, "daily:2026-11-29T08:30", "me", status=claims.SENT)
    subscriptions.unsubscribe(engine, first)
    engine.dispose()
    result = tuike("--config", str(config), "push", "status", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "测试群  daily:2026-11-29T08:30" in result.stdout
    assert "group " not in result.stdout


def test_search_says_when_nothing_is_found(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    result = tuike("--config", str(write_config()), "search", "阿巴阿巴", cwd=tmp_path)
    assert result.returncode == 0
    assert "没有找到「阿巴阿巴」" in result.stderr and result.stdout == ""
