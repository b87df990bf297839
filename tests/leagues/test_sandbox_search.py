"""The sandbox searches like a real league: case- and width-blind, tokenised, brand and category
aware, and a title's own words count above what it merely fits (适用…). Every face asks the same index."""

from __future__ import annotations

import pytest

from bot.leagues.base import SearchQuery
from bot.leagues.jd.league import JdLeague
from bot.leagues.pdd.league import PddLeague
from bot.leagues.wechat.league import ChannelsLeague
from tests.leagues.test_jd_pdd_leagues import jd_setup, pdd_setup  # noqa: F401  (fixtures)
from tuike_sandbox.catalogue import build_catalogue
from tuike_sandbox.jd_face import JdFace
from tuike_sandbox.pdd_face import PddFace

IPHONE_15 = ["iPhone 15", "iphone 15", "IPHONE 15", "iphone15", "ＩＰＨＯＮＥ１５", "Apple iPhone 15"]


@pytest.mark.parametrize("keyword", IPHONE_15)
def test_any_spelling_of_iphone_15_finds_it(keyword: str) -> None:
    found = build_catalogue().search(keyword)
    assert found, keyword
    assert "iPhone 15" in found[0].title
    assert all("iPhone 15" in p.title for p in found), "15 is a number of its own, not part of 150"


def test_a_brand_by_its_other_name_and_a_category_word() -> None:
    found = build_catalogue().search("苹果手机")
    assert found[0].brand == "Apple" and "iPhone" in found[0].title
    phones = [p for p in found if "iPhone" in p.title]
    assert len(phones) == 3 and found[:3] == phones, "the iPhones above things that merely fit an iPhone"
    assert build_catalogue().search("华为手表")[0].title.startswith("华为 WATCH")


def test_a_brand_ranks_its_own_products_above_ones_that_only_fit_it() -> None:
    found = build_catalogue().search("华为")
    own = [i for i, p in enumerate(found) if p.brand == "华为"]
    fits = [i for i, p in enumerate(found) if p.brand != "华为"]
    assert own and fits, "both kinds are in the catalogue"
    assert max(own) < min(fits), [p.title for p in found]
    assert any("Anker" in found[i].title for i in fits), "the Anker cable 适用苹果华为 is still found"


def test_nonsense_finds_nothing_and_words_must_all_match() -> None:
    catalogue = build_catalogue()
    assert catalogue.search("阿巴阿巴") == []
    assert catalogue.search("") == []
    both = catalogue.search("华为 耳机")
    assert all("华为" in p.title and "耳机" in p.title for p in both)
    assert [p.brand for p in both[:3]] == ["华为"] * 3, "Huawei's own earbuds before others 适用华为"


async def test_channels_search_over_http_is_relevant(channels_league: ChannelsLeague) -> None:
    for keyword in ("iphone15", "IPHONE 15"):
        products = await channels_league.search(SearchQuery(keyword=keyword, limit=5))
        assert products and "iPhone 15" in products[0].title, keyword
    products = await channels_league.search(SearchQuery(keyword="华为", limit=20))
    titles = [p.title for p in products]
    first_fit = next(i for i, t in enumerate(titles) if not t.startswith("华为"))
    assert all(not t.startswith("华为") for t in titles[first_fit:]), titles


async def test_jd_and_pdd_rank_the_brand_first_too(
    jd_setup: tuple[JdFace, JdLeague],  # noqa: F811
    pdd_setup: tuple[PddFace, PddLeague],  # noqa: F811
) -> None:
    for _face, league in (jd_setup, pdd_setup):
        products = await league.search(SearchQuery(keyword="华为", limit=20))
        titles = [p.title for p in products]
        assert titles and titles[0].startswith("华为"), titles
        first_fit = next((i for i, t in enumerate(titles) if not t.startswith("华为")), len(titles))
        assert all(not t.startswith("华为") for t in titles[first_fit:]), titles
