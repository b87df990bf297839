"""`tuike check` and `tuike db upgrade` from the command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.helpers import tuike


def test_db_upgrade_then_check(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    config = write_config()
    first = tuike("--config", str(config), "db", "upgrade", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "upgraded from empty to" in first.stdout
    again = tuike("--config", str(config), "db", "upgrade", cwd=tmp_path)
    assert "already at" in again.stdout
    check = tuike("--config", str(config), "check", cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "✓ config" in check.stdout and "✓ templates" in check.stdout and "✓ database" in check.stdout


def test_check_fails_when_database_unreachable(tmp_path: Path, write_config: Callable[..., Path]) -> None:
    config = write_config('[database]\nurl = "postgresql+psycopg://nobody@127.0.0.1:1/none"\n')
    result = tuike("--config", str(config), "check", cwd=tmp_path)
    assert result.returncode == 1
    assert "✗ database" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
