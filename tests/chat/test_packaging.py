"""Wechaty is an optional extra: the core install and the other channels never need it."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from bot.config import PROJECT_ROOT

LEGACY = (
    "wechaty",
    "wechaty-puppet",
    "wechaty-puppet-service",
    "wechaty-grpc",
    "betterproto",
    "grpclib",
    "pyee",
    "urllib3",
)


def _name(requirement: str) -> str:
    for stop in "<>=[;! ":
        requirement = requirement.split(stop, 1)[0]
    return requirement.strip().lower()


def test_the_core_install_pulls_no_wechaty_and_no_old_pins() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = {_name(r) for r in project["dependencies"]}
    assert not core & set(LEGACY), "python-wechaty's 2022 tree stays out of a normal install"
    extra = {_name(r) for r in project["optional-dependencies"]["wechaty"]}
    assert {"wechaty", "urllib3", "pyee", "grpclib", "betterproto"} <= extra
    assert "tuike[wechaty]" in project["optional-dependencies"]["dev"], (
        "make test still runs the wechaty tests"
    )


def test_the_app_and_the_new_channels_import_no_wechaty(tmp_path: Path) -> None:
    probe = (
        "import sys, bot.app, bot.cli.checks, bot.chat.gateway, bot.chat.ilink, bot.cli\n"
        "from bot.compose import build_channel\n"
        "from bot.config import parse_settings\n"
        "build_channel(parse_settings({}))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('wechaty', 'wechaty_puppet', 'grpclib')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"
