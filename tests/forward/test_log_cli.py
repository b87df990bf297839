"""`tuike forward log [--json]`: the recent source messages, newest first, and what became of each."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli import forward_log
from bot.config import Settings
from bot.store import db, forward
from tests.helpers import tuike


def _settings(tmp_path: Path, enabled: bool = True) -> Settings:
    return Settings.model_validate(
        {
            "bot": {"data_dir": str(tmp_path / "data")},
            "database": {"url": f"sqlite:///{tmp_path / 'tuike.db'}"},
            "forward": {"enabled": enabled, "sources": ["src@chatroom"]},
        }
    )


def _seed(settings: Settings) -> None:
    engine = db.make_engine(settings.database_url)
    db.upgrade(engine)

    def heard(message_id: str, text: str) -> forward.Heard:
        return forward.Heard("console:bot", "src@chatroom", "线报源头群", "wxid_src", message_id, text)

    first = forward.record(engine, heard("a", "空气炸锅 29.9 https://u.jd.com/abc"))
    second = forward.record(engine, heard("b", "别家店 https://shop.example/x"))
    assert first and second
    forward.settle(engine, first, forward.FORWARDED, groups=3, keys=["jd:1"])
    forward.settle(engine, second, forward.DROPPED, reason="有转不了的链接：shop.example/x")
    engine.dispose()


def test_the_log_says_what_became_of_each_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = _settings(tmp_path)
    _seed(settings)
    assert forward_log.run(argparse.Namespace(json=False, limit=20, settings=settings)) is None
    out = capsys.readouterr().out
    assert out.index("#2") < out.index("#1"), "newest first"
    assert "已转发到 3 个群" in out and "已丢弃：有转不了的链接：shop.example/x" in out
    assert "来自 线报源头群" in out


def test_the_json_log_is_one_object_per_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = _settings(tmp_path)
    _seed(settings)
    forward_log.run(argparse.Namespace(json=True, limit=1, settings=settings))
    (line,) = capsys.readouterr().out.splitlines()
    row = json.loads(line)
    assert set(row) == {
        "id",
        "received_at",
        "source",
        "source_name",
        "sender",
        "status",
        "groups",
        "reason",
        "keys",
        "excerpt",
        "next_try_at",
    }
    assert (row["status"], row["groups"], row["source"]) == ("dropped", 0, "src@chatroom")
    assert row["received_at"].endswith("+00:00") and row["next_try_at"] is None


def test_an_empty_log_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    forward_log.run(argparse.Namespace(json=False, limit=20, settings=_settings(tmp_path, enabled=False)))
    assert "还没有收到线报（线报转发没有开启" in capsys.readouterr().out


def test_tuike_jobs_lists_the_forward_job_when_forwarding_is_on(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    on = write_config('[forward]\nenabled = true\nsources = ["src@chatroom"]\n')
    rows = [
        json.loads(line)
        for line in tuike("--config", str(on), "jobs", "--json", cwd=tmp_path).stdout.splitlines()
    ]
    (job,) = [r for r in rows if r["id"] == "forward"]
    assert (job["kind"], job["trigger"]) == ("forward", "interval[0:00:30]")
    off = write_config("", name="off.toml")
    rows = [
        json.loads(line)
        for line in tuike("--config", str(off), "jobs", "--json", cwd=tmp_path).stdout.splitlines()
    ]
    assert "forward" not in {r["id"] for r in rows}
