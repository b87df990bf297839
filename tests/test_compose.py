"""The composition (bot/compose.py) and the chat channel registry (bot/chat/registry.py): every entry
point builds its parts the same way from the settings, and channels are told apart by what they can do."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.chat import registry
from bot.compose import Composition, build_channel, build_sender
from bot.config import ConfigError, load_config, parse_settings
from tests.helpers import tuike
from tuike_sandbox.catalogue import build_catalogue

TWO_HOURS = "[deals]\nlink_ttl_hours = 2\n"


def test_tuike_promote_keeps_links_as_long_as_the_config_says(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    """It used the link cache's own 12 hours whatever `[deals] link_ttl_hours` said."""
    config = write_config(TWO_HOURS)
    product = build_catalogue().products[0].product_id
    done = tuike("--config", str(config), "promote", str(product), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    database = load_config(config).settings.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT created_at, expires_at FROM link_cache").fetchall()
    assert len(rows) == 1
    created, expires = (datetime.fromisoformat(value) for value in rows[0])
    assert timedelta(hours=2) - timedelta(minutes=1) < expires - created <= timedelta(hours=2)


async def test_the_console_and_its_previews_keep_links_as_long_as_the_config_says(
    tmp_path: Path, write_config: Callable[..., Path], store: Engine
) -> None:
    settings = load_config(write_config(TWO_HOURS)).settings
    parts = Composition(settings, store, leagues={"channels": object()})  # type: ignore[dict-item]
    services = parts.web_services()
    assert services.parts.links.ttl == timedelta(hours=2)
    composer = services.parts.composer()
    assert composer is not None and composer.links is services.parts.links


def test_parts_are_built_once() -> None:
    parts = Composition(parse_settings({}))
    assert parts.renderer is parts.renderer
    assert parts.spots is parts.spots and parts.links is parts.links


def test_the_registry_is_what_chat_kind_accepts() -> None:
    for kind in registry.CHANNELS:
        assert parse_settings(_needs(kind)).chat.kinds == (kind,)
    with pytest.raises(ConfigError, match="expected 'console', 'wechaty', 'gateway' or 'ilink'"):
        parse_settings({"chat": {"kind": "telegram"}})


def _needs(kind: str) -> dict[str, dict[str, object]]:
    """The keys a channel needs before it may be chosen."""
    tables: dict[str, dict[str, object]] = {
        "wechaty": {"endpoint": "127.0.0.1:8788", "token": "t"},
        "gateway": {"base_url": "http://127.0.0.1:1", "token": "t", "app_id": "wx_app"},
    }
    return {"chat": {"kind": kind, "allow_sandbox_with_real_chat": True, kind: tables.get(kind, {})}}


def test_capabilities_decide_not_names() -> None:
    assert not registry.capabilities("ilink").can_push, "iLink may only answer a member who just wrote"
    assert not registry.capabilities("ilink").may_write_first
    assert all(registry.capabilities(k).can_push for k in ("console", "wechaty", "gateway"))
    assert registry.real(registry.CHANNELS) == ("wechaty", "gateway", "ilink")
    assert registry.capabilities("gateway").has_webhook and registry.capabilities("gateway").login_health
    console = build_sender(parse_settings({}), build_channel(parse_settings({})))
    assert (console.interval, console.jitter) == (0.0, (0, 0)), "the console is not paced"


def test_channel_secrets_come_from_the_environment_each_plugin_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUIKE_ILINK_TOKEN", "from-env")
    assert parse_settings({}).chat.ilink.token.get_secret_value() == "from-env"


def test_reading_the_config_imports_no_chat_platform(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from bot.config import parse_settings\n"
        "settings = parse_settings({'chat': {'gateway': {'base_url': 'http://127.0.0.1:1'}}})\n"
        "assert settings.chat.gateway.base_url == 'http://127.0.0.1:1'\n"
        "heavy = ('httpx', 'starlette', 'wechaty', 'bot.chat.gateway', 'bot.chat.ilink', 'bot.chat.wechaty')\n"
        "print(sorted(m for m in sys.modules if m in heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"
