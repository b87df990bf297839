"""`[leagues.union]`: keys, secrets from the environment, and the league it builds."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_config, parse_settings
from bot.leagues.base import SearchQuery
from bot.leagues.union.build import SANDBOX_UNION_APPID, build_union, union_spot


def test_the_example_config_enables_the_union_on_the_sandbox() -> None:
    union = load_config("config.example.toml").settings.leagues.union
    assert union.enabled and union.sandbox
    assert union.base_url == "https://api.weixin.qq.com"


def test_union_secrets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUIKE_UNION_APPID", "wx_promoter_env")
    monkeypatch.setenv("TUIKE_UNION_SECRET", "union-s3cret")
    settings = parse_settings({"leagues": {"union": {"enabled": True, "sandbox": False}}})
    assert settings.leagues.union.appid == "wx_promoter_env"
    assert settings.leagues.union.secret.get_secret_value() == "union-s3cret"
    assert "union-s3cret" not in repr(settings)


def test_the_real_api_needs_the_promoter_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUIKE_UNION_APPID", raising=False)
    monkeypatch.delenv("TUIKE_UNION_SECRET", raising=False)
    with pytest.raises(ConfigError, match="TUIKE_UNION_APPID"):
        parse_settings({"leagues": {"union": {"enabled": True, "sandbox": False}}})
    with pytest.raises(ConfigError, match=r"leagues\.union\.apid"):
        parse_settings({"leagues": {"union": {"apid": "wx1"}}})


async def test_build_union_on_the_sandbox_searches_and_promotes() -> None:
    from tests.leagues.test_union import union_server

    settings = parse_settings({"leagues": {"union": {"enabled": True}}})
    async with union_server() as (server, face):
        league = build_union(settings, server.base_url, None)
        try:
            product = (await league.search(SearchQuery(keyword="纸巾", limit=1)))[0]
            link = await league.promote(product, union_spot(settings))
        finally:
            await league.aclose()
    assert league.client.tokens.appid == SANDBOX_UNION_APPID
    assert link.best_url.startswith("https://mmbizurl.cn/s/")
    assert link.spot.pid in face.union.spots  # no group: the account's shared default spot
