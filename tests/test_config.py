"""Config loading: defaults, load order, environment secrets, one-line errors for bad keys and values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config import EXAMPLE_CONFIG, ConfigError, load_config, parse_settings
from bot.leagues.registry import LEAGUES
from tests.helpers import tuike


def test_example_config_is_valid_and_is_the_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TUIKE_CONFIG", raising=False)
    loaded = load_config()
    assert loaded.is_example
    assert loaded.path == EXAMPLE_CONFIG
    assert loaded.settings.chat.kind == "console"
    assert loaded.settings.leagues.channels.sandbox is True
    assert loaded.settings.database_url.startswith("sqlite:///data/")


def test_local_config_toml_wins_over_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TUIKE_CONFIG", raising=False)
    (tmp_path / "config.toml").write_text('[bot]\nname = "小推"\n', encoding="utf-8")
    loaded = load_config()
    assert not loaded.is_example
    assert loaded.settings.bot.name == "小推"


def test_env_var_and_explicit_path_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text('[bot]\nname = "local"\n', encoding="utf-8")
    (tmp_path / "env.toml").write_text('[bot]\nname = "env"\n', encoding="utf-8")
    (tmp_path / "flag.toml").write_text('[bot]\nname = "flag"\n', encoding="utf-8")
    monkeypatch.setenv("TUIKE_CONFIG", str(tmp_path / "env.toml"))
    assert load_config().settings.bot.name == "env"
    assert load_config(tmp_path / "flag.toml").settings.bot.name == "flag"


def test_secrets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUIKE_CHANNELS_SECRET", "s3cret-from-env")
    monkeypatch.setenv("TUIKE_DATABASE_URL", "postgresql+psycopg://u@h/db")
    settings = parse_settings({"leagues": {"channels": {"appid": "wx123"}}})
    assert settings.leagues.channels.secret.get_secret_value() == "s3cret-from-env"
    assert "s3cret" not in repr(settings)
    assert settings.database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ({"bot": {"nmae": "x"}}, "unknown key 'bot.nmae'"),
        ({"chatt": {}}, "unknown key 'chatt'"),
        (
            {"chat": {"kind": "wechat"}},
            "chat.kind = 'wechat' is not allowed; expected 'console', 'wechaty', 'gateway' or 'ilink'",
        ),
        ({"bot": {"timezone": "Mars/Base"}}, "bot.timezone = 'Mars/Base' is not valid"),
        ({"leagues": {"channels": {"max_retries": -1}}}, "leagues.channels.max_retries = -1"),
        ({"leagues": {"channels": {"sandbox": "yes please"}}}, "leagues.channels.sandbox = 'yes please'"),
        ({"database": {"url": "mysql://x"}}, "database.url = 'mysql://x'"),
        ({"chat": {"wechaty": {"endpoint": "not an endpoint"}}}, "chat.wechaty.endpoint"),
        ({"chat": {"gateway": {"health_seconds": 1}}}, "chat.gateway.health_seconds = 1"),
    ],
)
def test_bad_config_names_the_key(raw: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw)
    message = str(caught.value)
    assert needle in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('[chat]\nknid = "console"\n', "chat.knid"),
        ('[leagues.channels]\ntimeout_seconds = "fast"\n', "leagues.channels.timeout_seconds"),
        ("[bot\nname = 1\n", "not valid TOML"),
    ],
)
def test_cli_exits_2_with_one_line_and_no_traceback(tmp_path: Path, body: str, key: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    result = tuike("--config", str(path), "check", cwd=tmp_path)
    assert result.returncode == 2
    assert key in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    result = tuike("--config", str(tmp_path / "nope.toml"), "run", cwd=tmp_path)
    assert result.returncode == 2
    assert "does not exist" in result.stderr


def test_taobao_settings_keys_env_and_one_line_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUIKE_TAOBAO_APP_KEY", "23456789")
    monkeypatch.setenv("TUIKE_TAOBAO_APP_SECRET", "top-secret-from-env")

    def raw() -> dict[str, object]:
        section = {
            "enabled": True,
            "sandbox": False,
            "base_url": "https://eco.taobao.com/router/rest",
            "sign_method": "hmac",
            "pid": "mm_123_456_789",
            "session": "",
        }
        return {"leagues": {"taobao": section}}

    taobao = parse_settings(raw()).leagues.taobao
    assert taobao.app_key == "23456789"
    assert taobao.app_secret.get_secret_value() == "top-secret-from-env"
    assert "top-secret" not in repr(taobao)
    monkeypatch.delenv("TUIKE_TAOBAO_APP_SECRET")
    with pytest.raises(ConfigError, match="TUIKE_TAOBAO_APP_SECRET"):
        parse_settings(raw())
    with pytest.raises(ConfigError, match=r"leagues\.taobao\.pid"):
        parse_settings({"leagues": {"taobao": {"pid": "123_456"}}})
    with pytest.raises(ConfigError, match=r"leagues\.taobao\.sign_method"):
        parse_settings({"leagues": {"taobao": {"sign_method": "sha1"}}})
    with pytest.raises(ConfigError, match=r"deals\.leagues"):
        parse_settings({"deals": {"leagues": ["taobao", "amazon"]}})


@pytest.mark.parametrize("plugin", LEAGUES, ids=[p.name for p in LEAGUES])
def test_every_leagues_base_url_must_be_a_url_and_the_error_shows_its_default(plugin: Any) -> None:
    """A base_url without its scheme (copied from a doc page) used to pass for five leagues and fail
    only on the first call, as an httpx error; now the config says what to write."""
    default = plugin.settings.model_fields["base_url"].default
    with pytest.raises(ConfigError) as refused:
        parse_settings({plugin.section: {plugin.name: {"base_url": "gw.example.com/api"}}})
    assert f"{plugin.section}.{plugin.name}.base_url" in str(refused.value)
    if default:
        assert default in str(refused.value)
    kept = parse_settings({plugin.section: {plugin.name: {"base_url": "http://127.0.0.1:9/x/"}}})
    assert plugin.table(kept).base_url == "http://127.0.0.1:9/x"
