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


# Modules that still name a league by its string, each for a reason the plug-in step has not removed
# yet. The list only shrinks: a new module that spells a league's name fails the test below.
STILL_NAMING = {
    "bot/handlers/links.py": {"taobao", "jd"},  # 口令 shapes and share-text context (not links)
    "bot/handlers/deals.py": {"taobao"},  # a 淘口令 answer carries the code
    "bot/cli/parse.py": {"taobao"},
    "bot/cli/league.py": {"taobao"},  # a 淘口令 beside the link
    "bot/cli/__init__.py": {"pdd", "union", "channels"},  # league-specific subcommands
    "bot/render/samples.py": {"taobao", "jd", "pdd", "channels", "eleme", "meituan"},  # preview samples
    "bot/cli/takeout.py": {"eleme", "meituan"},  # the JSON fields' documented values, the config tables
}


def test_no_module_outside_a_league_package_names_a_league() -> None:
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    packages = {load(p.build).__module__.rsplit(".", 2)[0] for p in registry.LEAGUES}
    names = "|".join(p.name for p in registry.LEAGUES)
    quoted = re.compile(rf"[\"']({names})[\"']")
    found: dict[str, set[str]] = {}
    for path in sorted((root / "bot").rglob("*.py")):
        module = ".".join(path.relative_to(root).with_suffix("").parts)
        if any(module == pkg or module.startswith(pkg + ".") for pkg in packages):
            continue
        if module in ("bot.leagues.registry",) or (
            module.startswith("bot.cli.") and module.split(".")[-1] in {p.name for p in registry.LEAGUES}
        ):
            continue  # the registry, and a league's own CLI group (`tuike pdd`, `tuike union`)
        hits = set(quoted.findall(path.read_text(encoding="utf-8")))
        if hits:
            found[path.relative_to(root).as_posix()] = hits
    extra = {m: h - STILL_NAMING.get(m, set()) for m, h in found.items() if h - STILL_NAMING.get(m, set())}
    assert not extra, f"ask the registry instead of naming a league: {extra}"


def test_the_sharer_league_is_the_one_that_binds_sharers_in_chat() -> None:
    assert [p.name for p in registry.LEAGUES if p.sharers_in_chat] == [registry.SHARER_LEAGUE]
