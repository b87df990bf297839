"""`[leagues.jd]` / `[leagues.pdd]` config, `build_jd` / `build_pdd`, and the one sandbox serving both faces."""

from __future__ import annotations

from contextlib import AsyncExitStack

import pytest

from bot.config import ConfigError, parse_settings
from bot.leagues.base import SearchQuery, Spot
from bot.leagues.jd.build import build_jd
from bot.leagues.pdd.build import build_pdd
from bot.leagues.setup import default_spots, open_leagues
from tuike_sandbox.jd_face import JdFace
from tuike_sandbox.pdd_face import PddFace
from tuike_sandbox.server import SandboxServer


def test_keys_as_the_issue_spells_them_and_secrets_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TUIKE_JD_APP_KEY", "jd-key-env")
    monkeypatch.setenv("TUIKE_JD_APP_SECRET", "jd-secret-env")
    monkeypatch.setenv("TUIKE_PDD_CLIENT_ID", "pdd-id-env")
    monkeypatch.setenv("TUIKE_PDD_CLIENT_SECRET", "pdd-secret-env")
    settings = parse_settings(
        {
            "leagues": {
                "jd": {
                    "enabled": True,
                    "sandbox": False,
                    "base_url": "https://api.jd.com/routerjson",
                    "site_id": "4000123456",
                    "position_id": "3100012345",
                },
                "pdd": {
                    "enabled": True,
                    "sandbox": False,
                    "base_url": "https://gw-api.pinduoduo.com/api/router",
                    "pid": "10326915_188461783",
                },
            }
        }
    )
    jd, pdd = settings.leagues.jd, settings.leagues.pdd
    assert (jd.app_key, jd.app_secret.get_secret_value()) == ("jd-key-env", "jd-secret-env")
    assert (pdd.client_id, pdd.client_secret.get_secret_value()) == ("pdd-id-env", "pdd-secret-env")
    assert "secret-env" not in repr(settings)


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ({"jd": {"enabled": True, "sandbox": False}}, "TUIKE_JD_APP_KEY"),
        ({"pdd": {"enabled": True, "sandbox": False, "client_id": "x", "client_secret": "y"}}, "pid"),
        ({"pdd": {"pid": "mm_1_2_3"}}, "10326915_188461783"),
        ({"jd": {"position_id": "abc"}}, "digits"),
        ({"jd": {"apikey": "x"}}, "apikey"),
    ],
)
def test_bad_league_config_says_what_to_fix(
    raw: dict[str, object], needle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("TUIKE_JD_APP_KEY", "TUIKE_JD_APP_SECRET", "TUIKE_PDD_CLIENT_ID", "TUIKE_PDD_CLIENT_SECRET"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ConfigError, match=needle):
        parse_settings({"leagues": raw})


async def test_one_sandbox_serves_every_enabled_league() -> None:
    settings = parse_settings(
        {"leagues": {"jd": {"enabled": True}, "pdd": {"enabled": True}, "channels": {"enabled": True}}}
    )
    assert set(default_spots(settings)) >= {"channels", "jd", "pdd"}
    async with AsyncExitStack() as stack:
        leagues = await open_leagues(settings, None, stack)
        assert {"channels", "jd", "pdd"} <= set(leagues)
        for name in ("jd", "pdd"):
            found = await leagues[name].search(SearchQuery(keyword="空气炸锅", limit=3))
            assert found and all(p.platform == name for p in found)
            link = await leagues[name].promote(found[0], default_spots(settings)[name])
            assert link.best_url.startswith("https://")


@pytest.mark.parametrize("league", ["jd", "pdd"])
async def test_with_sandbox_false_calls_go_to_base_url_only(league: str) -> None:
    async with SandboxServer() as sandbox:
        if league == "jd":
            face: JdFace | PddFace = sandbox.face("/routerjson")
            assert isinstance(face, JdFace)
            face.register_app("operator_key", "operator_secret")
            raw = {
                "enabled": True,
                "sandbox": False,
                "base_url": sandbox.base_url + "/routerjson",
                "app_key": "operator_key",
                "app_secret": "operator_secret",
                "position_id": "42",
            }
        else:
            face = sandbox.face("/api/router")
            assert isinstance(face, PddFace)
            face.register_client("operator_id", "operator_secret", bind_new_pids=True)
            face.add_pid("operator_id", "2000123_3000145", bound=True)
            raw = {
                "enabled": True,
                "sandbox": False,
                "base_url": sandbox.base_url + "/api/router",
                "client_id": "operator_id",
                "client_secret": "operator_secret",
                "pid": "2000123_3000145",
            }
        settings = parse_settings({"leagues": {league: raw}})
        build = build_jd if league == "jd" else build_pdd
        built = build(settings, None, None)
        try:
            [product] = await built.search(SearchQuery(keyword="空气炸锅", limit=1))
            spot = default_spots(settings)[league]
            assert spot.pid in ("42", "2000123_3000145")
            link = await built.promote(product, Spot(league, pid=spot.pid))
            assert link.best_url
            assert sum(face.calls.values()) >= 2, "the configured base_url got the calls"
        finally:
            await built.aclose()


async def test_jd_website_positions_convert_with_common_get() -> None:
    settings = parse_settings({"leagues": {"jd": {"enabled": True, "link_api": "common"}}})
    async with SandboxServer() as sandbox:
        league = build_jd(settings, sandbox.base_url, None)
        try:
            [product] = await league.search(SearchQuery(keyword="蓝牙耳机", limit=1))
            link = await league.promote(product, Spot("jd", pid="3100012345", tag="tk_site"))
            assert link.best_url.startswith("https://u.jd.com/")
            face = sandbox.face("/routerjson")
            assert face.calls["jd.union.open.promotion.common.get"] == 1
            assert face.calls["jd.union.open.promotion.bysubunionid.get"] == 0
        finally:
            await league.aclose()
