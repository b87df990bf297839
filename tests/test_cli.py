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


def test_help_lists_every_command_as_the_commands_themselves_describe_it() -> None:
    """The lazy command list says what each command's own help says, for every command."""
    import click
    from click.testing import CliRunner

    from bot.cli import COMMANDS, cli

    lazy_help = CliRunner().invoke(cli, ["--help"], terminal_width=80).output
    eager = click.Group(name=cli.name, params=cli.params, help=cli.help, callback=cli.callback)
    for name in COMMANDS:
        loaded = cli.get_command(click.Context(cli), name)
        assert loaded is not None
        eager.add_command(loaded, name)
    eager_help = CliRunner().invoke(eager, ["--help"], prog_name="cli", terminal_width=80).output
    assert lazy_help == eager_help
    for name in COMMANDS:
        assert f"  {name} " in lazy_help


def test_help_imports_no_command_module(tmp_path: Path) -> None:
    """`tuike --help` stays quick because it imports none of the command groups."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from bot.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('LOADED', sorted(m for m in sys.modules if m.startswith(('bot.cli.', 'bot.config', 'bot.store'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout
    loaded = out.rsplit("LOADED", 1)[1].strip()
    assert loaded == "['bot.cli.context', 'bot.cli.lazy']"
