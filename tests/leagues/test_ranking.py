"""The operator chooses how deals are ordered ([deals] rank_by); search and pushes share it."""

from __future__ import annotations

import pytest

from bot.config import parse_settings
from bot.leagues.base import Commission, Coupon, Product
from bot.leagues.ranking import mix_leagues, rank_products

CHEAP = Product("channels", "cheap", "便宜货", 1990, sales=10)
HIT = Product("channels", "hit", "爆款", 9900, sales=90_000)
EARNER = Product("channels", "earner", "高佣", 5900, sales=100, commission=Commission(300_000, 1770))
COUPON = Product(
    "channels", "coupon", "大额券", 8000, sales=500, coupons=(Coupon("c1", amount_fen=7000, remaining=5),)
)
ALL = [CHEAP, HIT, EARNER, COUPON]


@pytest.mark.parametrize(
    ("rank_by", "first"),
    [("final_price", COUPON), ("commission", EARNER), ("sales", HIT), ("weighted", COUPON)],
)
def test_each_order_puts_its_own_best_first(rank_by: str, first: Product) -> None:
    assert rank_products(ALL, rank_by)[0] == first  # type: ignore[arg-type]


def test_final_price_is_what_the_member_pays_after_the_coupon() -> None:
    assert [p.product_id for p in rank_products(ALL, "final_price")] == ["coupon", "cheap", "earner", "hit"]


def test_several_leagues_each_show_and_follow_the_chosen_order() -> None:
    jd = Product("jd", "jd1", "京东货", 100_000, sales=1)
    mixed = mix_leagues([ALL, [jd]], 3, "sales")
    assert jd in mixed, "every searched league shows"
    assert [p.product_id for p in mixed] == ["hit", "coupon", "jd1"]


def test_the_config_names_the_order_and_refuses_an_unknown_one() -> None:
    assert parse_settings({}).deals.rank_by == "weighted"
    assert parse_settings({"deals": {"rank_by": "commission"}}).deals.rank_by == "commission"
    with pytest.raises(Exception, match="rank_by"):
        parse_settings({"deals": {"rank_by": "random"}})


@pytest.mark.parametrize("rank_by", ["weighted", "final_price", "commission", "sales"])
def test_what_was_asked_for_comes_before_what_merely_fits_it(rank_by: str) -> None:
    phone = Product("channels", "phone", "Apple iPhone 15 智能手机 护眼屏", 459_900, sales=36)
    cable = Product(
        "channels",
        "cable",
        "Anker安克 MFi认证 数据线 耐用 适用苹果华为手机",
        5_900,
        sales=90_000,
        commission=Commission(500_000, 2_950),
        coupons=(Coupon("c", amount_fen=1_000, remaining=9),),
    )
    for keyword in ("苹果手机", "IPHONE 15", "iphone15"):
        assert rank_products([cable, phone], rank_by, keyword)[0] == phone, keyword  # type: ignore[arg-type]
        assert mix_leagues([[cable], [phone]], 2, rank_by, keyword)[0] == phone  # type: ignore[arg-type]
    assert rank_products([phone, cable], rank_by, "")[0] == rank_products([phone, cable], rank_by)[0]  # type: ignore[arg-type]
