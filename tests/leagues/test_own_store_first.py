"""`[deals] own_store_first`: the operator's own shop's best match comes first however many affiliate
leagues are searched, and never fills every place while an affiliate deal was found."""

from __future__ import annotations

from bot.leagues.base import Product
from bot.services.deals import own_store_first


def _p(platform: str, n: int, price: int) -> Product:
    return Product(
        platform=platform, product_id=f"{platform}{n}", title=f"蓝牙耳机 {platform} {n}", price_fen=price
    )


def test_the_shop_is_first_even_behind_many_leagues() -> None:
    affiliates = [
        (name, [_p(name, 1, 1000), _p(name, 2, 900)]) for name in ("channels", "taobao", "jd", "pdd")
    ]
    shop = ("youzan", [_p("youzan", 1, 5000), _p("youzan", 2, 4000)])
    top = own_store_first([*affiliates, shop], 3, "final_price", "蓝牙耳机")
    assert [p.platform for p in top][:1] == ["youzan"] and len(top) == 3
    assert top[0].product_id == "youzan2", "the shop's best by the operator's rule"
    assert all(p.platform != "youzan" for p in top[1:])


def test_two_shops_leave_room_for_a_deal() -> None:
    per_league = [
        ("youzan", [_p("youzan", 1, 100)]),
        ("shopify", [_p("shopify", 1, 100)]),
        ("jd", [_p("jd", 1, 100)]),
    ]
    top = own_store_first(per_league, 2, "weighted", "蓝牙耳机")
    assert top[0].platform in ("youzan", "shopify") and top[1].platform == "jd"
    alone = own_store_first(
        [("youzan", [_p("youzan", 1, 100), _p("youzan", 2, 90)]), ("jd", [])], 2, "weighted"
    )
    assert [p.platform for p in alone] == ["youzan"], "no affiliate deal: the shop's best, one per shop"
