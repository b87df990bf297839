"""`tests.helpers.tuike` forks its commands from a process that imported the bot once (tests/zygote.py):
what a test sees of such a command is what it sees of a fresh `python -m bot` process."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import FRESH_ENV, tuike

TEXT = "看看这个 https://item.jd.com/100012043978.html 还有 https://mobile.yangkeduo.com/goods.html?goods_id=12345\n"


@pytest.mark.parametrize(
    "args",
    [
        ("--version",),
        ("parse", "-", "--json"),
        ("parse", "-"),
        ("no-such-command",),
        ("--config", "missing.toml", "check"),
    ],
)
def test_a_forked_command_answers_as_a_fresh_process_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    forked = tuike(*args, cwd=tmp_path, input=TEXT)
    monkeypatch.setenv(FRESH_ENV, "1")
    fresh = tuike(*args, cwd=tmp_path, input=TEXT)
    assert (forked.returncode, forked.stdout, forked.stderr) == (fresh.returncode, fresh.stdout, fresh.stderr)
    assert forked.stdout or forked.stderr


def test_a_forked_command_runs_in_its_folder_with_the_tests_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mine.toml").write_text('[bot]\nname = "别的名字"\ndata_dir = "data"\n', encoding="utf-8")
    monkeypatch.setenv("TUIKE_CONFIG", "mine.toml")
    done = tuike("db", "upgrade", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "data" / "tuike.db").exists(), "the config named by the environment, read in cwd"


def test_a_command_past_its_timeout_is_killed_like_subprocess_run_does(tmp_path: Path) -> None:
    with pytest.raises(subprocess.TimeoutExpired):
        tuike("sandbox", "--port", "0", cwd=tmp_path, timeout=1)
    assert tuike("--version", cwd=tmp_path).returncode == 0, "the next command runs"


def test_a_forked_command_gets_the_whole_environment_it_is_given(tmp_path: Path) -> None:
    (tmp_path / "given.toml").write_text('[bot]\ndata_dir = "given"\n', encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith("TUIKE_")}
    done = tuike("db", "upgrade", cwd=tmp_path, env={**env, "TUIKE_CONFIG": "given.toml"})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "given" / "tuike.db").exists()
