"""The link cache keeps links packed in memory: what comes back is exactly what went in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.leagues.base import PromotionLink, Spot
from bot.leagues.linkcache import LinkCache

NOW = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)

LINKS = [
    PromotionLink(
        "10054396596105",
        Spot("channels", sharer_appid="wx_sharer_0001"),
        shop_id="wxc64f11cf59ad74e0",
        short_link="#小店://推广/AiSjDdRFBBcT4k8",
        http_short_link="https://store.weixin.qq.com/shop/a/AiSjDdRFBBcT4k8",
        card_param="sbxppl_10054396596105",
    ),
    PromotionLink(
        "652311115931",
        Spot("taobao", pid="mm_1_2_3", tag="room@chatroom"),
        http_short_link="https://s.click.taobao.com/t?e=m%3D2%26s%3Dabc/def",
        code="￥AbCd1234567￥",
    ),
    PromotionLink(
        "100012043978",
        Spot("jd", pid="3100", tag="g7"),
        http_short_link="https://u.jd.com/Xy12AbC",
        code="【京口令】#Xy12AbC##",
        mini_path="pages/item/detail?sku=100012043978",
    ),
    PromotionLink("7", Spot("pdd", pid="1_2"), http_short_link="https://p.pinduoduo.com/7", qrcode_url=""),
]


@pytest.mark.parametrize("link", LINKS, ids=lambda link: link.spot.league)
async def test_a_cached_link_comes_back_exactly(link: PromotionLink) -> None:
    cache = LinkCache(None, ttl=timedelta(hours=1), clock=lambda: NOW)
    calls = 0

    async def create() -> PromotionLink:
        nonlocal calls
        calls += 1
        return link

    assert await cache.get_or_create(link.spot.league, link.product_id, link.spot, create) == link
    again = await cache.get_or_create(link.spot.league, link.product_id, link.spot, create)
    assert again == link and calls == 1, "the second ask is served from memory"
    assert await cache.find(link.best_url) == (link.spot.league, link.product_id, link.shop_id)


async def test_links_expire_and_the_memory_is_bounded() -> None:
    now = [NOW]
    cache = LinkCache(None, ttl=timedelta(hours=1), capacity=10, clock=lambda: now[0])
    made: list[str] = []

    async def make(pid: str) -> PromotionLink:
        made.append(pid)
        return PromotionLink(pid, Spot("channels", "op"), http_short_link=f"https://x.cn/a/t{pid}")

    spot = Spot("channels", "op")
    for n in range(25):
        await cache.get_or_create("channels", str(n), spot, lambda n=n: make(str(n)))  # type: ignore[misc]
    assert len(cache.keys()) == 10 and len(cache._by_url) == 10
    await cache.get_or_create("channels", "24", spot, lambda: make("24"))
    assert made.count("24") == 1
    now[0] += timedelta(hours=2)
    await cache.get_or_create("channels", "24", spot, lambda: make("24"))
    assert made.count("24") == 2, "an expired link is made again"
