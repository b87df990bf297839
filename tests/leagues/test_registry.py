"""The league registry: each plug-in is complete, and a new one is picked up everywhere by one line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import replace

import pytest
from pydantic import SecretStr

from bot import config
from bot.config import ConfigError, LeagueTable, parse_settings
from bot.leagues import registry
from bot.leagues.capabilities import HasDailyQuota, HasLives, IssuesSpots, LooksUpSharers
from bot.leagues.plugin import LeaguePlugin, load
from bot.leagues.setup import default_spots, enabled_leagues, open_leagues, spot_issuers
from bot.orders.chart import LEAGUE_NAMES


def _all_enabled() -> dict[str, dict[str, dict[str, bool]]]:
    """Every registered league and shop turned on, each under its own section."""
    raw: dict[str, dict[str, dict[str, bool]]] = {}
    for plugin in registry.LEAGUES:
        raw.setdefault(plugin.section, {})[plugin.name] = {"enabled": True}
    return raw


def test_each_plugin_is_complete() -> None:
    names = [plugin.name for plugin in registry.LEAGUES]
    assert len(names) == len(set(names))
    settings = parse_settings(_all_enabled())
    for plugin in registry.LEAGUES:
        assert callable(load(plugin.build)) and callable(load(plugin.default_spot))
        table = plugin.settings()
        assert isinstance(table, LeagueTable)
        for key in plugin.env.values():  # every secret a variable overrides is a key of its table
            assert key in type(table).model_fields, (plugin.name, key)
        assert plugin.spot(settings).league == plugin.name
        assert plugin.display_name and plugin.short_name and plugin.color.startswith("#")
        assert LEAGUE_NAMES[plugin.name] == plugin.short_name


def test_env_secrets_come_from_each_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    for plugin in registry.LEAGUES:
        for var, key in plugin.env.items():
            monkeypatch.setenv(var, f"from-env-{key}")
    settings = parse_settings({})
    for plugin in registry.LEAGUES:
        for key in plugin.env.values():
            value = getattr(plugin.table(settings), key)
            shown = value.get_secret_value() if isinstance(value, SecretStr) else value
            assert shown == f"from-env-{key}"


class _ShopSettings(LeagueTable):
    api_key: SecretStr = SecretStr("")
    shop_name: str = "小店"


@pytest.fixture
def one_more_league(monkeypatch: pytest.MonkeyPatch) -> Iterator[LeaguePlugin]:
    """A league registered by one more line, as a new package would add it."""
    extra = replace(
        registry.LEAGUES[-1],
        name="extra",
        display_name="新联盟",
        short_name="新联盟",
        settings=_ShopSettings,
        env={"TUIKE_EXTRA_KEY": "api_key"},
        section="leagues",
    )
    monkeypatch.setattr(registry, "LEAGUES", (*registry.LEAGUES, extra))
    config._tables_model.cache_clear()
    yield extra
    config._tables_model.cache_clear()


def test_a_new_league_is_one_registry_line(
    one_more_league: LeaguePlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUIKE_EXTRA_KEY", "s3cret")
    settings = parse_settings({"leagues": {"extra": {"enabled": True, "shop_name": "我的店"}}})
    assert settings.leagues.extra.shop_name == "我的店"
    assert settings.leagues.extra.api_key.get_secret_value() == "s3cret"
    assert "extra" in settings.deals.leagues  # searched by default, in registry order
    assert "extra" in enabled_leagues(settings)
    assert parse_settings({"push": {"league": "extra"}}).push.league == "extra"
    with pytest.raises(ConfigError, match=r"leagues\.extra\.shop_nam"):
        parse_settings({"leagues": {"extra": {"shop_nam": "x"}}})


def test_an_unknown_league_is_named_in_the_error() -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'leagues\.vipp'"):
        parse_settings({"leagues": {"vipp": {"enabled": True}}})
    with pytest.raises(ConfigError, match=r"deals\.leagues\.1 = 'vipp' is not allowed; expected 'channels'"):
        parse_settings({"deals": {"leagues": ["jd", "vipp"]}})


async def test_capabilities_are_found_on_the_built_leagues() -> None:
    """Through the sandbox: only Channels has lives, sharers and a daily quota; the leagues that give
    each group its own identity are the spot issuers. No league answers a capability it lacks with []."""
    names = [plugin.name for plugin in registry.LEAGUES]
    settings = parse_settings(_all_enabled())
    async with AsyncExitStack() as stack:
        leagues = await open_leagues(settings, None, stack)
        assert set(leagues) == set(names)
        assert [n for n, league in leagues.items() if isinstance(league, HasLives)] == ["channels"]
        assert [n for n, league in leagues.items() if isinstance(league, LooksUpSharers)] == ["channels"]
        assert [n for n, league in leagues.items() if isinstance(league, HasDailyQuota)] == ["channels"]
        issuers = spot_issuers(leagues)
        assert set(issuers) == {n for n, league in leagues.items() if isinstance(league, IssuesSpots)}
        assert {"taobao", "pdd", "union", "youzan", "shopify"} <= set(issuers)
    assert set(default_spots(settings)) == set(names)
