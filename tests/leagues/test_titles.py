"""A keyword that is a product's whole title: compared loosely, answered with that product, and found by
the Channels league among the products it showed lately without a list call (sandbox on loopback)."""

from __future__ import annotations

from sqlalchemy import Engine

from bot.leagues.answers import StoredAnswers
from bot.leagues.base import SearchQuery
from bot.leagues.ranking import mix_leagues
from bot.leagues.relevance import is_title, title_key
from bot.leagues.wechat.league import ChannelsLeague
from tests.fakes import product
from tuike_sandbox.server import SandboxServer

PHONE = product("1", "Apple iPhone 15 128GB 黑色", 599900, sales=100)
CASE = product("2", "Apple iPhone 15 128GB 黑色 手机壳 全包", 2900, coupon=500, sales=90_000)
CASE_OTHER_SHOP = product("3", "Apple iPhone 15 128GB 黑色", 589900, sales=5)


def test_a_title_matches_whatever_spaces_case_width_and_brackets_it_lost() -> None:
    title = "《三体》全三册 刘慈欣 Apple iPhone 15"
    for pasted in ["三体》全三册 刘慈欣 Apple iPhone 15", "《三体》 全三册  刘慈欣 ＡＰＰＬＥ iphone 15"]:
        assert is_title(pasted, title), pasted
    assert title_key(title) == title_key("三体 全三册 刘慈欣 apple iphone15")
    assert not is_title("三体 全三册", title), "words of a title are not the title"
    assert not is_title("", ""), "no keyword is nobody's title"


def test_a_whole_title_ranks_only_the_products_bearing_it() -> None:
    """The case sells far more and would come first on the weighted mix; the phone was asked for."""
    keyword = "apple iphone 15 128gb 黑色"
    assert [p.product_id for p in mix_leagues([[CASE, PHONE]], 3, "weighted", keyword)] == ["1"]
    both = mix_leagues([[CASE, PHONE], [CASE_OTHER_SHOP]], 3, "weighted", keyword)
    assert sorted(p.product_id for p in both) == ["1", "3"], "the same title in two shops: both"
    assert len(mix_leagues([[CASE, PHONE]], 3, "weighted", "iphone 15")) == 2, "a plain keyword as before"


async def test_the_league_finds_a_product_it_showed_by_its_title(
    channels_league: ChannelsLeague, sandbox: SandboxServer, store: Engine
) -> None:
    league = ChannelsLeague(channels_league.client, answers=StoredAnswers(store, "channels"))
    before = sum(sandbox.state.calls.values())
    some = sandbox.state.catalogue.products[0]
    assert await league.product_titled(some.title) is None, "never shown: unknown"
    assert sum(sandbox.state.calls.values()) == before, "and asking cost no call"

    shown = await league.search(SearchQuery(keyword="牛奶", limit=6))
    calls = sum(sandbox.state.calls.values())
    for p in shown:
        assert await league.product_titled(f" {p.title.upper()} ") == p
    assert await league.product_titled(shown[0].title + " 加大") is None
    restarted = ChannelsLeague(channels_league.client, answers=StoredAnswers(store, "channels"))
    assert await restarted.product_titled(shown[0].title) == shown[0], "kept in the store"
    assert sum(sandbox.state.calls.values()) == calls, "all without a call"
